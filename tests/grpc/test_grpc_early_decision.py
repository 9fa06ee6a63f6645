"""The server's early decision (Recipe.decide_server, on the core's decide_server) changes nothing
but the cost.

For every sampler, incoming metadata and trust policy: deciding early, then either entering the
returned context (not sampled) or handing the decision to start_server(), gives the same span and
the same current context as the SDK's own start_span under the parent and links the public API's
extract() and the trust policy give. Two providers with the same deterministic ids make the two
runs comparable id for id.
"""

from __future__ import annotations

import grpc
import pytest
from _grpc_chain import METHODS, generic_handlers, sync_channel, sync_server
from _grpc_echo import ECHO, SYNC_ECHO
from opentelemetry import baggage, propagate, trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, ParentBased, TraceIdRatioBased
from testkit.ids import CountingIds

import tracing
from interceptors.grpc import RpcKind
from interceptors.grpc._callmeta import Side
from interceptors.grpc._recipe import Recipe
from tracing.propagation import METADATA_GETTER, TRUST_ALL, TRUST_NONE, Caller, TrustPolicy, extract

TP = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7"
METADATA = {
    "none": (("user-agent", "grpc-python"),),
    "sampled_parent": (("traceparent", TP + "-01"),),
    "unsampled_parent": (("traceparent", TP + "-00"),),
    "random_flag_parent": (("traceparent", TP + "-02"),),
    "garbage": (("traceparent", "not-a-traceparent"),),
    "with_tracestate": (("traceparent", TP + "-01"), ("tracestate", "k8s=1")),
    "with_baggage": (("traceparent", TP + "-00"), ("baggage", "tenant=a")),
}
SAMPLERS = {
    "parentbased_ratio_0": lambda: ParentBased(TraceIdRatioBased(0.0)),
    "parentbased_ratio_half": lambda: ParentBased(TraceIdRatioBased(0.5)),
    "always_on": lambda: ALWAYS_ON,
    "always_off": lambda: ALWAYS_OFF,
    "ratio_half": lambda: TraceIdRatioBased(0.5),
    "asked": lambda: _Asked(),
}
TRUST = {
    "all": TRUST_ALL,
    "none": TRUST_NONE,
    "per_caller": TrustPolicy(lambda caller: caller.peer.startswith("ipv4:10."), "10/8 only"),
}


class _Asked(TraceIdRatioBased):
    """A subclass: not reduced to bounds, so the sampler itself is asked."""

    def __init__(self):
        super().__init__(0.5)


class _ServicerContext:
    def __init__(self, metadata):
        self._metadata = metadata

    def invocation_metadata(self):
        return self._metadata

    def peer(self) -> str:
        return "ipv4:127.0.0.1:5555"


class _Method:
    def __init__(self, recipe: Recipe):
        self.method = recipe.method("/runtime.v1.RuntimeService/Version", False, False)


def _view(span, context: Context):
    sc = span.get_span_context()
    current = trace.get_current_span(context).get_span_context()
    links = [tuple(link.context[:2]) for link in getattr(span, "links", ())]
    attributes = dict(span.attributes) if span.is_recording() else None
    return (
        (sc.trace_id, sc.span_id, int(sc.trace_flags), str(sc.trace_state), span.is_recording()),
        attributes,
        links,
        tuple(current[:4]),
        sorted(k for k in context if k != "current-span") == [] or dict(baggage.get_all(context)),
    )


@pytest.fixture(autouse=True)
def _w3c():
    propagate.set_global_textmap(tracing.build_propagator(("tracecontext", "baggage")))


@pytest.mark.parametrize("trust", sorted(TRUST))
@pytest.mark.parametrize("metadata", sorted(METADATA))
@pytest.mark.parametrize("sampler", sorted(SAMPLERS))
def test_deciding_early_gives_what_the_sdk_gives(sampler, metadata, trust):
    runs = []
    for early in (False, True):
        provider = TracerProvider(
            sampler=SAMPLERS[sampler](), id_generator=CountingIds(), shutdown_on_exit=False
        )
        recipe = Recipe(Side.SERVER, tracer_provider=provider, trust_policy=TRUST[trust])
        method = _Method(recipe).method
        views = []
        for _ in range(12):  # roots go both ways under the ratio samplers
            context = _ServicerContext(METADATA[metadata])
            if not early:
                views.append(_sdk_view(provider, method, context, TRUST[trust]))
                continue
            decision = recipe.decide_server(context)
            if isinstance(decision, Context):
                views.append(_view(trace.get_current_span(decision), decision))
                continue
            call = recipe.start_server(method, context, b"request", decision)
            views.append(_view(call.span, call.context))
            call.end(grpc.StatusCode.OK)
        runs.append(views)
    assert runs[1] == runs[0]


def _sdk_view(provider, method, context, policy):
    """The reference: the SDK's start_span under what extract() and the trust policy give."""
    metadata = context.invocation_metadata()
    caller = lambda: Caller("grpc", context.peer(), lambda name: None, context)  # noqa: E731
    parent, links = policy.parent_and_links(extract(metadata, METADATA_GETTER), caller)
    attributes = {**method.start.attributes, "client.address": "127.0.0.1", "client.port": 5555}
    span = provider.get_tracer("t").start_span(method.name, parent, trace.SpanKind.SERVER, attributes, links)
    view = _view(span, trace.set_span_in_context(span, parent))
    span.end()
    return view


def test_an_unsampled_call_is_decided_early_and_builds_no_sdk_span():
    provider = TracerProvider(sampler=ParentBased(TraceIdRatioBased(0.0)), shutdown_on_exit=False)
    recipe = Recipe(Side.SERVER, tracer_provider=provider)
    decision = recipe.decide_server(_ServicerContext(METADATA["unsampled_parent"]))
    assert isinstance(decision, Context)
    span = trace.get_current_span(decision)
    assert type(span) is trace.NonRecordingSpan
    assert span.get_span_context().trace_id == 0x4BF92F3577B34DA6A3CE929D0E0E4736
    assert not span.get_span_context().is_remote


@pytest.mark.parametrize("interceptor", [False, True], ids=["instrument_channel", "client_interceptor"])
def test_a_root_client_call_is_sampled_at_the_configured_rate_not_its_square(make_recorder, interceptor):
    """The channel decides a root call before anything is built and hands the decision on; deciding
    again on a fresh trace id would sample TraceIdRatioBased(0.5) roots at 0.25."""
    recorder = make_recorder(TraceIdRatioBased(0.5))
    with (
        sync_server([generic_handlers(ECHO, SYNC_ECHO)]) as target,
        sync_channel(target, recorder.provider, interceptor=interceptor) as channel,
    ):
        unary = channel.unary_unary(f"/{ECHO}/{METHODS[RpcKind.UNARY]}")
        for _ in range(400):
            assert unary(b"x") == b"x"
    recorder.provider.force_flush()
    sampled = len(recorder.spans())
    assert 140 < sampled < 260  # 200 expected; the square would give 100 (both bounds ~6 sigma away)
