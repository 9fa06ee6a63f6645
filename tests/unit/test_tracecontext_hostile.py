"""Hostile trace context, defect by defect (issue 13): a traceparent that made the old regex
quadratic, and a bad part that cost the whole context."""

from __future__ import annotations

import pytest
from opentelemetry import baggage, propagate, trace
from opentelemetry.propagators.textmap import TextMapPropagator
from testkit.carriers import CARRIERS
from testkit.linear_time import assert_linear

import tracing
from tracing.propagation._composite import IsolatingCompositePropagator
from tracing.propagation._w3c_baggage import W3CBaggagePropagator
from tracing.propagation._w3c_tracecontext import TraceContextPropagator

T, S = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
VALID = f"00-{T}-{S}-01"


def _parent(context):
    span_context = trace.get_current_span(context).get_span_context()
    return (
        (f"{span_context.trace_id:032x}", f"{span_context.span_id:016x}") if span_context.is_valid else None
    )


@pytest.mark.parametrize("carrier", CARRIERS)
def test_a_tab_run_before_a_line_break_costs_linear_time(carrier):
    """Defect 1: `01-<ids>-01-` + tabs + "\\nx" made the propagator's regex backtrack: a second of CPU
    for 16,000 tabs. Every carrier now reads it in time linear in its size (and ignores it)."""
    extract = CARRIERS[carrier]

    def hostile(tabs: int) -> str:
        return f"01-{T}-{S}-01-" + "\t" * tabs + "\nx"

    assert_linear(lambda value: extract([("traceparent", value)]), hostile, 500)
    assert _parent(extract([("traceparent", hostile(16000))])) is None


BAD_PARTS = {
    "baggage with a lone surrogate": [("baggage", "bad=\ud800,good=1")],
    "baggage with a lone surrogate key": [("baggage", "\ud800=1,good=1")],
    "tracestate with a lone surrogate": [("tracestate", "k=\ud800"), ("baggage", "good=1")],
    "tracestate garbage": [("tracestate", "===,,,@@@"), ("baggage", "good=1")],
    "baggage over the member limit": [("baggage", "good=1," + ",".join(f"k{i}=v" for i in range(100)))],
    "baggage over the byte limit": [
        ("baggage", "good=1," + ",".join(f"k{i}={'v' * 3000}" for i in range(2)))
    ],
}


@pytest.mark.parametrize("carrier", CARRIERS)
@pytest.mark.parametrize("case", BAD_PARTS)
def test_a_bad_part_costs_only_itself(case, carrier):
    """Defect 7: a lone surrogate in baggage made extraction return an empty context, dropping a
    valid traceparent. Now a bad tracestate keeps the traceparent, a bad baggage member costs only
    that member."""
    extracted = CARRIERS[carrier]([("traceparent", VALID), *BAD_PARTS[case]])
    assert _parent(extracted) == (T, S)
    assert baggage.get_baggage("good", extracted) == "1"
    assert baggage.get_baggage("bad", extracted) is None
    assert 1 <= len(baggage.get_all(extracted)) <= 64


class _Exploding(TextMapPropagator):
    def extract(self, carrier, context=None, getter=None):
        raise ValueError("hostile input")

    def inject(self, carrier, context=None, setter=None):
        raise ValueError("cannot write")

    @property
    def fields(self):
        return {"x-exploding"}


@pytest.mark.parametrize("carrier", CARRIERS)
def test_a_propagator_that_raises_costs_only_its_own_part(carrier):
    propagate.set_global_textmap(
        IsolatingCompositePropagator([TraceContextPropagator(), _Exploding(), W3CBaggagePropagator()])
    )
    extracted = CARRIERS[carrier]([("traceparent", VALID), ("baggage", "good=1")])
    assert _parent(extracted) == (T, S)
    assert baggage.get_baggage("good", extracted) == "1"
    carrier_out: dict[str, str] = {}
    propagate.get_global_textmap().inject(carrier_out, extracted)
    assert carrier_out == {"traceparent": VALID, "baggage": "good=1"}


def test_setup_installs_the_isolating_composite():
    propagator = tracing.build_propagator(("tracecontext", "baggage", "b3", "jaeger"))
    assert isinstance(propagator, IsolatingCompositePropagator)
    assert [type(p).__name__ for p in propagator._propagators] == [
        "TraceContextPropagator",
        "W3CBaggagePropagator",
        "StrictB3SingleFormat",
        "StrictJaegerPropagator",
    ]


B3_T, B3_S = "463ac35c9f6413ad48485a3953bb6124", "a2fb4a1d1a96d312"
FOREIGN = {
    # (propagators, fields, parent or None)
    "b3 single": (("b3",), [("b3", f"{B3_T}-{B3_S}-1")], (B3_T, B3_S)),
    "b3 single, 64-bit trace id": (("b3",), [("b3", f"{B3_T[16:]}-{B3_S}-1")], ("0" * 16 + B3_T[16:], B3_S)),
    "b3 single, Arabic-Indic digits": (("b3",), [("b3", "\u0663" * 32 + "-" + "\u0664" * 16 + "-1")], None),
    "b3 multi": (("b3multi",), [("x-b3-traceid", B3_T), ("x-b3-spanid", B3_S)], (B3_T, B3_S)),
    "b3 multi, Arabic-Indic digits": (
        ("b3multi",),
        [("x-b3-traceid", "\u0663" * 32), ("x-b3-spanid", "\u0664" * 16)],
        None,
    ),
    "b3 multi, two trace ids": (
        ("b3multi",),
        [("x-b3-traceid", B3_T), ("x-b3-traceid", "1" * 32), ("x-b3-spanid", B3_S)],
        None,
    ),
    "jaeger": (("jaeger",), [("uber-trace-id", f"{B3_T}:{B3_S}:0:1")], (B3_T, B3_S)),
    "jaeger, short ids": (
        ("jaeger",),
        [("uber-trace-id", "abc:def:0:1")],
        ("0" * 29 + "abc", "0" * 13 + "def"),
    ),
    "jaeger, 0x prefix": (("jaeger",), [("uber-trace-id", f"0x{B3_T[2:]}:{B3_S}:0:1")], None),
    "jaeger, underscores": (("jaeger",), [("uber-trace-id", f"{B3_T[:4]}_{B3_T[5:]}:{B3_S}:0:1")], None),
    "jaeger, a sign": (("jaeger",), [("uber-trace-id", f"+{B3_T[1:]}:{B3_S}:0:1")], None),
    "jaeger, spaces": (("jaeger",), [("uber-trace-id", f" {B3_T}:{B3_S}:0:1")], None),
    "jaeger, Arabic-Indic digits": (("jaeger",), [("uber-trace-id", "\u0663:\u0664:0:1")], None),
    "jaeger, two values": (
        ("jaeger",),
        [("uber-trace-id", f"{B3_T}:{B3_S}:0:1"), ("uber-trace-id", f"{'1' * 32}:{B3_S}:0:1")],
        None,
    ),
}


@pytest.mark.parametrize("carrier", ["http headers", "grpc metadata"])
@pytest.mark.parametrize("case", FOREIGN)
def test_b3_and_jaeger_take_a_parent_only_from_one_well_formed_identity_header(case, carrier):
    """int(x, 16) and \\d accept what no tracer sends; a parent read from it is a parent the caller
    never had. Repeated identity headers are ambiguous: no parent, as W3C says of traceparent."""
    propagators, fields, expected = FOREIGN[case]
    propagate.set_global_textmap(tracing.build_propagator(propagators))
    assert _parent(CARRIERS[carrier](fields)) == expected
