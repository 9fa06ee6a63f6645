"""LeanTracerProvider: the SDK's TracerProvider, whose tracers start LeanSpans that hand their records
straight to the export pipeline, for as long as that pipeline is its only span processor.

Sampling, ids, trace flags and trace state are decided exactly as the SDK's Tracer.start_span
decides them, with the provider's sampler and id generator; only the recording span differs. A
user who adds a SpanProcessor gets SDK spans (ReadableSpan in on_end) from then on, and so does a
process with the SDK's internal metrics turned on: the SDK path is slower, but the same.

The provider's tracers are the SDK's own Tracer objects, turned into LeanTracers (a subclass that
only adds attributes and overrides start_span) when first handed out, so that every SDK behaviour
of get_tracer (scope caching, tracer configurator, resource updates after a fork) stays the SDK's.
That, and the SDK Tracer state a LeanTracer reads (_span_limits, _instrumentation_scope), are checked once, here, at import: an SDK that changed them makes kubetrace refuse to
import with a message, rather than misbehave.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from random import getrandbits

from opentelemetry import trace as trace_api
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, Tracer, TracerProvider
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace import INVALID_SPAN_CONTEXT, Link, NonRecordingSpan, SpanContext, SpanKind
from opentelemetry.trace.span import DEFAULT_TRACE_STATE
from opentelemetry.util import types

from .._decisions import LOW_64, bound_for, sampler_bounds
from .._otel_private import (
    FLAGS,
    IS_VALID,
    RANDOM_FLAG,
    TRACE_FLAGS,
    TRACE_ID,
    TRACE_STATE,
    span_context_in,
)
from ..export._pipeline import ExportPipeline
from ..export._processor import RecordProcessor
from ._limits import Limits
from ._span import LeanSpan

_SAMPLE = Decision.RECORD_AND_SAMPLE


class LeanTracer(Tracer):
    """An SDK Tracer whose recording spans are LeanSpans (see the module docstring)."""

    def _make_lean(self, provider: LeanTracerProvider) -> None:
        self.provider = provider
        self.limits = Limits(self._span_limits)
        self.scope = self._instrumentation_scope
        self.put = provider.pipeline.put
        # Read before SpanStarter may wrap id_generator: the generator that draws this tracer's ids.
        self._ids = self.id_generator
        self._fast_ids = type(self._ids) is RandomIdGenerator
        self._random_root = RANDOM_FLAG if RANDOM_FLAG and self._ids.is_trace_id_random() else 0
        # The SDK's plain samplers reduced to trace-id bounds, as SpanStarter does (see tracing._decisions).
        self._bounds = sampler_bounds(self.sampler)
        self._enabled = getattr(self, "_is_enabled", None)  # the SDK's tracer configurator, where it has one

    def start_span(
        self,
        name: str,
        context: Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: types.Attributes = None,
        links: Sequence[Link] | None = (),
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
    ) -> trace_api.Span:
        if not self.provider.lean:
            return super().start_span(
                name, context, kind, attributes, links, start_time, record_exception, set_status_on_exception
            )
        links = links or ()
        parent = span_context_in(context)
        if self._enabled is not None and not self._enabled():
            return NonRecordingSpan(parent)
        if parent[IS_VALID]:
            trace_id = parent[TRACE_ID]
            random = parent[TRACE_FLAGS] & RANDOM_FLAG
        else:
            parent = None
            trace_id = (self._fast_ids and getrandbits(128)) or self._ids.generate_trace_id()
            random = self._random_root
        if self._bounds is not None:  # one of the SDK's plain samplers: its decision without asking it
            sampled = 1 if trace_id & LOW_64 < bound_for(self._bounds, parent or INVALID_SPAN_CONTEXT) else 0
            recording = sampled
            state = DEFAULT_TRACE_STATE if parent is None else parent[TRACE_STATE]
        else:
            result = self.sampler.should_sample(context, trace_id, name, kind, attributes, links)
            sampled = 1 if result.decision is _SAMPLE else 0
            recording = result.decision is not Decision.DROP
            state = DEFAULT_TRACE_STATE if result.trace_state is None else result.trace_state
            attributes = result.attributes
        span_id = (self._fast_ids and getrandbits(64)) or self._ids.generate_span_id()
        span_context = tuple.__new__(
            SpanContext, (trace_id, span_id, False, FLAGS[sampled | random], state, True)
        )
        if not recording:
            return NonRecordingSpan(span_context)
        on_exception = (record_exception, set_status_on_exception)
        return LeanSpan(self, name, span_context, parent, kind, attributes, links, start_time, on_exception)

    def start_decided(
        self,
        name: str,
        parent: SpanContext,
        kind: SpanKind,
        attributes: types.Attributes,
        links: Sequence[Link] | None,
        start_time: int | None,
        trace_id: int,
        result: SamplingResult | None,
    ) -> LeanSpan | None:
        """Start the recording span SpanStarter already decided on, without asking the sampler again:
        `result` is what the sampler answered, or None when the starter's bounds said "sampled"
        (then the trace state is the parent's). `parent` is INVALID_SPAN_CONTEXT for a root.
        None when this provider must build SDK spans (a user's span processor is registered)."""
        if not self.provider.lean:
            return None
        valid = parent[IS_VALID]
        if result is None:
            state = parent[TRACE_STATE] if valid else DEFAULT_TRACE_STATE
            sampled = 1
        else:
            attributes = result.attributes
            state = DEFAULT_TRACE_STATE if result.trace_state is None else result.trace_state
            sampled = 1 if result.decision is _SAMPLE else 0
        random = parent[TRACE_FLAGS] & RANDOM_FLAG if valid else self._random_root
        span_id = (self._fast_ids and getrandbits(64)) or self._ids.generate_span_id()
        span_context = tuple.__new__(
            SpanContext, (trace_id, span_id, False, FLAGS[sampled | random], state, True)
        )
        return LeanSpan(
            self, name, span_context, parent if valid else None, kind, attributes, links, start_time
        )


class LeanTracerProvider(TracerProvider):
    """The tracer provider setup() installs; see the module docstring."""

    def __init__(
        self,
        pipeline: ExportPipeline,
        *,
        sampler: Sampler,
        resource: Resource,
        shutdown_timeout_s: float,
    ):
        super().__init__(sampler=sampler, resource=resource, shutdown_on_exit=False)
        self.pipeline = pipeline
        super().add_span_processor(RecordProcessor(pipeline, shutdown_timeout_s))
        self.lean = True
        # Every tracer handed out, for a resource replaced after a fork (tracing/_resource.py): older
        # SDKs keep no list of their tracers.
        self.handed_out: weakref.WeakSet[Tracer] = weakref.WeakSet()

    def add_span_processor(self, span_processor: SpanProcessor) -> None:
        """Add a span processor; from now on spans are SDK spans, so it sees each one in on_start and
        on_end (a ReadableSpan), as with any SDK provider."""
        self.lean = False
        super().add_span_processor(span_processor)

    def get_tracer(self, *args, **kwargs) -> trace_api.Tracer:
        tracer = super().get_tracer(*args, **kwargs)
        if type(tracer) is Tracer:
            if _records_sdk_metrics(tracer):
                self.lean = (
                    False  # a process setting, the same for every tracer: SDK spans, which record them
                )
            tracer.__class__ = LeanTracer
            tracer._make_lean(self)
        self.handed_out.add(tracer)
        return tracer


def _records_sdk_metrics(tracer: Tracer) -> bool:
    """Whether this SDK tracer records the SDK's internal metrics (otel.sdk.span.*, when
    OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED is set); the lean path records none."""
    metrics = getattr(tracer, "_tracer_metrics", None)
    return metrics is not None and type(metrics).__name__ != "NoOpTracerMetrics"


def _check_sdk() -> None:
    provider = TracerProvider(shutdown_on_exit=False)
    tracer = provider.get_tracer("kubetrace-check", "1")
    if type(tracer) is not Tracer:
        return  # OTEL_SDK_DISABLED: the SDK hands out no-op tracers, and no tracer is made lean
    try:
        tracer.__class__ = LeanTracer
        readable = (tracer._span_limits.max_span_attributes, tracer._instrumentation_scope.name)
    except (AttributeError, TypeError) as err:
        raise ImportError(
            "kubetrace: this opentelemetry-sdk's Tracer is not the one kubetrace's lean spans extend "
            f"({err}); install an opentelemetry-sdk version kubetrace supports (see pyproject.toml)"
        ) from None
    if readable[1] != "kubetrace-check":
        raise ImportError(
            "kubetrace: this opentelemetry-sdk's Tracer keeps its scope elsewhere; see pyproject.toml"
        )


_check_sdk()
