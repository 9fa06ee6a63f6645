"""Sampling strategies as Jaeger defines them: plain, immutable data, shared by the file and the wire."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

PROBABILISTIC = "probabilistic"
RATE_LIMITING = "ratelimiting"


@dataclass(frozen=True)
class OperationSampling:
    """Per-operation (span name) probabilities, Jaeger's PerOperationSamplingStrategies."""

    default_probability: float  # for operations not listed
    default_lower_bound: float = 0.0  # traces per second guaranteed to each operation; 0 = no guarantee
    operations: tuple[tuple[str, float], ...] = ()  # (operation, probability) in file order

    def describe(self) -> str:
        text = f"{len(self.operations)} operations, others probabilistic {self.default_probability:g}"
        if self.default_lower_bound:
            text += f", at least {self.default_lower_bound:g}/s per operation"
        return text


@dataclass(frozen=True)
class Strategy:
    """How one service samples new traces, Jaeger's SamplingStrategyResponse.

    When `operation_sampling` is set it decides, whatever `type` says: Jaeger's Go and Java clients
    apply operation sampling first, so a rate limit next to it is never used.
    """

    type: str  # PROBABILISTIC or RATE_LIMITING
    param: float  # a probability, or traces per second
    operation_sampling: OperationSampling | None = None

    def describe(self) -> str:
        own = (
            f"probabilistic {self.param:g}"
            if self.type == PROBABILISTIC
            else f"ratelimiting {self.param:g}/s"
        )
        ops = self.operation_sampling
        if ops is None:
            return own
        if self.type == RATE_LIMITING:
            return f"per operation: {ops.describe()} ({own} unused: operation sampling wins)"
        return f"per operation: {ops.describe()}"


@dataclass(frozen=True)
class Strategies:
    """A whole strategies file after Jaeger's merge: the default and each named service's strategy."""

    default: Strategy
    services: Mapping[str, Strategy] = field(default_factory=lambda: MappingProxyType({}))

    def for_service(self, service: str) -> Strategy:
        """The strategy Jaeger would serve to `service`: its own, else the default."""
        return self.services.get(service, self.default)
