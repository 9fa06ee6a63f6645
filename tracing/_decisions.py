"""The SDK's own samplers reduced to numbers: five bounds a trace id is compared with.

ParentBased, TraceIdRatioBased and the static samplers decide from nothing but the parent's flags
and the trace id, yet each should_sample looks the parent up again and builds a SamplingResult:
about ten calls per span, on the path nearly every production request takes (not sampled).
A ratio sampler samples when `trace_id & (2**64 - 1) < bound`; ALWAYS_ON is the bound 2**64 and
ALWAYS_OFF the bound 0, so a ParentBased of such samplers is five bounds, one per kind of parent,
and a plain one is the same bound five times. Only those exact types are reduced, from the state
their should_sample reads; any other sampler (ours, a vendor's, a subclass, nested ParentBased)
gets None and is asked as usual. The delegates and decisions are read from the samplers' private
state, through tracing/_otel_private.py.
"""

from __future__ import annotations

from opentelemetry.sdk.trace.sampling import (
    Decision,
    ParentBased,
    ParentBasedTraceIdRatio,
    Sampler,
    StaticSampler,
    TraceIdRatioBased,
)

from ._otel_private import IS_REMOTE, IS_VALID, TRACE_FLAGS, parent_based_delegates, static_decision

# Which parent picks which bound: (root, remote sampled, remote not sampled, local sampled, local not sampled).
ROOT, REMOTE_SAMPLED, REMOTE_NOT_SAMPLED, LOCAL_SAMPLED, LOCAL_NOT_SAMPLED = range(5)
Bounds = tuple[int, int, int, int, int]
LOW_64 = TraceIdRatioBased.TRACE_ID_LIMIT
_ALL = LOW_64 + 1


def sampler_bounds(sampler: Sampler) -> Bounds | None:
    """`sampler` as five bounds, or None when it is not one of the SDK's plain samplers."""
    kind = type(sampler)
    if kind is ParentBased or kind is ParentBasedTraceIdRatio:
        bounds = tuple(_bound(d) for d in parent_based_delegates(sampler))
        return None if None in bounds else bounds
    bound = _bound(sampler)
    return None if bound is None else (bound,) * 5


def _bound(sampler: Sampler) -> int | None:
    kind = type(sampler)
    if kind is TraceIdRatioBased:
        return sampler.bound
    if kind is StaticSampler:
        decision = static_decision(sampler)
        return _ALL if decision is Decision.RECORD_AND_SAMPLE else 0 if decision is Decision.DROP else None
    return None


def bound_for(bounds: Bounds, parent: tuple) -> int:
    """The bound that applies under `parent` (a SpanContext). SpanStarter.decision() inlines this rule;
    the tests hold it to this function."""
    if not parent[IS_VALID]:
        return bounds[ROOT]
    sampled = parent[TRACE_FLAGS] & 1
    if parent[IS_REMOTE]:
        return bounds[REMOTE_SAMPLED if sampled else REMOTE_NOT_SAMPLED]
    return bounds[LOCAL_SAMPLED if sampled else LOCAL_NOT_SAMPLED]
