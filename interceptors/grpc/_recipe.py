"""The one span recipe behind all sixteen entry points: which calls get a span, its name, kind,
attributes and parent, and the metadata a client sends.

Everything that depends only on the method (CallMeta, the filter's answer, the attribute dict the
sampler sees) is computed once per method and cached. A call that is not sampled costs a sampler
decision, a non-recording span context and its propagation; nothing here builds more for it.

The decision comes first (unsampled_server(), child_traceparent()) and what it found is handed on
(Early, `decided`) rather than looked up again: a sampled root decided twice, on two trace ids,
would be sampled at the square of the configured rate. Inside a real RPC every Python call on this
path costs about a microsecond (cold caches after the wait for the network), several times what
it costs in a loop, so the path is counted in calls, and benchmarks/grpc_overhead.py measures it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple

from opentelemetry import trace as trace_api
from opentelemetry.context import Context
from opentelemetry.trace import INVALID_SPAN, INVALID_SPAN_CONTEXT, NonRecordingSpan, SpanContext, SpanKind

import tracing
from tracing import SpanStarter, safe_invoke
from tracing._otel_private import NEW_SPAN, SPAN_KEY, current, with_span
from tracing.propagation import (
    CONFIGURED_TRUST,
    METADATA_SETTER,
    Caller,
    TrustPolicy,
    child_traceparent,
    extract_metadata,
    inject_metadata,
    remote_parent,
)

from ._address import client_attributes, server_attributes
from ._callmeta import CallMeta, Side, call_meta
from ._filters import Filter, default_filter
from ._reporter import Reporter

SCOPE = "kubetrace.grpc"
STREAMED = object()  # stands for "no single request message": client-streaming and bidi calls

_EMPTY = Context()
_UNDECIDED = object()  # start_client() is to decide itself


class Early(NamedTuple):
    """What unsampled_server() read and decided for a call it did not find unsampled."""

    remote: SpanContext  # the caller's, from the metadata (INVALID_SPAN_CONTEXT: none)
    trace_id: int | None  # the sampled decision's trace id; None: not decided yet


_NOT_RECORDING = Reporter(INVALID_SPAN, Context(), False, False, recording=False)  # ends nothing

RequestAttributes = Callable[[CallMeta, Any], Mapping[str, Any]]


class Method:
    """A method as traced by one interceptor: its CallMeta and the attributes every span of it starts with."""

    __slots__ = ("attributes", "meta", "name", "request_streaming", "response_streaming")

    def __init__(self, meta: CallMeta, attributes: dict[str, Any]):
        self.meta, self.attributes, self.name = meta, attributes, meta.name
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
        self.starter = SpanStarter(SCOPE, tracing.__version__, tracer_provider)
        self._trust = trust_policy
        self._filter = filter or default_filter
        self._events = message_events
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
        attributes: dict[str, Any] = {"rpc.system": "grpc"}
        if meta.service:
            attributes.update({"rpc.service": meta.service, "rpc.method": meta.method})
        attributes.update(self._peer)
        return Method(meta, attributes)

    def unsampled_server(self, context) -> Context | Early | None:
        """The decision for a server call, made before anything is built for it.

        A Context: the call is not sampled, and its handler runs with that context current; there is
        no span to end. Otherwise hand the answer to start_server(): an Early is the caller's span
        context as read from the metadata and the sampled trace id decided on (None when the trust
        policy or the sampler has to be asked); None means the metadata carries more than a lone
        traceparent, or the propagators are not W3C, and is read the general way.
        """
        parent = remote_parent(context.invocation_metadata() or ())
        if parent is None:
            return None
        trust = (self._trust or CONFIGURED_TRUST.policy).constant
        if trust is None:
            return Early(parent, None)
        decided = self.starter.decide(parent if trust else INVALID_SPAN_CONTEXT)
        if decided.__class__ is SpanContext:
            span = NEW_SPAN(NonRecordingSpan)  # NonRecordingSpan(decided), a Python call fewer
            span._context = decided
            return Context({SPAN_KEY: span})  # what with_span() makes here
        return Early(parent, decided)

    def start_server(
        self, method: Method, context, request: object = STREAMED, decision: Context | Early | None = None
    ) -> Reporter:
        """The server span for a call, its parent (or link) taken from the caller's metadata, or from
        what unsampled_server() read of it already (`decision`). A call it found not sampled gets a
        reporter that enters that context and ends nothing."""
        if decision.__class__ is Context:
            return Reporter(INVALID_SPAN, decision, True, False, recording=False)
        metadata = context.invocation_metadata() or ()
        trace_id = None
        if decision is None:
            extracted = extract_metadata(metadata)
        else:
            remote, trace_id = decision
            extracted = (
                _EMPTY if remote is INVALID_SPAN_CONTEXT else Context({SPAN_KEY: NonRecordingSpan(remote)})
            )
        policy = self._trust or CONFIGURED_TRUST.policy
        if policy.constant is True:
            parent, links = extracted, ()
        else:
            parent, links = policy.parent_and_links(extracted, lambda: _caller(context, metadata))
        span = self.starter.start(
            method.name, parent, SpanKind.SERVER, method.attributes, links, trace_id=trace_id
        )
        recording = span.__class__ is not NonRecordingSpan and span.is_recording()
        call = Reporter(span, with_span(span, parent), True, self._events, recording)
        if call.recording:
            span.set_attributes(client_attributes(context.peer()))
            if request is not STREAMED:  # guarded here: a call each, on every sampled request
                if call.events:
                    call.on_receive(request)
                if self._hook is not None:
                    self._annotate(span, method, request)
        return call

    def start_client(
        self,
        method: Method,
        metadata: Iterable | None,
        request: object = STREAMED,
        decided: object = _UNDECIDED,
    ):
        """The client span for a call under the current context, and the metadata to send with it.
        A call that is not sampled gets a reporter that records nothing and no span at all: only
        its span context, in the metadata. `decided`: what child_traceparent() already answered
        for this call under the current context."""
        context = current()
        if decided is _UNDECIDED:
            decided = child_traceparent(self.starter, context)
        if decided.__class__ is str:  # not sampled, and the traceparent is all there is to send
            if not metadata:
                return _NOT_RECORDING, [("traceparent", decided)]
            carrier = list(metadata)
            METADATA_SETTER.set(carrier, "traceparent", decided)  # as inject_metadata() would
            return _NOT_RECORDING, carrier
        carrier = list(metadata) if metadata else []
        if decided.__class__ is SpanContext:
            inject_metadata(carrier, decided, context)
            return _NOT_RECORDING, carrier
        span = self.starter.start(method.name, context, SpanKind.CLIENT, method.attributes, trace_id=decided)
        inject_metadata(carrier, span.get_span_context(), context)
        if span.__class__ is NonRecordingSpan:
            return _NOT_RECORDING, carrier
        call = Reporter(span, context, False, self._events)
        if call.recording and request is not STREAMED:
            if call.events:
                call.on_send(request)
            if self._hook is not None:
                self._annotate(span, method, request)
        return call, carrier

    def _annotate(self, span, method: Method, request: object) -> None:
        if self._hook is None:
            return
        extra = safe_invoke(self._hook, method.meta, request)
        if isinstance(extra, Mapping) and extra:
            span.set_attributes(extra)


def _caller(context, metadata: Iterable[tuple[str, object]]) -> Caller:
    def header(name: str) -> str | None:
        return next((v for k, v in metadata if k == name and isinstance(v, str)), None)

    return Caller("grpc", context.peer(), header, context)
