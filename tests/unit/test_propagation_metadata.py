"""The one-pass gRPC metadata path gives exactly what the configured propagators give."""

from __future__ import annotations

import pytest
from opentelemetry import baggage, propagate, trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, ParentBased, TraceIdRatioBased
from opentelemetry.trace import INVALID_SPAN_CONTEXT, NonRecordingSpan, SpanContext, TraceFlags, TraceState
from testkit.ids import CountingIds

import tracing
from tracing._otel_private import SPAN_KEY, with_span
from tracing._starter import SpanStarter
from tracing.propagation import METADATA_GETTER, METADATA_SETTER, extract, extract_metadata, inject
from tracing.propagation._metadata_w3c import inject_metadata, remote_parent

TP = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
METADATA = {
    "none": [],
    "unrelated": [("user-agent", "grpc-go/1.70"), ("x-id", "7")],
    "traceparent": [("traceparent", TP)],
    "unsampled": [("traceparent", TP[:-2] + "00")],
    "random_flag": [("traceparent", TP[:-2] + "03")],
    "future_version": [("traceparent", "01" + TP[2:] + "-extra")],
    "version_00_with_extra": [("traceparent", TP + "-extra")],
    "version_ff": [("traceparent", "ff" + TP[2:])],
    "zero_trace_id": [("traceparent", "00-" + "0" * 32 + "-00f067aa0ba902b7-01")],
    "zero_span_id": [("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-" + "0" * 16 + "-01")],
    "uppercase": [("traceparent", TP.upper())],
    "short": [("traceparent", TP[:-1])],
    "padded": [("traceparent", f" \t{TP} ")],
    "garbage": [("traceparent", "\x00\xff;DROP TABLE")],
    "empty": [("traceparent", "")],
    "bytes_value": [("traceparent", TP.encode())],
    "binary_key": [("traceparent-bin", b"\x00\x01")],
    "two_traceparents": [("traceparent", "junk"), ("traceparent", TP)],
    "tracestate": [("traceparent", TP), ("tracestate", "k8s=1,vendor=x")],
    "tracestate_only": [("tracestate", "k8s=1")],
    "bad_tracestate": [("traceparent", TP), ("tracestate", "=,,==")],
    "baggage": [("traceparent", TP), ("baggage", "tenant=a%20b,user=x;prop=1")],
    "baggage_only": [("baggage", "tenant=a")],
    "bad_baggage": [("baggage", "%zz=%ff,=,novalue")],
    # The canonical length and dash places, with what int(x, 16) accepts and the W3C format does not.
    "canonical_uppercase": [("traceparent", TP[:5] + "F" + TP[6:])],
    "canonical_0x": [("traceparent", TP[:36] + "0x" + TP[38:])],
    "canonical_sign": [("traceparent", TP[:3] + "+" + TP[4:])],
    "canonical_minus": [("traceparent", TP[:3] + "-" + TP[4:])],
    "canonical_underscore": [("traceparent", TP[:10] + "_" + TP[11:])],
    "canonical_inner_space": [("traceparent", TP[:36] + " " + TP[37:])],
    "canonical_arabic_digit": [("traceparent", TP[:3] + "\u0663" + TP[4:])],
    "canonical_all_digits": [("traceparent", "00-" + "1" * 32 + "-" + "2" * 16 + "-01")],
    "dash_moved": [("traceparent", "00-" + "a" * 31 + "-" + "b" * 17 + "-01")],
}


def _view(context: Context):
    span_context = trace.get_current_span(context).get_span_context()
    return (
        tuple(span_context[:4]) if span_context.is_valid else None,
        str(span_context.trace_state),
        span_context.is_valid,
        dict(baggage.get_all(context)),
    )


@pytest.fixture(params=["tracecontext,baggage", "tracecontext", "b3multi,baggage", "jaeger", "none"])
def propagators(request):
    propagate.set_global_textmap(tracing.build_propagator(tuple(request.param.split(","))))
    return request.param


@pytest.mark.parametrize("name", sorted(METADATA))
def test_extract_metadata_equals_the_propagators(name, propagators):
    metadata = METADATA[name]
    assert _view(extract_metadata(metadata)) == _view(extract(metadata, METADATA_GETTER))


@pytest.mark.parametrize("name", sorted(METADATA))
def test_remote_parent_is_the_extracted_parent_or_declines(name, propagators):
    """remote_parent() answers only when the extracted context would hold nothing but a span (or
    nothing); then its answer is that span's context."""
    metadata = METADATA[name]
    extracted = extract(metadata, METADATA_GETTER)
    parent = remote_parent(metadata)
    if parent is None:
        assert (
            propagators != "tracecontext,baggage"
            or set(extracted) - {SPAN_KEY}
            or any(key in ("tracestate", "baggage") for key, _ in metadata)
        )
        return
    assert propagators == "tracecontext,baggage"
    assert set(extracted) <= {SPAN_KEY}
    assert parent == trace.get_current_span(extracted).get_span_context()
    if parent.is_valid:
        assert parent.is_remote


def test_remote_parent_matches_the_propagator_on_every_one_character_change():
    """Each character of a traceparent replaced by each of a hostile alphabet: same answer as extract()."""
    propagate.set_global_textmap(tracing.build_propagator(("tracecontext", "baggage")))
    alphabet = "0aF-+_ x\t\u0663\u00e9"
    for position in range(len(TP)):
        for char in alphabet:
            metadata = [("traceparent", TP[:position] + char + TP[position + 1 :])]
            expected = trace.get_current_span(extract(metadata, METADATA_GETTER)).get_span_context()
            assert remote_parent(metadata) == expected, metadata


def test_remote_parent_answers_the_common_case():
    propagate.set_global_textmap(tracing.build_propagator(("tracecontext", "baggage")))
    assert remote_parent(METADATA["traceparent"]) == SpanContext(
        0x4BF92F3577B34DA6A3CE929D0E0E4736, 0x00F067AA0BA902B7, True, TraceFlags(1)
    )
    assert remote_parent(METADATA["garbage"]) is INVALID_SPAN_CONTEXT
    assert remote_parent(METADATA["none"]) is INVALID_SPAN_CONTEXT
    assert remote_parent(METADATA["tracestate"]) is None


SPANS = {
    "root": SpanContext(0x4BF92F3577B34DA6A3CE929D0E0E4736, 0xF067AA0BA902B7, False, TraceFlags(0)),
    "sampled_with_state": SpanContext(
        0xABC, 0xDEF, False, TraceFlags(1), TraceState([("k8s", "1"), ("vendor", "x")])
    ),
    "invalid": SpanContext(0, 0, False),
}
BAGGAGE = {"none": {}, "some": {"tenant": "a b", "user": "x+y"}}
USER_METADATA = {"none": None, "own": [("x-id", "7")], "stale_traceparent": [("traceparent", "old")]}


@pytest.mark.parametrize("user", sorted(USER_METADATA))
@pytest.mark.parametrize("bag", sorted(BAGGAGE))
@pytest.mark.parametrize("span", sorted(SPANS))
def test_inject_metadata_equals_the_propagators(span, bag, user, propagators):
    context = Context()
    for key, value in BAGGAGE[bag].items():
        context = baggage.set_baggage(key, value, context)
    fast, generic = list(USER_METADATA[user] or ()), list(USER_METADATA[user] or ())
    inject_metadata(fast, SPANS[span], context)
    inject(generic, METADATA_SETTER, with_span(NonRecordingSpan(SPANS[span]), context))
    assert fast == generic


def test_a_failing_propagator_costs_only_the_context():
    class Broken:
        fields = {"x"}

        def inject(self, *args, **kwargs):
            raise RuntimeError("broken propagator")

        def extract(self, *args, **kwargs):
            raise RuntimeError("broken propagator")

    propagate.set_global_textmap(Broken())  # restored by the autouse fixture
    carrier: list = []
    inject_metadata(carrier, SPANS["root"], Context())
    assert remote_parent([("traceparent", TP)]) is None  # not the W3C pair: the generic route
    assert carrier == []
    assert _view(extract_metadata([("traceparent", TP)])) == (None, "[]", False, {})


CHILD_SAMPLERS = {
    "parentbased_ratio_0": lambda: ParentBased(TraceIdRatioBased(0.0)),
    "parentbased_ratio_half": lambda: ParentBased(TraceIdRatioBased(0.5)),
    "ratio_half": lambda: TraceIdRatioBased(0.5),
    "always_off": lambda: ALWAYS_OFF,
    "always_on": lambda: ALWAYS_ON,
    "asked": lambda: type("Asked", (TraceIdRatioBased,), {})(0.5),  # a subclass: not reduced to bounds
}
CHILD_CONTEXTS = {
    "root": Context(),
    "remote_unsampled": trace.set_span_in_context(
        NonRecordingSpan(SpanContext(0xABC, 0xDEF, True, TraceFlags(0)))
    ),
    "remote_sampled": trace.set_span_in_context(
        NonRecordingSpan(SpanContext(0xABC, 0xDEF, True, TraceFlags(1)))
    ),
    "local_random_flag": trace.set_span_in_context(
        NonRecordingSpan(SpanContext(0xABC, 0xDEF, False, TraceFlags(2)))
    ),
    "with_trace_state": trace.set_span_in_context(
        NonRecordingSpan(SpanContext(0xABC, 0xDEF, False, TraceFlags(0), TraceState([("k8s", "1")])))
    ),
    "with_baggage": baggage.set_baggage("tenant", "a"),
    "invalid_span": trace.set_span_in_context(trace.INVALID_SPAN),
}


@pytest.mark.parametrize("context", sorted(CHILD_CONTEXTS))
@pytest.mark.parametrize("sampler", sorted(CHILD_SAMPLERS))
def test_decide_client_is_decide_then_inject(sampler, context, propagators):
    """The client's one-frame path answers what decide() answers, and its traceparent is exactly the
    metadata inject() writes for that decision; it answers with a string only when that is all."""
    make = lambda: SpanStarter(  # noqa: E731
        "t",
        tracer_provider=TracerProvider(
            sampler=CHILD_SAMPLERS[sampler](), id_generator=CountingIds(), shutdown_on_exit=False
        ),
    )
    fused, reference = make(), make()
    ctx = CHILD_CONTEXTS[context]
    for _ in range(12):  # roots go both ways under the ratio samplers
        got, expected = fused.decide_client(ctx), reference.decide(ctx)
        if isinstance(got, str):
            assert isinstance(expected, SpanContext)
            carrier: list = []
            inject(carrier, METADATA_SETTER, with_span(NonRecordingSpan(expected), ctx))
            assert carrier == [("traceparent", got)]
        else:
            assert got == expected
