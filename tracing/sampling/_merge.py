"""How Jaeger turns a strategies file into what it serves each service.

Follows Jaeger's file provider (internal/sampling/samplingstrategy/file/provider.go, the behaviour
that became the default in Jaeger v1.65/v2.2 with the fix of jaegertracing/jaeger#5270):

- no default_strategy: probabilistic 0.001 (Jaeger's --sampling.default-sampling-probability);
- a strategy's own operation strategies fall back to its own probability when it is probabilistic,
  else to 0.001; operation strategies never carry a lower bound from a file;
- a service without operation strategies takes a copy of the default's, keeping its own probability
  as the fallback when it is probabilistic;
- a service with operation strategies also gets each default operation it does not list, whatever
  its own type (before the fix, ratelimiting services were left out).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from types import MappingProxyType

from ._model import PROBABILISTIC, OperationSampling, Strategies, Strategy

DEFAULT_SAMPLING_PROBABILITY = 0.001


@dataclass(frozen=True)
class Written:
    """One strategy as the file writes it, before merging."""

    type: str
    param: float
    operations: tuple[tuple[str, float], ...] = ()


def merge(default: Written | None, services: Iterable[tuple[str, Written]]) -> Strategies:
    default_strategy = _own(default) if default else Strategy(PROBABILISTIC, DEFAULT_SAMPLING_PROBABILITY)
    inherited = default_strategy.operation_sampling
    merged = {name: _with_defaults(_own(written), inherited) for name, written in services}
    return Strategies(default_strategy, MappingProxyType(merged))


def _own(written: Written) -> Strategy:
    if not written.operations:  # Jaeger treats an empty list as none
        return Strategy(written.type, written.param)
    fallback = written.param if written.type == PROBABILISTIC else DEFAULT_SAMPLING_PROBABILITY
    return Strategy(written.type, written.param, OperationSampling(fallback, 0.0, written.operations))


def _with_defaults(service: Strategy, inherited: OperationSampling | None) -> Strategy:
    if inherited is None:
        return service
    own = service.operation_sampling
    if own is None:
        fallback = service.param if service.type == PROBABILISTIC else inherited.default_probability
        return replace(service, operation_sampling=replace(inherited, default_probability=fallback))
    listed = {operation for operation, _ in own.operations}
    extra = tuple(item for item in inherited.operations if item[0] not in listed)
    return replace(service, operation_sampling=replace(own, operations=own.operations + extra))
