"""An OpenTelemetry Sampler that decides by a Jaeger strategy which can be replaced while spans start."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from opentelemetry.context import Context
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace import Link, SpanKind, get_current_span
from opentelemetry.trace.span import TraceState
from opentelemetry.util.types import Attributes

from ._deciders import DEFAULT_MAX_OPERATIONS, Clock, Decider, compile_decider
from ._model import Strategy


class _Active:
    """The strategy in force and its decider, swapped as one reference so readers never see a mix."""

    __slots__ = ("decide", "decider", "strategy")

    def __init__(self, strategy: Strategy, decider: Decider):
        self.strategy = strategy
        self.decider = decider
        self.decide = decider.decide  # bound once: the hot path makes one attribute lookup


class StrategySampler(Sampler):
    """Base of the Jaeger samplers: subclasses fetch strategies and hand them to `_apply`."""

    def __init__(
        self,
        strategy: Strategy,
        *,
        clock: Clock = time.monotonic,
        max_operations: int = DEFAULT_MAX_OPERATIONS,
    ):
        self._clock = clock
        self._max_operations = max_operations
        self._update_lock = threading.Lock()  # serialises updates (poller thread vs. a manual reload)
        self._active = _Active(strategy, compile_decider(strategy, clock, max_operations))

    @property
    def strategy(self) -> Strategy:
        """The strategy deciding right now."""
        return self._active.strategy

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        parent = get_current_span(parent_context).get_span_context()
        tags = self._active.decide(trace_id, name)
        if parent.is_valid:
            # Tags describe how a trace was started, so only root spans carry them.
            decision = Decision.DROP if tags is None else Decision.RECORD_AND_SAMPLE
            return SamplingResult(decision, None if tags is None else attributes, parent.trace_state)
        if tags is None:
            return SamplingResult(Decision.DROP, None, None)
        return SamplingResult(
            Decision.RECORD_AND_SAMPLE, {**attributes, **tags} if attributes else tags, None
        )

    def get_description(self) -> str:
        return f"{type(self).__name__}{{{self.strategy.describe()}}}"

    def _apply(self, strategy: Strategy) -> bool:
        """Start deciding by `strategy`; False when it is the one in force already. Call under _update_lock."""
        if strategy == self._active.strategy:
            return False
        decider = compile_decider(strategy, self._clock, self._max_operations, self._active.decider)
        self._active = _Active(strategy, decider)
        return True
