"""The contract every adapter uses: decide, start a server or client call, report it, end it once.

An adapter (interceptors.grpc, interceptors.http, interceptors.k8s) knows how to reach its protocol's
request, its response and its end, and its semantic conventions: span names, attributes, and what
a protocol status means for the span (an outcome function). Everything else is written once, here:
the sampling decision and its unsampled fast path, the trust policy, forced (on-demand) traces,
message events, hooks, and ending a span exactly once. An adapter imports only this module's names
(and the carriers of tracing.propagation), never a private module of `tracing`.

A server call (the reconcile adapter in interceptors/k8s/_reconcile.py is the shortest example):

    core = Instrumentation("kubetrace.myproto", describe, caller=..., tracer_provider=..., trust_policy=...)
    decided = core.decide_server(carrier, getter, request)
    if decided.__class__ is Context:           # not sampled: run the handler in it, nothing to end
        token = attach(decided)
        try: handle()
        finally: detach(token)
        return
    call = core.start_server(Start(name, SpanKind.SERVER, attributes), decided)
    token = call.enter()
    try:
        result = handle()
    except BaseException as exc:
        call.fail(exc)                         # the protocol's outcome for an escaping exception
        raise
    finally:
        call.exit(token)
    call.end(status)                           # once; any later end() or fail() does nothing

A client call:

    context = current_context()
    decided = core.decide_client(context)     # a str / SpanContext: not sampled (see there)
    call = core.start_client(Start(name, SpanKind.CLIENT, attributes), context, decided)
    inject(carrier, setter, call.context)
    ... call.on_send(message); call.on_receive(message); call.end(status)

`describe(status, details, exception) -> Outcome` is the adapter's outcome function: status is the
protocol's own (a grpc.StatusCode, an HTTP status code, a reconcile result), None when the call
ended without one (an exception before or instead of it).

The hot-path primitives (current_context, attach, detach, remote_parent, the str / SpanContext
answers of decide_client) exist because inside a real RPC every Python call on the per-request path
costs about a microsecond: benchmarks/grpc_overhead.py and http_overhead.py measure them.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Mapping, MutableSequence, Sequence
from typing import Any, NamedTuple

from opentelemetry import trace as trace_api
from opentelemetry.context import Context
from opentelemetry.propagators.textmap import Getter, Setter
from opentelemetry.trace import (
    INVALID_SPAN,
    INVALID_SPAN_CONTEXT,
    Link,
    NonRecordingSpan,
    Span,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
)
from opentelemetry.util.types import AttributeValue

from . import propagation
from ._forced import FORCE_TRACE_HEADER, FORCE_TRACE_VALUE, FORCED_ATTRIBUTE, FORCED_KEY, marked
from ._hooks import safe_invoke
from ._lean import LeanSpan
from ._otel_private import (
    NEW_SPAN,
    SPAN_CONTEXT_SLOT,
    SPAN_KEY,
    SUPPRESS_HTTP_INSTRUMENTATION_KEY,
    SUPPRESS_INSTRUMENTATION_KEY,
    SdkSpan,
    attach,
    current,
    detach,
    non_recording_context,
    with_span,
)
from ._starter import SpanStarter
from .propagation import CONFIGURED_TRUST, METADATA_GETTER, METADATA_SETTER, Caller, TrustPolicy
from .propagation._metadata_w3c import inject_metadata as _inject_metadata
from .propagation._metadata_w3c import remote_parent

current_context: Callable[[], Context] = current
"""The current Context (one C call: the runtime context's ContextVar.get)."""

_EMPTY = Context()
_NO_LINKS: tuple[Link, ...] = ()
_RECORDING_WHEN_STARTED = frozenset((SdkSpan, LeanSpan))

__all__ = [
    "FORCED_ATTRIBUTE",
    "FORCE_TRACE_HEADER",
    "NOT_RECORDING",
    "Call",
    "Caller",
    "Describe",
    "Incoming",
    "Instrumentation",
    "Outcome",
    "Start",
    "attach",
    "current_context",
    "detach",
    "extract",
    "inject",
    "inject_metadata",
    "new_start",
    "remote_parent",
    "safe_invoke",
    "suppressed",
    "suppressing_nested_http",
    "unsampled_context",
]


class Start(NamedTuple):
    """What a call's span starts with. Build it once per method or route where you can: it is the
    sampler's input, and an adapter that caches it allocates nothing per call."""

    name: str
    kind: SpanKind
    attributes: Mapping[str, AttributeValue] | None = None
    links: Sequence[Link] = ()


# A NamedTuple's constructor is a Python call; tuple.__new__ of the class builds the same tuple in C.
# For the structures built on every call: the fields given in order, all of them.
new_start: Callable[[tuple[str, SpanKind, Mapping[str, AttributeValue] | None, Sequence[Link]]], Start] = (
    functools.partial(tuple.__new__, Start)
)
"""Start((name, kind, attributes, links)), built without a Python call: for an adapter that
makes one per call (a route's name, a peer's attributes)."""


class Outcome(NamedTuple):
    """How a call ended, in protocol-neutral terms: what the adapter's describe() returns."""

    error: bool  # the span's status is ERROR (with `description`)
    description: str | None = None
    exception: BaseException | None = None  # recorded on the span as an exception event
    attributes: Mapping[str, AttributeValue] | None = None  # final attributes (status codes, error.type)
    # The exception event's attributes where the protocol writes its own (redacted messages, say).
    exception_attributes: Mapping[str, AttributeValue] | None = None


Describe = Callable[[Any, "str | None", "BaseException | None"], Outcome]


class Incoming(NamedTuple):
    """decide_server()'s answer for a call it did not find unsampled: hand it to start_server()."""

    parent: Context  # the span's parent context: the caller's, or empty when untrusted or none
    links: Sequence[Link]  # the untrusted caller's span context, linked
    trace_id: int | None  # the sampled decision's trace id; None: start_server() decides


_incoming: Callable[[tuple[Context, Sequence[Link], int | None]], Incoming] = functools.partial(
    tuple.__new__, Incoming
)


class Call:
    """One call's span from start to end, fed by the adapter: enter()/exit() around handler code,
    on_send()/on_receive() per message, end() once with the protocol's status.

    end() may come from anywhere the call finishes (a done-callback, a generator's finally, an except
    clause, a finalizer, another thread): the first one counts, so a span is never ended twice. A call
    that does not record ends nothing, and costs nothing to end. Adapters may subclass it to keep
    their own per-call state (slots only)."""

    __slots__ = (
        "_describe",
        "_ended",
        "_held",
        "_received",
        "_sent",
        "context",
        "events",
        "recording",
        "span",
    )

    def __init__(self, span: Span, context: Context, owner: Instrumentation | None = None):
        self.span, self.context = span, context
        # A span the SDK or kubetrace's lean tracer just started records (is_recording() would be a
        # Python call to say so).
        span_class = span.__class__
        self.recording = recording = span_class in _RECORDING_WHEN_STARTED or (
            span_class is not NonRecordingSpan and span.is_recording()
        )
        self._describe = owner.describe if owner is not None else None
        self.events = recording and owner is not None and owner.message_events
        self._sent = self._received = 0
        # Acquired by the one end() that counts; an unsampled span has nothing to end.
        self._ended = threading.Lock() if recording else None
        self._held: _Held | None = None

    def enter(self) -> object:
        """Make the call's context current for handler code; returns the token for exit(), which
        the caller makes in the same frame, with no yield or await between (so in the same context)."""
        return attach(self.context)

    exit = staticmethod(detach)

    @property
    def ended(self) -> bool:
        """Whether end() has taken effect (always False for a call that does not record)."""
        return self._ended is not None and self._ended.locked()

    def on_send(self, message: object) -> None:
        """A message went out (with message events on: a "message" event, SENT)."""
        if self.events and not self._ended.locked():
            self._sent += 1
            self.span.add_event("message", _message("SENT", self._sent, message))

    def on_receive(self, message: object) -> None:
        """A message came in (with message events on: a "message" event, RECEIVED)."""
        if self.events and not self._ended.locked():
            self._received += 1
            self.span.add_event("message", _message("RECEIVED", self._received, message))

    def end(
        self, status: object = None, details: str | None = None, exception: BaseException | None = None
    ) -> None:
        """End the span with the outcome describe() gives for the protocol's `status`; only once."""
        ended = self._ended
        if ended is None:  # not recording: nothing to end
            return
        if self._held is not None and not self._held.end_now((status, details, exception)):
            return  # release() ends it
        if not ended.acquire(False):  # not blocking; positional: keywords cost a C call more
            return
        span = self.span
        outcome = self._describe(status, details, exception)
        if outcome.attributes:
            # One by one: the SDK cleans a mapping given to set_attributes() as a whole, value by
            # value through ABC checks, several times what set_attribute() costs for the one or two
            # attributes an outcome has.
            for key, value in outcome.attributes.items():
                span.set_attribute(key, value)
        if outcome.exception is not None:
            span.record_exception(outcome.exception, outcome.exception_attributes, escaped=True)
        if outcome.error:
            span.set_status(Status(StatusCode.ERROR, outcome.description))
        span.end()

    def fail(self, exception: BaseException) -> None:
        """End the span for an exception that ended the call before (or instead of) a protocol
        status; describe() says what that means in the protocol (gRPC: UNKNOWN or CANCELLED)."""
        self.end(None, None, exception)

    def hold(self) -> None:
        """Make end() wait for release(): a client's response stream has its status before the caller
        has read the last messages, and with message events their events belong on the span."""
        self._held = _Held()

    def release(self) -> None:
        """The caller is done with the response stream (read to the end, failed, or dropped it)."""
        outcome = self._held.release() if self._held is not None else None
        if outcome is not None:
            self.end(*outcome)


NOT_RECORDING = Call(INVALID_SPAN, _EMPTY)
"""A call with no span: what an unsampled client call needs (enter() it never; end() does nothing)."""


class _Held:
    """end() and release() in either order, from any thread: the second one ends the span."""

    __slots__ = ("_lock", "_outcome", "_released")

    def __init__(self):
        self._lock = threading.Lock()
        self._outcome: tuple | None = None
        self._released = False

    def end_now(self, outcome: tuple) -> bool:
        with self._lock:
            if self._outcome is None:
                self._outcome = outcome
            return self._released

    def release(self) -> tuple | None:
        with self._lock:
            first, self._released = not self._released, True
            return self._outcome if first else None


class Instrumentation:
    """One adapter instance's use of the core: its instrumentation scope and tracer provider, the
    trust policy for incoming context, message events, and the protocol's outcome function.

    tracer_provider: default the global one, looked up per call (so setup() may come later).
    trust_policy: default the one tracing.setup() configured (KUBETRACE_TRUST_INCOMING), read per
    call; TRUST_ALL when none is.
    caller: request -> Caller, how a trust predicate sees the caller of a server call (`request` is
    what the adapter hands decide_server()); asked only when the policy looks at the caller.

    decide(parent): the sampling decision for a span under `parent` (a span context,
    INVALID_SPAN_CONTEXT for a root, or the span in a Context), building nothing when it is "not
    sampled": a SpanContext, not sampled (NonRecordingSpan of it is the span); an int, sampled (its
    trace id, to hand to start_*() so that the decision is not made twice: a root decided twice, on
    two trace ids, would be sampled at the square of the rate); None, decided when the span starts
    (a sampler that must be asked, or not the SDK). A forced trace's context is always "sampled".

    decide_client(context): decide() for an outgoing call under `context`, and for its commonest
    case the whole answer: a str, not sampled and the W3C traceparent is all the configured
    propagators would send (send it as "traceparent", nothing else); a SpanContext, not sampled,
    send it with inject_metadata() or inject(carrier, setter, unsampled_context(it, context)); an
    int or None, start_client() with it.
    """

    __slots__ = ("_caller", "_starter", "_trust", "decide", "decide_client", "describe", "message_events")

    def __init__(
        self,
        scope: str,
        describe: Describe,
        *,
        version: str = "",
        tracer_provider: trace_api.TracerProvider | None = None,
        trust_policy: TrustPolicy | None = None,
        message_events: bool = False,
        caller: Callable[[Any], Caller] | None = None,
    ):
        self._starter = starter = SpanStarter(scope, version, tracer_provider)
        self._caller = caller or _unknown_caller
        self._trust, self.describe, self.message_events = trust_policy, describe, message_events
        # Attributes, not methods: asked on every request, where a method would add a Python frame.
        self.decide: Callable[[SpanContext | Context], SpanContext | int | None] = starter.decide
        self.decide_client: Callable[[Context], str | SpanContext | int | None] = starter.decide_client

    def decide_server(self, carrier: object, getter: Getter, request: object = None) -> Context | Incoming:
        """The decision for a call arriving with `carrier` (read through `getter`) under the trust
        policy; `request` is the protocol's own request, for the caller() a predicate looks at.

        An untrusted caller's context becomes a link on a new root, and nothing of it (baggage, a
        forced-trace request) reaches the handler. In gRPC-style metadata pairs (METADATA_GETTER) a
        lone W3C traceparent is read without the propagators' machinery (remote_parent()).

        A Context: the call is not sampled; run its handler with that context current, there is no
        span to end. An Incoming: start_server() it.
        """
        policy = self._trust or CONFIGURED_TRUST.policy
        trusted = policy.constant
        remote = remote_parent(carrier) if getter is METADATA_GETTER else None
        if remote is None:  # other carriers or propagators, or more than a lone traceparent
            extracted = extract(carrier, getter)
            if trusted is True:
                parent, links = extracted, _NO_LINKS
            else:
                parent, links = policy.parent_and_links(extracted, functools.partial(self._caller, request))
            decided = self._starter.decision(False, parent)
            if decided.__class__ is SpanContext:
                return unsampled_context(decided, parent)
            return _incoming((parent, links, decided))
        if trusted is None:
            trusted = policy.trusts(functools.partial(self._caller, request))
        decided = self._starter.decision(False, remote if trusted else INVALID_SPAN_CONTEXT)
        if decided.__class__ is SpanContext:  # non_recording_context(decided), inlined: every unsampled call
            span = NEW_SPAN(NonRecordingSpan)
            setattr(span, SPAN_CONTEXT_SLOT, decided)
            return Context({SPAN_KEY: span})
        if remote is INVALID_SPAN_CONTEXT:
            return _incoming((_EMPTY, _NO_LINKS, decided))
        if trusted:
            return _incoming((Context({SPAN_KEY: NonRecordingSpan(remote)}), _NO_LINKS, decided))
        return _incoming((_EMPTY, (Link(remote),), decided))

    def start_server(self, start: Start, incoming: Incoming | Context, call_type: type[Call] = Call) -> Call:
        """The call for what decide_server() answered: its span started under the incoming parent (or
        linked to it), current in call.context. A forced trace's span records whatever the sampler.
        For a Context (not sampled) it is a call that enters that context and ends nothing.

        When incoming.trace_id is an int the span is sampled already, and the sampler does not look
        at start.attributes: an adapter may put every attribute in them (one SDK call fewer than
        setting the rest after the start). Otherwise the sampler is asked with them, so they should
        be the sampling-relevant ones only, the rest set once call.recording says it records."""
        if incoming.__class__ is Context:
            return call_type(INVALID_SPAN, incoming)
        parent, links, trace_id = incoming
        name, kind, attributes, start_links = start
        span = self._starter.start(name, parent, kind, attributes, links or start_links, None, trace_id)
        return call_type(span, Context({**parent, SPAN_KEY: span}), self)  # with_span(), a frame fewer

    def start_client(
        self, start: Start, context: Context, decided: int | None = None, call_type: type[Call] = Call
    ) -> Call:
        """The call for an outgoing request under `context`, `decided` being what decide_client()
        answered (an int or None). Its span is current in call.context, which is what to inject."""
        name, kind, attributes, links = start
        span = self._starter.start(name, context, kind, attributes, links, None, decided)
        return call_type(span, Context({**context, SPAN_KEY: span}), self)  # with_span(), a frame fewer


def _unknown_caller(request: object) -> Caller:
    return Caller("unknown", None, lambda name: None, request)


def unsampled_context(decided: SpanContext, parent: Context) -> Context:
    """`parent` with the non-recording span of a "not sampled" decision as its current span."""
    if not parent:
        return non_recording_context(decided)
    return with_span(NonRecordingSpan(decided), parent)


def extract(carrier: object, getter: Getter) -> Context:
    """The context an incoming carrier holds, by the configured propagators (empty when none or
    garbage: never raises), marked when it asks for a forced trace (`kubetrace-force-trace: 1`)."""
    context = propagation.extract(carrier, getter)
    try:
        values = getter.get(carrier, FORCE_TRACE_HEADER)
    except Exception:  # a carrier is network input: never fail the request over it
        return context
    if values and values[0] == FORCE_TRACE_VALUE:
        return marked(context)
    return context


def inject(carrier: object, setter: Setter, context: Context) -> None:
    """Write `context` into an outgoing carrier with the configured propagators, and the forced-trace
    key when it belongs to a forced trace."""
    propagation.inject(carrier, setter, context)
    if context.get(FORCED_KEY) is True:
        setter.set(carrier, FORCE_TRACE_HEADER, FORCE_TRACE_VALUE)


def inject_metadata(
    carrier: MutableSequence[tuple[str, str]], span_context: SpanContext, context: Context
) -> None:
    """inject() for gRPC-style metadata pairs, with `span_context` as the current span of `context`
    (what propagators write), in one pass for the default W3C propagators."""
    _inject_metadata(carrier, span_context, context)
    if context.get(FORCED_KEY) is True:
        METADATA_SETTER.set(carrier, FORCE_TRACE_HEADER, FORCE_TRACE_VALUE)


def suppressed(context: Context) -> bool:
    """Whether instrumentation is switched off under `context`: OpenTelemetry's
    suppress_instrumentation(), or suppress_http_instrumentation(), which an outer HTTP client span
    sets for the transport underneath (ours below, and upstream instrumentations, honour both)."""
    return bool(context.get(SUPPRESS_HTTP_INSTRUMENTATION_KEY) or context.get(SUPPRESS_INSTRUMENTATION_KEY))


def suppressing_nested_http(context: Context) -> Context:
    """`context` in which a nested HTTP client instrumentation starts no second span."""
    return Context({**context, SUPPRESS_HTTP_INSTRUMENTATION_KEY: True})


def _message(direction: str, seq: int, message: object) -> dict[str, str | int]:
    event: dict[str, str | int] = {"message.type": direction, "message.id": seq}
    size = _size(message)
    if size is not None:
        event["message.uncompressed_size"] = size
    return event


def _size(message: object) -> int | None:
    byte_size = getattr(message, "ByteSize", None)  # protobuf messages
    if byte_size is not None:
        return byte_size()
    return len(message) if isinstance(message, (bytes, bytearray, memoryview, str)) else None
