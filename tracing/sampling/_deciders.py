"""Strategy -> decider: the per-span decision by trace id and span name, and the tags that explain it.

Every decider answers `decide(trace_id, name)` with the tags to put on a sampled root span, or None
to drop. Probabilistic decisions use OpenTelemetry's TraceIdRatioBased bound on the low 64 bits of
the trace id, so a given trace id gets the same answer here as from the SDK's sampler (and from Go's,
but for ids right at the bound: Go compares the low 64 bits shifted right by one). Only rate limiters
take a lock, and per-operation state is created under one the first time an operation is seen.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Protocol

from opentelemetry.sdk.trace.sampling import TraceIdRatioBased

from ._model import PROBABILISTIC, RATE_LIMITING, OperationSampling, Strategy
from ._rate_limiter import RateLimiter

LOWER_BOUND = "lowerbound"
DEFAULT_MAX_OPERATIONS = 2000  # as jaeger-client-go: operations beyond it get the default probability
_LOW_64 = TraceIdRatioBased.TRACE_ID_LIMIT

Tags = Mapping[str, object]
Clock = Callable[[], float]


class Decider(Protocol):
    def decide(self, trace_id: int, name: str) -> Tags | None: ...


def tags(sampler_type: str, param: float) -> dict[str, object]:
    """Jaeger's sampler tags, twice: jaeger.* for people, sampler.* for Jaeger's adaptive sampling."""
    return {
        "jaeger.sampler.type": sampler_type,
        "jaeger.sampler.param": param,
        "sampler.type": sampler_type,
        "sampler.param": param,
    }


def compile_decider(
    strategy: Strategy, clock: Clock, max_operations: int, previous: Decider | None = None
) -> Decider:
    """The decider for `strategy`; rate limiters of `previous` carry over where the strategy allows."""
    if strategy.operation_sampling is not None:
        earlier = previous if isinstance(previous, _PerOperation) else None
        return _PerOperation(strategy.operation_sampling, clock, max_operations, earlier)
    if strategy.type == PROBABILISTIC:
        return _Probabilistic(strategy.param)
    if strategy.param <= 0:
        return _Never()  # Go's limiter would still let one trace through at start; 0 means none here
    return _RateLimiting(RateLimiter(strategy.param, clock))


class _Never:
    __slots__ = ()

    def decide(self, trace_id: int, name: str) -> Tags | None:
        return None


class _Probabilistic:
    __slots__ = ("bound", "probability", "tags")

    def __init__(self, probability: float):
        self.probability = probability
        self.bound = TraceIdRatioBased.get_bound_for_rate(probability)
        self.tags = tags(PROBABILISTIC, probability)

    def decide(self, trace_id: int, name: str) -> Tags | None:
        return self.tags if trace_id & _LOW_64 < self.bound else None


class _RateLimiting:
    __slots__ = ("limiter", "tags")

    def __init__(self, limiter: RateLimiter):
        self.limiter = limiter
        self.tags = tags(RATE_LIMITING, float(limiter.per_second))

    def decide(self, trace_id: int, name: str) -> Tags | None:
        return self.tags if self.limiter.check_credit() else None


class _Guaranteed:
    """Jaeger's GuaranteedThroughputProbabilisticSampler: the probability, or else the lower bound."""

    __slots__ = ("bound", "limiter", "lower_tags", "tags")

    def __init__(self, probability: float, limiter: RateLimiter):
        self.bound = TraceIdRatioBased.get_bound_for_rate(probability)
        self.limiter = limiter
        self.tags = tags(PROBABILISTIC, probability)
        self.lower_tags = tags(LOWER_BOUND, probability)  # Jaeger's clients report the probability here too

    def decide(self, trace_id: int, name: str) -> Tags | None:
        if trace_id & _LOW_64 < self.bound:
            self.limiter.check_credit()  # as in Go: traces sampled anyway count towards the lower bound
            return self.tags
        return self.lower_tags if self.limiter.check_credit() else None


class _PerOperation:
    """A decider per span name; names not listed get the default probability (and the lower bound)."""

    __slots__ = ("_by_name", "_clock", "_default", "_lock", "_lower_bound", "_max")

    def __init__(
        self, ops: OperationSampling, clock: Clock, max_operations: int, previous: _PerOperation | None
    ):
        self._default = _Probabilistic(ops.default_probability)
        self._lower_bound = ops.default_lower_bound
        self._clock, self._max, self._lock = clock, max_operations, threading.Lock()
        kept = previous.limiters(self._lower_bound) if previous is not None else {}
        self._by_name = {name: self._rule(p, kept.get(name)) for name, p in ops.operations}

    def decide(self, trace_id: int, name: str) -> Tags | None:
        rule = self._by_name.get(name)
        if rule is None:
            rule = self._unlisted(name)
        return rule.decide(trace_id, name)

    def limiters(self, lower_bound: float) -> dict[str, RateLimiter]:
        """Limiters worth keeping across an update, so that a new strategy does not refill them all."""
        if lower_bound != self._lower_bound:
            return {}
        with self._lock:
            rules = list(self._by_name.items())
        return {name: rule.limiter for name, rule in rules if isinstance(rule, _Guaranteed)}

    def _rule(self, probability: float, limiter: RateLimiter | None = None) -> _Probabilistic | _Guaranteed:
        if not self._lower_bound:
            return _Probabilistic(probability)
        return _Guaranteed(probability, limiter or RateLimiter(self._lower_bound, self._clock))

    def _unlisted(self, name: str) -> _Probabilistic | _Guaranteed:
        if not self._lower_bound:
            return self._default  # nothing to remember per operation
        with self._lock:
            rule = self._by_name.get(name)
            if rule is None:
                if len(self._by_name) >= self._max:
                    return self._default  # bounded memory against unbounded span names
                rule = self._by_name[name] = self._rule(self._default.probability)
            return rule
