"""The one gRPC recipe behind all sixteen entry points: which calls get a span, its name, kind and
attributes, where its parent comes from, and the metadata a client sends; on the core's calls.

Everything that depends only on the method (CallMeta, the filter's answer, the Start the sampler
sees) is computed once per method and cached. A call that is not sampled costs a sampler decision,
a non-recording span context and its propagation; nothing here builds more for it.

The decision comes first (decide_server(), decide_client() of tracing.instrumentation) and what it
found is handed on rather than looked up again: a sampled root decided twice, on two trace ids, would
be sampled at the square of the configured rate. Inside a real RPC every Python call on this path
costs about a microsecond (cold caches after the wait for the network), several times what it costs
in a loop, so the path is counted in calls, and benchmarks/grpc_overhead.py measures it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from opentelemetry import trace as trace_api
from opentelemetry.context import Context
from opentelemetry.trace import INVALID_SPAN, SpanContext, SpanKind

import tracing
from tracing.instrumentation import (
    NOT_RECORDING,
    Call,
    Caller,
    Incoming,
    Instrumentation,
    Start,
    current_context,
    inject_metadata,
    new_start,
    safe_invoke,
)
from tracing.propagation import METADATA_GETTER, METADATA_SETTER, TrustPolicy

from ._address import client_attributes, server_attributes
from ._callmeta import CallMeta, Side, call_meta
from ._filters import Filter, default_filter
from ._outcome import describe_client, describe_server, server_outcome
from ._semconv import method_attributes

SCOPE = "kubetrace.grpc"
STREAMED = object()  # stands for "no single request message": client-streaming and bidi calls

_UNDECIDED = object()  # start_client() is to decide itself

RequestAttributes = Callable[[CallMeta, Any], Mapping[str, Any]]


class Method:
    """A method as traced by one recipe: its CallMeta and the Start every span of it begins with."""

    __slots__ = ("meta", "name", "request_streaming", "response_streaming", "start")

    def __init__(self, meta: CallMeta, start: Start):
        self.meta, self.start, self.name = meta, start, meta.name
        self.request_streaming, self.response_streaming = meta.request_streaming, meta.response_streaming


class Recipe:
    """One interceptor's options, applied to every call it sees."""

    def __init__(
        self,
        side: Side,
        *,
        tracer_provider: trace_api.TracerProvider | None = None,
        trust_policy: TrustPolicy | None = None,
        filter: Filter | None = None,
        message_events: bool = False,
        request_attributes: RequestAttributes | None = None,
        target: str | bytes | None = None,
    ):
        self.side = side
        server = side is Side.SERVER
        self.core = Instrumentation(
            SCOPE,
            describe_server if server else describe_client,
            version=tracing.__version__,
            tracer_provider=tracer_provider,
            trust_policy=trust_policy,
            message_events=message_events,
            caller=caller,
        )
        self.decide_client = self.core.decide_client
        self._kind = SpanKind.SERVER if server else SpanKind.CLIENT
        self._filter = filter or default_filter
        self._hook = request_attributes
        self._peer = server_attributes(target)
        self.method = functools.lru_cache(maxsize=1024)(self._method)

    def _method(
        self, full_method: str | bytes, request_streaming: bool, response_streaming: bool
    ) -> Method | None:
        """The traced method, or None when the filter excludes it (a broken filter traces)."""
        meta = call_meta(full_method, request_streaming, response_streaming, self.side)
        if not safe_invoke(self._filter, meta, default=True):
            return None
        attributes = method_attributes(meta)
        attributes.update(self._peer)
        return Method(meta, Start(meta.name, self._kind, attributes))

    def decide_server(self, context) -> Context | Incoming:
        """The decision for a server call, made before anything is built for it.

        A Context: the call is not sampled, and its handler runs with that context current; there is
        no span to end. An Incoming: hand it to start_server().
        """
        return self.core.decide_server(context.invocation_metadata() or (), METADATA_GETTER, context)

    def start_server(self, method: Method, context, request: object, decision: Context | Incoming) -> Call:
        """The server call for what decide_server() decided. A call it found not sampled gets a
        call that enters that context and ends nothing."""
        if decision.__class__ is Context:
            return Call(INVALID_SPAN, decision)
        start = method.start
        if decision.trace_id is not None:  # sampled already: the peer goes in with the start attributes
            peer = client_attributes(context.peer())
            call = self.core.start_server(
                new_start((start.name, start.kind, {**start.attributes, **peer}, ())), decision
            )
        else:
            call = self.core.start_server(start, decision)
            if call.recording:
                call.span.set_attributes(client_attributes(context.peer()))
        if call.recording and request is not STREAMED:  # guarded here: a call each, per sampled request
            if call.events:
                call.on_receive(request)
            if self._hook is not None:
                self._annotate(call, method, request)
        return call

    def start_client(
        self,
        method: Method,
        metadata: Iterable | None,
        request: object = STREAMED,
        decided: object = _UNDECIDED,
    ) -> tuple[Call, list]:
        """The client call under the current context, and the metadata to send with it. A call
        that is not sampled gets NOT_RECORDING and no span at all: only its span context, in the
        metadata. `decided`: what decide_client() already answered under the current context."""
        context = current_context()
        if decided is _UNDECIDED:
            decided = self.decide_client(context)
        if decided.__class__ is str:  # not sampled, and the traceparent is all there is to send
            if not metadata:
                return NOT_RECORDING, [("traceparent", decided)]
            carrier = list(metadata)
            METADATA_SETTER.set(carrier, "traceparent", decided)  # as inject_metadata() would
            return NOT_RECORDING, carrier
        carrier = list(metadata) if metadata else []
        if decided.__class__ is SpanContext:
            inject_metadata(carrier, decided, context)
            return NOT_RECORDING, carrier
        call = self.core.start_client(method.start, context, decided)
        inject_metadata(carrier, call.span.get_span_context(), call.context)
        if not call.recording:
            return NOT_RECORDING, carrier
        if request is not STREAMED:
            if call.events:
                call.on_send(request)
            if self._hook is not None:
                self._annotate(call, method, request)
        return call, carrier

    def _annotate(self, call: Call, method: Method, request: object) -> None:
        extra = safe_invoke(self._hook, method.meta, request)
        if isinstance(extra, Mapping) and extra:
            call.span.set_attributes(extra)


def end_server(call: Call, servicer_context, exc: BaseException | None) -> None:
    """End a server call with the outcome the servicer context shows; read only if the span records."""
    if call.recording:
        call.end(*server_outcome(servicer_context, exc))


def caller(context) -> Caller:
    """The caller of a server call, as a trust predicate sees it."""
    metadata = context.invocation_metadata() or ()

    def header(name: str) -> str | None:
        return next((v for k, v in metadata if k == name and isinstance(v, str)), None)

    return Caller("grpc", context.peer(), header, context)
