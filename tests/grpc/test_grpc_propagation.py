"""Context across the wire: sampling decisions as the SDK makes them, the not-sampled path, other
propagators, the trust policy, and hostile metadata."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from _grpc_chain import (
    BACK,
    FRONT,
    METHODS,
    aio_call,
    aio_channel,
    aio_rig,
    aio_server,
    generic_handlers,
    multicallable,
    sync_call,
    sync_channel,
    sync_rig,
    sync_server,
)
from _grpc_spans import assert_child, one, wait_for_spans
from opentelemetry import propagate, trace
from opentelemetry.propagators.textmap import TextMapPropagator
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, ParentBased, TraceIdRatioBased
from opentelemetry.trace import SpanKind

import tracing
from interceptors.grpc import RpcKind, method_in, negate
from tracing.propagation import CONFIGURED_TRUST, TRUST_NONE, trust_callers

LOW_TRACE = "00000000000000000000000000000001"  # under any ratio: TraceIdRatioBased samples it
HIGH_TRACE = "7fffffffffffffffffffffffffffffff"  # over a 0.5 ratio: not sampled
PARENT = "00f067aa0ba902b7"


def _traceparent(trace_id: str, sampled: bool) -> tuple:
    return (("traceparent", f"00-{trace_id}-{PARENT}-{'01' if sampled else '00'}"),)


def _seen_by_handler(recorder, metadata=(), **server_options):
    """Call a unary handler from a bare client with `metadata`; the span context the handler saw."""
    seen = []

    def handler(request, context):
        seen.append(trace.get_current_span().get_span_context())
        return request

    handlers = [generic_handlers(FRONT, {RpcKind.UNARY: handler})]
    with (
        sync_server(handlers, recorder.provider, **server_options) as target,
        sync_channel(target) as channel,
    ):
        assert multicallable(channel, RpcKind.UNARY)(b"x", metadata=metadata) == b"x"
    return seen[0]


SAMPLERS = {
    "always_on": (ALWAYS_ON, {None: True, True: True, False: True}),
    "always_off": (ALWAYS_OFF, {None: False, True: False, False: False}),
    "parentbased_always_on": (ParentBased(ALWAYS_ON), {None: True, True: True, False: False}),
    "parentbased_always_off": (ParentBased(ALWAYS_OFF), {None: False, True: True, False: False}),
    "ratio_0.5": (TraceIdRatioBased(0.5), {True: True, False: True}),  # the trace id decides; LOW_TRACE is in
}
_INCOMING = {None: "root", True: "sampled-parent", False: "unsampled-parent"}
DECISIONS = [
    pytest.param(sampler, incoming, recorded, id=f"{name}-{_INCOMING[incoming]}")
    for name, (sampler, table) in SAMPLERS.items()
    for incoming, recorded in table.items()
]


@pytest.mark.parametrize(("sampler", "incoming", "recorded"), DECISIONS)
def test_the_sampling_decision_is_the_sdks(make_recorder, sampler, incoming, recorded):
    recorder = make_recorder(sampler)
    metadata = () if incoming is None else _traceparent(LOW_TRACE, incoming)
    seen = _seen_by_handler(recorder, metadata)
    assert seen.is_valid and seen.trace_flags.sampled is recorded
    if incoming is not None:
        assert format(seen.trace_id, "032x") == LOW_TRACE
    spans = recorder.spans()
    assert len(spans) == int(recorded)
    if spans:
        assert spans[0].context.span_id == seen.span_id


def test_ratio_sampler_declines_a_high_trace_id(make_recorder):
    recorder = make_recorder(TraceIdRatioBased(0.5))
    seen = _seen_by_handler(recorder, _traceparent(HIGH_TRACE, True))
    assert not seen.trace_flags.sampled and format(seen.trace_id, "032x") == HIGH_TRACE
    assert recorder.spans() == []


def _through_one_hop(flavor: str, provider) -> tuple[str, trace.SpanContext]:
    """Instrumented client -> instrumented server under the current span: (traceparent sent, handler's span)."""
    seen = []

    def capture(context):
        seen.append(
            (dict(context.invocation_metadata())["traceparent"], trace.get_current_span().get_span_context())
        )

    def sync_handler(request, context):
        capture(context)
        return request

    async def aio_handler(request, context):
        capture(context)
        return request

    if flavor == "sync":
        handlers = [generic_handlers(FRONT, {RpcKind.UNARY: sync_handler})]
        with sync_server(handlers, provider) as target, sync_channel(target, provider) as channel:
            multicallable(channel, RpcKind.UNARY)(b"x")
    else:

        async def run():
            handlers = [generic_handlers(FRONT, {RpcKind.UNARY: aio_handler})]
            async with aio_server(handlers, provider) as target, aio_channel(target, provider) as channel:
                await multicallable(channel, RpcKind.UNARY)(b"x")

        asyncio.run(run())
    return seen[0]


@pytest.mark.parametrize("flavor", ["sync", "aio"])
def test_the_not_sampled_path_records_nothing_and_still_propagates(make_recorder, flavor):
    recorder = make_recorder(ParentBased(ALWAYS_OFF))
    root = recorder.provider.get_tracer("test").start_span("root")
    with trace.use_span(root, end_on_exit=True):
        traceparent, handler_span = _through_one_hop(flavor, recorder.provider)
    _, trace_id, client_span_id, flags = traceparent.split("-")
    root_context = root.get_span_context()
    assert not int(flags, 16) & 1 and not handler_span.trace_flags.sampled
    assert int(trace_id, 16) == handler_span.trace_id == root_context.trace_id
    # a client span and a server span sat in between, each with its own id, as when sampled
    assert len({int(client_span_id, 16), handler_span.span_id, root_context.span_id}) == 3
    assert recorder.spans() == []


@pytest.mark.parametrize("propagators", [("b3multi",), ("b3",), ("jaeger",), ("tracecontext", "baggage")])
@pytest.mark.parametrize("flavor", ["sync", "aio"])
def test_the_chain_holds_with_any_configured_propagator(recorder, flavor, propagators):
    propagate.set_global_textmap(tracing.build_propagator(propagators))  # restored by the autouse fixture
    if flavor == "sync":
        with sync_rig(recorder.provider) as rig:
            sync_call(rig, RpcKind.BIDI_STREAM, "ok")
    else:

        async def run():
            async with aio_rig(recorder.provider) as rig:
                return await aio_call(rig, RpcKind.BIDI_STREAM, "ok")

        asyncio.run(run())
    spans = wait_for_spans(recorder, 4)
    name, hop = f"{FRONT}/{METHODS[RpcKind.BIDI_STREAM]}", f"{BACK}/{METHODS[RpcKind.UNARY]}"
    client, front = one(spans, name, SpanKind.CLIENT), one(spans, name, SpanKind.SERVER)
    downstream, back = one(spans, hop, SpanKind.CLIENT), one(spans, hop, SpanKind.SERVER)
    assert_child(front, client)
    assert_child(downstream, front)
    assert_child(back, downstream)


def test_an_untrusted_caller_gets_a_new_root_linked_to_its_context(recorder):
    seen = _seen_by_handler(recorder, _traceparent(LOW_TRACE, True), trust_policy=TRUST_NONE)
    (span,) = wait_for_spans(recorder, 1)
    assert span.parent is None and format(seen.trace_id, "032x") != LOW_TRACE
    assert [format(link.context.trace_id, "032x") for link in span.links] == [LOW_TRACE]


def test_the_configured_policy_is_the_default(recorder, monkeypatch):
    monkeypatch.setattr(CONFIGURED_TRUST, "policy", TRUST_NONE)  # what setup(trust_incoming="none") sets
    _seen_by_handler(recorder, _traceparent(LOW_TRACE, True))
    (span,) = wait_for_spans(recorder, 1)
    assert span.parent is None and len(span.links) == 1


def test_a_trust_predicate_sees_the_grpc_caller(recorder):
    callers = []

    def trusted(caller) -> bool:
        callers.append(caller)
        return caller.header("x-internal") == "yes"

    metadata = (*_traceparent(LOW_TRACE, True), ("x-internal", "yes"))
    _seen_by_handler(recorder, metadata, trust_policy=trust_callers(trusted))
    (span,) = wait_for_spans(recorder, 1)
    assert span.parent is not None and span.parent.span_id == int(PARENT, 16)
    assert callers[0].protocol == "grpc" and callers[0].peer.startswith("ipv4:127.0.0.1")


class _Exploding(TextMapPropagator):
    def extract(self, carrier, context=None, getter=None):
        raise ValueError("hostile header")

    def inject(self, carrier, context=None, setter=None):
        pass

    @property
    def fields(self):
        return set()


HOSTILE = {
    "garbage traceparent": (("traceparent", "zz-not-a-trace"), ("tracestate", "=,=;;"), ("baggage", "%%%=;")),
    "all-zero trace id": (("traceparent", "00-00000000000000000000000000000000-00f067aa0ba902b7-01"),),
    "oversized": (("traceparent", "00-" + "a" * 2000), ("baggage", "k=" + "v" * 4000)),
}


@pytest.mark.parametrize("metadata", HOSTILE.values(), ids=HOSTILE.keys())
def test_malformed_metadata_never_reaches_the_handler(recorder, metadata):
    seen = _seen_by_handler(recorder, metadata)
    (span,) = wait_for_spans(recorder, 1)
    assert span.parent is None and seen.span_id == span.context.span_id


def test_a_raising_propagator_never_reaches_the_handler(recorder):
    propagate.set_global_textmap(_Exploding())
    _seen_by_handler(recorder, _traceparent(LOW_TRACE, True))
    (span,) = wait_for_spans(recorder, 1)
    assert span.parent is None


def test_client_metadata_is_kept_alongside_the_trace_context(recorder):
    seen_metadata = []

    def handler(request, context):
        seen_metadata.append(dict(context.invocation_metadata()))
        return request

    handlers = [generic_handlers(FRONT, {RpcKind.UNARY: handler})]
    with sync_server(handlers) as target, sync_channel(target, recorder.provider) as channel:
        multicallable(channel, RpcKind.UNARY)(b"x", metadata=(("x-user", "alice"), ("x-bin", b"\x00\x01")))
    (span,) = wait_for_spans(recorder, 1)
    received = seen_metadata[0]
    assert received["x-user"] == "alice" and received["x-bin"] == b"\x00\x01"
    assert received["traceparent"].split("-")[2] == format(span.context.span_id, "016x")
    assert grpc.StatusCode.OK.value[0] == span.attributes["rpc.grpc.status_code"]


def test_no_context_leaks_into_the_next_request_on_a_reused_worker(recorder):
    seen = []

    def traced(request, context):
        return request

    def untraced(request, context):  # excluded by the filter; idle workers are reused
        seen.append(trace.get_current_span().get_span_context().is_valid)
        return request

    handlers = [
        generic_handlers(FRONT, {RpcKind.UNARY: traced, RpcKind.SERVER_STREAM: _yield_untraced(untraced)})
    ]
    skip_stream = negate(method_in(f"{FRONT}/{METHODS[RpcKind.SERVER_STREAM]}"))
    with (
        sync_server(handlers, recorder.provider, filter=skip_stream) as target,
        sync_channel(target) as channel,
    ):
        for _ in range(3):
            assert multicallable(channel, RpcKind.UNARY)(b"x") == b"x"
            assert list(multicallable(channel, RpcKind.SERVER_STREAM)(b"y")) == [b"y"]
    assert seen == [False, False, False]


def _yield_untraced(check):
    def stream(request, context):
        yield check(request, context)

    return stream
