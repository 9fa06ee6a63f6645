"""The SDK's own samplers as plain functions of (parent span context, trace id) -> Decision.

ParentBased, TraceIdRatioBased and the static samplers decide from nothing but the parent's flags
and the trace id, yet each should_sample looks the parent up again and builds a SamplingResult:
about ten calls per span, on the path nearly every production request takes (not sampled). Only
those exact types are compiled, from the state their should_sample reads; any other sampler
(ours, a vendor's, a subclass) gets None and is asked as usual.
"""

from __future__ import annotations

from collections.abc import Callable

from opentelemetry.sdk.trace.sampling import (
    Decision,
    ParentBased,
    ParentBasedTraceIdRatio,
    Sampler,
    StaticSampler,
    TraceIdRatioBased,
)
from opentelemetry.trace import SpanContext

Decide = Callable[[SpanContext, int], Decision]

_LIMIT = TraceIdRatioBased.TRACE_ID_LIMIT
_SAMPLE = Decision.RECORD_AND_SAMPLE
_DROP = Decision.DROP


def compile_sampler(sampler: Sampler) -> Decide | None:
    """`sampler`'s decision as a function, or None when it is not one of the SDK's plain samplers."""
    kind = type(sampler)
    if kind is StaticSampler:
        decision = sampler._decision
        return lambda parent, trace_id: decision
    if kind is TraceIdRatioBased:
        bound = sampler.bound
        return lambda parent, trace_id: _SAMPLE if trace_id & _LIMIT < bound else _DROP
    if kind is ParentBased or kind is ParentBasedTraceIdRatio:
        return _parent_based(sampler)
    return None


def _parent_based(sampler: ParentBased) -> Decide | None:
    delegates = (
        sampler._root,
        sampler._remote_parent_sampled,
        sampler._remote_parent_not_sampled,
        sampler._local_parent_sampled,
        sampler._local_parent_not_sampled,
    )
    compiled = [compile_sampler(d) for d in delegates]
    if any(c is None for c in compiled):
        return None
    root, remote_sampled, remote_not_sampled, local_sampled, local_not_sampled = compiled

    def decide(parent: SpanContext, trace_id: int) -> Decision:
        if not parent.is_valid:
            return root(parent, trace_id)
        if parent.is_remote:
            chosen = remote_sampled if parent.trace_flags & 1 else remote_not_sampled
        else:
            chosen = local_sampled if parent.trace_flags & 1 else local_not_sampled
        return chosen(parent, trace_id)

    return decide
