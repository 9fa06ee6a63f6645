"""Start spans so that an unsampled request never builds an SDK span.

The SDK's Tracer.start_span asks the sampler and then, for a sampled decision, builds a `_Span`.
Most production requests are not sampled (Kubernetes recommends ~100 per million), so this starter
asks the tracer provider's own sampler first and, when the answer is "do not record", returns a
NonRecordingSpan whose SpanContext is exactly what the SDK would have produced (same trace id
rule, fresh span id, flags, trace state). A recording decision is handed to the SDK unchanged:
our tracer's sampler and id generator replay the decision already made, so the sampler is asked
once per span and the SDK builds the span as usual. Under a Context marked as a forced trace
(tracing/_forced.py) the decision is "sampled" whatever the sampler, and the span says so.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Sequence
from random import getrandbits as _random_bits

from opentelemetry import trace as trace_api
from opentelemetry.context import Context
from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
from opentelemetry.sdk.trace.id_generator import IdGenerator, RandomIdGenerator
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace import (
    INVALID_SPAN_CONTEXT,
    Link,
    NonRecordingSpan,
    SpanContext,
    SpanKind,
)
from opentelemetry.trace.span import DEFAULT_TRACE_STATE
from opentelemetry.util.types import Attributes

from ._decisions import (
    LOCAL_NOT_SAMPLED,
    LOCAL_SAMPLED,
    LOW_64,
    REMOTE_NOT_SAMPLED,
    REMOTE_SAMPLED,
    ROOT,
    Bounds,
    sampler_bounds,
)
from ._forced import FORCED_ATTRIBUTE, FORCED_KEY
from ._otel_private import (
    BAGGAGE_KEY,
    FLAGS,
    IS_REMOTE,
    IS_VALID,
    PLAIN_SPANS,
    RANDOM_FLAG,
    SPAN_KEY,
    TRACE_FLAGS,
    TRACE_ID,
    TRACE_STATE,
    current,
    global_textmap,
    global_tracer_provider,
    new,
    span_context_in,
    span_context_of,
    tracer_enabled,
)
from .propagation._metadata_w3c import W3C_ONLY

_DROP, _SAMPLE = Decision.DROP, Decision.RECORD_AND_SAMPLE
_FORCED_ONLY = {FORCED_ATTRIBUTE: True}


class _Replay(threading.local):
    pending: tuple[int, SamplingResult] | None = None


class _ReplaySampler(Sampler):
    """Returns the decision the starter already made for this span; otherwise asks the real sampler."""

    def __init__(self, inner: Sampler, replay: _Replay):
        self.inner, self._replay = inner, replay

    def should_sample(
        self, parent_context, trace_id, name, kind=None, attributes=None, links=None, trace_state=None
    ):
        pending = self._replay.pending
        if pending is not None and pending[0] == trace_id:
            return pending[1]
        return self.inner.should_sample(parent_context, trace_id, name, kind, attributes, links)

    def get_description(self) -> str:
        return self.inner.get_description()


class _ReplayIds(IdGenerator):
    """Hands the SDK the trace id the starter generated for a root span already sampled on it."""

    def __init__(self, inner: IdGenerator, replay: _Replay):
        self.inner, self._replay = inner, replay

    def generate_span_id(self) -> int:
        return self.inner.generate_span_id()

    def generate_trace_id(self) -> int:
        pending = self._replay.pending
        return pending[0] if pending is not None else self.inner.generate_trace_id()

    def is_trace_id_random(self) -> bool:
        return self.inner.is_trace_id_random()


class _Bound:
    """What the starter needs from one tracer provider, looked up once per provider."""

    __slots__ = (
        "bounds",
        "enabled",
        "ids",
        "key",
        "lean",
        "provider",
        "random_ids",
        "random_ids_fast",
        "replay",
        "sampler",
        "tracer",
    )

    def __init__(self, provider: trace_api.TracerProvider, scope: str, version: str):
        self.provider = self.key = provider
        self.tracer = provider.get_tracer(scope, version)
        self.sampler = self.ids = self.replay = self.bounds = None
        self.enabled = True
        self.random_ids = 0
        self.random_ids_fast = False
        # kubetrace's own tracers start a decided recording span directly (tracing._lean), no replay.
        self.lean = getattr(self.tracer, "start_decided", None)
        if isinstance(provider, SdkTracerProvider) and hasattr(self.tracer, "sampler"):
            self._take_over_decisions()

    def _take_over_decisions(self) -> None:
        tracer = self.tracer
        if not isinstance(tracer.sampler, _ReplaySampler):
            replay = _Replay()
            tracer.sampler = _ReplaySampler(tracer.sampler, replay)
            tracer.id_generator = _ReplayIds(tracer.id_generator, replay)
        self.replay = tracer.sampler._replay
        self.sampler = tracer.sampler.inner
        self.ids = tracer.id_generator.inner
        self.bounds: Bounds | None = sampler_bounds(self.sampler)
        self.random_ids = RANDOM_FLAG if RANDOM_FLAG and self.ids.is_trace_id_random() else 0
        # The SDK's RandomIdGenerator is random.getrandbits in a loop that skips 0: call getrandbits
        # directly and leave the (2**-64 likely) zero to the generator itself.
        self.random_ids_fast = type(self.ids) is RandomIdGenerator
        self.enabled = tracer_enabled(tracer)


class SpanStarter:
    """Starts spans for one instrumentation scope on the current (or a given) tracer provider.

    Works with any provider: for an SDK provider the not-sampled path is the fast one above; for
    anything else (the API's no-op provider when the SDK is disabled, a vendor provider) it simply
    calls tracer.start_span, which still propagates the parent context.
    """

    __slots__ = ("_bound", "_fixed", "_scope", "_version", "decide", "decide_client")

    def __init__(
        self, scope: str, version: str = "", tracer_provider: trace_api.TracerProvider | None = None
    ):
        self._scope, self._version, self._fixed = scope, version, tracer_provider
        self._bound: _Bound | None = None
        # decision()'s two forms as callables for those who hold one (Instrumentation.decide and
        # decide_client): C-level partials, one Python call each. Code of the core calls decision().
        self.decide: Callable[[SpanContext | Context], SpanContext | int | None] = functools.partial(
            SpanStarter.decision, self, False
        )
        self.decide_client: Callable[[Context], str | SpanContext | int | None] = functools.partial(
            SpanStarter.decision, self, True
        )

    def _current(self) -> _Bound:
        provider = self._fixed or trace_api.get_tracer_provider()
        bound = self._bound
        if bound is None or bound.provider is not provider:
            bound = _Bound(provider, self._scope, self._version)
        # What decision() and start() compare on every call: the global as it stands (None until a
        # provider is set, when `provider` is the API's proxy), read by a C call.
        bound.key = self._fixed or global_tracer_provider()
        self._bound = bound
        return bound

    def decision(self, traceparent: bool, parent: SpanContext | Context) -> str | SpanContext | int | None:
        """start()'s sampling decision alone, for a span whose parent has span context `parent`
        (INVALID_SPAN_CONTEXT for a root) or is the span in the Context `parent`, without building
        anything when it is "not sampled". decide(parent) is decision(False, parent):

        - a SpanContext: not sampled; NonRecordingSpan(it) is exactly the span start() returns;
        - an int: sampled; pass it to start() as trace_id and the decision is not made again
          (for a root it is the trace id the decision was made on);
        - None: no decision here (not the SDK, or a sampler that is asked); call start().

        Under a Context marked as a forced trace (tracing/_forced.py) the answer is "sampled".

        decide_client(context) is decision(True, context): a "not sampled" decision whose W3C
        traceparent is all the configured propagators would write (tracecontext,baggage, no baggage
        in the context, no trace state) comes as that traceparent, a str, what a client sends: an
        unsampled client call costs one Python call here. tests/unit/test_propagation_metadata.py
        holds it to decide() and inject().
        """
        b = self._bound
        if b is None or b.key is not (self._fixed or global_tracer_provider()):
            b = self._current()
        bounds = b.bounds
        if bounds is None or not b.enabled:
            return None
        context = None
        if parent.__class__ is not SpanContext:  # a Context: a client call's, the current one
            context = parent
            span = parent.get(SPAN_KEY)
            if span is None:
                parent = INVALID_SPAN_CONTEXT
            elif span.__class__ in PLAIN_SPANS:
                parent = span_context_of(span)  # span_context_in() inlined: two Python calls fewer
            else:
                parent = span_context_in(parent)
        if parent[IS_VALID]:
            trace_id = parent[TRACE_ID]
            flags = parent[TRACE_FLAGS]
            if parent[IS_REMOTE]:
                bound = bounds[REMOTE_SAMPLED if flags & 1 else REMOTE_NOT_SAMPLED]
            else:
                bound = bounds[LOCAL_SAMPLED if flags & 1 else LOCAL_NOT_SAMPLED]
            if trace_id & LOW_64 < bound:
                return trace_id
            flags, state = FLAGS[flags & RANDOM_FLAG], parent[TRACE_STATE]
        else:
            trace_id = (b.random_ids_fast and _random_bits(128)) or b.ids.generate_trace_id()
            if trace_id & LOW_64 < bounds[ROOT]:
                return trace_id
            flags, state = FLAGS[b.random_ids], DEFAULT_TRACE_STATE
        if context is not None and context.get(FORCED_KEY) is True:
            return trace_id
        span_id = (b.random_ids_fast and _random_bits(64)) or b.ids.generate_span_id()
        # The identity first: len() of a trace state is a Python call.
        if traceparent and (state is DEFAULT_TRACE_STATE or not state) and not context.get(BAGGAGE_KEY):
            textmap = global_textmap()
            if W3C_ONLY.w3c if textmap is W3C_ONLY.textmap else W3C_ONLY.check(textmap):
                # %-formatting: the same text as the propagator's f-string, at half its cost.
                return "00-%032x-%016x-%02x" % (trace_id, span_id, flags)  # noqa: UP031
        # new() without its call: both ids are valid here (a zero draw fell through to the generator).
        return tuple.__new__(SpanContext, (trace_id, span_id, False, flags, state, True))

    def start(
        self,
        name: str,
        parent: Context | None,
        kind: SpanKind,
        attributes: Attributes = None,
        links: Sequence[Link] = (),
        start_time: int | None = None,
        trace_id: int | None = None,
    ) -> trace_api.Span:
        """Start (not activate) a span under `parent` (None: the current context); the caller ends it.

        `trace_id` is what decide() returned for this span when it said "sampled". Under a Context
        marked as a forced trace the span is sampled, whatever the sampler, and carries the
        kubetrace.sampling.forced attribute."""
        b = self._bound
        if b is None or b.key is not (self._fixed or global_tracer_provider()):
            b = self._current()
        if b.sampler is None:
            span = b.tracer.start_span(name, parent, kind, attributes, links, start_time)
            if span.get_span_context().is_valid:
                return span
            # opentelemetry-api < 1.40's no-op tracer (OTEL_SDK_DISABLED) returns INVALID_SPAN and so
            # drops the incoming context; a disabled kubetrace still propagates it, as later APIs do.
            return NonRecordingSpan(span_context_in(parent))
        context = current() if parent is None else parent
        parent_ctx = span_context_in(context)
        if not b.enabled:
            return NonRecordingSpan(parent_ctx)
        valid_parent = parent_ctx[IS_VALID]
        if context.get(FORCED_KEY) is True:
            if valid_parent:
                trace_id = parent_ctx[TRACE_ID]
            elif trace_id is None:
                trace_id = (b.random_ids_fast and _random_bits(128)) or b.ids.generate_trace_id()
            forced = {**attributes, FORCED_ATTRIBUTE: True} if attributes else _FORCED_ONLY
            result = SamplingResult(_SAMPLE, forced, parent_ctx[TRACE_STATE] if valid_parent else None)
        elif b.bounds is not None:  # what the SDK's static, ratio and parent-based samplers return
            decided = self.decision(False, parent_ctx) if trace_id is None else trace_id
            if decided.__class__ is SpanContext:
                return NonRecordingSpan(decided)
            trace_id, result = decided, None
        else:  # a sampler we cannot reduce to bounds: ask it
            if valid_parent:
                trace_id = parent_ctx[TRACE_ID]
                random_id = parent_ctx[TRACE_FLAGS] & RANDOM_FLAG
            else:
                trace_id = (b.random_ids_fast and _random_bits(128)) or b.ids.generate_trace_id()
                random_id = b.random_ids
            result = b.sampler.should_sample(parent, trace_id, name, kind, attributes, links)
            if result.decision is _DROP:  # the one decision that does not record (and so is not sampled)
                span_id = (b.random_ids_fast and _random_bits(64)) or b.ids.generate_span_id()
                return NonRecordingSpan(new(trace_id, span_id, False, FLAGS[random_id], result.trace_state))
        if b.lean is not None:  # result None: sampled by the bounds
            span = b.lean(name, parent_ctx, kind, attributes, links, start_time, trace_id, result)
            if span is not None:
                return span
        if result is None:
            result = SamplingResult(_SAMPLE, attributes, parent_ctx[TRACE_STATE] if valid_parent else None)
        b.replay.pending = (trace_id, result)
        try:
            return b.tracer.start_span(name, parent, kind, attributes, links, start_time)
        finally:
            b.replay.pending = None
