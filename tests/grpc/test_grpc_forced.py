"""On-demand tracing over a three-hop gRPC chain: a trusted caller's `kubetrace-force-trace: 1`
samples the request end to end whatever the sampler, every span of it says so, and the key goes on
downstream; an untrusted caller's request is never forced."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from _grpc_chain import (
    BACK,
    FRONT,
    METHODS,
    aio_channel,
    aio_server,
    generic_handlers,
    multicallable,
    sync_channel,
    sync_server,
)
from _grpc_spans import assert_child, one, wait_for_spans
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased, TraceIdRatioBased
from opentelemetry.trace import SpanKind

import tracing
from interceptors.grpc import RpcKind
from tracing.propagation import TRUST_NONE, trust_callers

FORCE = ("kubetrace-force-trace", "1")
FORCED = "kubetrace.sampling.forced"
CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
UNSAMPLED_PARENT = ("traceparent", f"00-{CALLER_TRACE}-00f067aa0ba902b7-00")
SAMPLERS = {
    "parentbased_always_off": lambda: ParentBased(ALWAYS_OFF),
    "always_off": lambda: ALWAYS_OFF,  # not parent-based: only the key makes the downstream hops record
    "ratio_0": lambda: TraceIdRatioBased(0.0),
}
SRE_ONLY = trust_callers(lambda caller: caller.header("x-role") == "sre", "SREs")
FRONT_NAME, HOP_NAME = f"{FRONT}/{METHODS[RpcKind.UNARY]}", f"{BACK}/{METHODS[RpcKind.UNARY]}"


def _sampled(traceparent: str) -> bool:
    return bool(int(traceparent.rsplit("-", 1)[1], 16) & 1)


def _front(downstream, provider):
    def unary(request, context):
        with tracing.operation("work", tracer_provider=provider):
            return downstream(b"hop")

    return unary


def _front_aio(downstream, provider):
    async def unary(request, context):
        with tracing.operation("work", tracer_provider=provider):
            return await downstream(b"hop")

    return unary


def _back(seen: list):
    def unary(request, context):
        seen.append(dict(context.invocation_metadata()))
        return request

    return unary


def _call_sync(provider, metadata, **front_options) -> list:
    """A bare caller (as grpcurl) -> front server -> its traced client -> back server."""
    seen: list = []
    with contextlib.ExitStack() as stack:
        back = stack.enter_context(
            sync_server([generic_handlers(BACK, {RpcKind.UNARY: _back(seen)})], provider)
        )
        downstream = multicallable(stack.enter_context(sync_channel(back, provider)), RpcKind.UNARY, BACK)
        handlers = [generic_handlers(FRONT, {RpcKind.UNARY: _front(downstream, provider)})]
        front = stack.enter_context(sync_server(handlers, provider, **front_options))
        caller = multicallable(stack.enter_context(sync_channel(front)), RpcKind.UNARY)
        assert caller(b"request", metadata=metadata) == b"hop"
    return seen


def _call_aio(provider, metadata, **front_options) -> list:
    seen: list = []

    async def run():
        async with contextlib.AsyncExitStack() as stack:
            back_handlers = [generic_handlers(BACK, {RpcKind.UNARY: _back(seen)})]
            back = await stack.enter_async_context(aio_server(back_handlers, provider))
            channel = await stack.enter_async_context(aio_channel(back, provider))
            downstream = multicallable(channel, RpcKind.UNARY, BACK)
            handlers = [generic_handlers(FRONT, {RpcKind.UNARY: _front_aio(downstream, provider)})]
            front = await stack.enter_async_context(aio_server(handlers, provider, **front_options))
            caller = multicallable(await stack.enter_async_context(aio_channel(front)), RpcKind.UNARY)
            assert await caller(b"request", metadata=metadata) == b"hop"

    asyncio.run(run())
    return seen


CALLS = {"sync": _call_sync, "aio": _call_aio}


@pytest.mark.parametrize("flavor", sorted(CALLS))
@pytest.mark.parametrize("sampler", sorted(SAMPLERS))
def test_a_trusted_caller_forces_its_request_to_be_traced_end_to_end(flavor, sampler, make_recorder):
    recorder = make_recorder(SAMPLERS[sampler]())
    seen = CALLS[flavor](recorder.provider, (UNSAMPLED_PARENT, FORCE))

    spans = wait_for_spans(recorder, 4)
    front, work = one(spans, FRONT_NAME, SpanKind.SERVER), one(spans, "work", SpanKind.INTERNAL)
    hop, back = one(spans, HOP_NAME, SpanKind.CLIENT), one(spans, HOP_NAME, SpanKind.SERVER)
    assert {f"{s.context.trace_id:032x}" for s in spans} == {CALLER_TRACE}  # the caller's trace, kept
    assert front.parent.span_id == 0x00F067AA0BA902B7
    assert_child(work, front)
    assert_child(hop, work)
    assert_child(back, hop)
    assert all(s.attributes[FORCED] is True for s in spans)
    assert all(s.context.trace_flags.sampled for s in spans)
    (downstream,) = seen
    assert downstream[FORCE[0]] == "1"  # the key goes on with the request ...
    assert _sampled(downstream["traceparent"])  # ... and the sampled flag


@pytest.mark.parametrize("flavor", sorted(CALLS))
def test_an_untrusted_callers_request_is_never_forced(flavor, make_recorder):
    recorder = make_recorder(ParentBased(ALWAYS_OFF))
    seen = CALLS[flavor](recorder.provider, (UNSAMPLED_PARENT, FORCE), trust_policy=TRUST_NONE)

    recorder.provider.force_flush()
    assert recorder.spans() == []
    (downstream,) = seen
    assert FORCE[0] not in downstream
    assert not _sampled(downstream["traceparent"])


@pytest.mark.parametrize(("role", "forced"), [("sre", True), ("tenant", False)])
def test_a_trust_predicate_decides_who_may_force(role, forced, make_recorder):
    recorder = make_recorder(ParentBased(ALWAYS_OFF))
    _call_sync(recorder.provider, (FORCE, ("x-role", role)), trust_policy=SRE_ONLY)

    if forced:
        assert all(s.attributes[FORCED] is True for s in wait_for_spans(recorder, 4))
    else:
        recorder.provider.force_flush()
        assert recorder.spans() == []


@pytest.mark.parametrize("value", ["0", "true", "", "1,1"])
def test_only_the_documented_value_forces(value, make_recorder):
    recorder = make_recorder(ParentBased(ALWAYS_OFF))
    _call_sync(recorder.provider, (("kubetrace-force-trace", value),))
    recorder.provider.force_flush()
    assert recorder.spans() == []


def test_requests_without_the_key_follow_the_sampler_as_before(make_recorder):
    recorder = make_recorder(ParentBased(ALWAYS_OFF))
    seen = _call_sync(recorder.provider, (UNSAMPLED_PARENT,))
    recorder.provider.force_flush()
    assert recorder.spans() == []
    assert FORCE[0] not in seen[0]
