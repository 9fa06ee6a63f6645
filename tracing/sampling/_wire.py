"""Jaeger's remote sampling answer (api_v2 SamplingStrategyResponse as JSON) -> a Strategy.

Lenient where servers legitimately differ: `strategyType` comes as a number (0, 1: Jaeger's agent
and v1 collectors) or a name ("PROBABILISTIC", "RATE_LIMITING": protobuf JSON); proto3 JSON leaves
out zero values, so a missing number is 0; unknown fields are ignored (newer servers add some).
Strict about values: a probability outside [0, 1] or a negative rate is refused, not clamped.
"""

from __future__ import annotations

from .._errors import ConfigError, Problem
from ._jsoncheck import Checker, decode, join, show
from ._model import PROBABILISTIC, RATE_LIMITING, OperationSampling, Strategy

_TYPES = {0: PROBABILISTIC, 1: RATE_LIMITING, "PROBABILISTIC": PROBABILISTIC, "RATE_LIMITING": RATE_LIMITING}
_SUBMESSAGES = {
    PROBABILISTIC: ("probabilisticSampling", "samplingRate"),
    RATE_LIMITING: ("rateLimitingSampling", "maxTracesPerSecond"),
}


def parse_response(body: str | bytes, where: str) -> Strategy:
    """Validate one answer of a /sampling endpoint; raises ConfigError listing every problem."""
    check = Checker(where)
    top = check.mapping(decode(where, body, "a sampling strategy response"), "")
    strategy = _strategy(check, top) if top is not None else None
    if check.problems or strategy is None:
        raise ConfigError(check.problems or [Problem(where, "", "no sampling strategy in the answer")])
    return strategy


def _strategy(check: Checker, top: dict) -> Strategy | None:
    has_operations = top.get("operationSampling") is not None
    operations = _operation_sampling(check, top["operationSampling"]) if has_operations else None
    kind = _kind(check, top, has_operations)
    param = _service_param(check, top, kind, has_operations) if kind is not None else None
    if kind is None or param is None or (has_operations and operations is None):
        return None
    return Strategy(kind, param, operations)


def _kind(check: Checker, top: dict, has_operations: bool) -> str | None:
    value = top.get("strategyType")
    if value is None:  # proto3 JSON leaves out PROBABILISTIC (0); Go clients go by the submessage present
        if "rateLimitingSampling" in top and "probabilisticSampling" not in top:
            return RATE_LIMITING
        if "probabilisticSampling" in top or has_operations:
            return PROBABILISTIC
        check.add("", "expected probabilisticSampling, rateLimitingSampling or operationSampling")
        return None
    key = value.upper() if isinstance(value, str) else value
    if isinstance(key, bool) or key not in _TYPES:
        check.add("strategyType", f'must be 0 or "PROBABILISTIC", 1 or "RATE_LIMITING", got {show(value)}')
        return None
    return _TYPES[key]


def _service_param(check: Checker, top: dict, kind: str, has_operations: bool) -> float | None:
    name, field = _SUBMESSAGES[kind]
    if top.get(name) is None:
        if has_operations:
            return 0.0  # operation sampling decides; the service-level value would only be descriptive
        check.add(name, f"required when strategyType is {kind.upper()} and there is no operationSampling")
        return None
    sub = check.mapping(top[name], name)
    value = check.number(sub, field, name, None) if sub is not None else None
    in_range = check.probability if kind == PROBABILISTIC else check.per_second
    return in_range(value, join(name, field))


def _operation_sampling(check: Checker, value: object) -> OperationSampling | None:
    path = "operationSampling"
    obj = check.mapping(value, path)
    if obj is None:
        return None
    before = len(check.problems)
    default = check.probability(
        check.number(obj, "defaultSamplingProbability", path, None), join(path, "defaultSamplingProbability")
    )
    lower = check.per_second(
        check.number(obj, "defaultLowerBoundTracesPerSecond", path, None),
        join(path, "defaultLowerBoundTracesPerSecond"),
    )
    # Go and Java clients ignore the upper bound; it is checked only so that a broken server is noticed.
    check.per_second(
        check.number(obj, "defaultUpperBoundTracesPerSecond", path, None),
        join(path, "defaultUpperBoundTracesPerSecond"),
    )
    operations = _per_operation(
        check, obj.get("perOperationStrategies"), join(path, "perOperationStrategies")
    )
    if len(check.problems) > before or default is None or lower is None:
        return None
    return OperationSampling(default, lower, operations)


def _per_operation(check: Checker, value: object, path: str) -> tuple[tuple[str, float], ...]:
    items = check.array(value, path) if value is not None else []
    entries = (_operation(check, item, f"{path}[{i}]") for i, item in enumerate(items or ()))
    # A repeated operation is kept twice; the decider's dict keeps the last, as Go's map does.
    return tuple(entry for entry in entries if entry is not None)


def _operation(check: Checker, item: object, path: str) -> tuple[str, float] | None:
    obj = check.mapping(item, path)
    if obj is None:
        return None
    name = check.string(obj, "operation", path, "the operation name")
    sub_path = join(path, "probabilisticSampling")
    if obj.get("probabilisticSampling") is None:
        check.add(sub_path, 'required; expected {"samplingRate": <probability>}')
        return None
    sub = check.mapping(obj["probabilisticSampling"], sub_path)
    rate = check.number(sub, "samplingRate", sub_path, None) if sub is not None else None
    rate = check.probability(rate, join(sub_path, "samplingRate"))
    return (name, rate) if name is not None and rate is not None else None
