"""The Jaeger sampling strategies file: strict decoding, every problem with its JSON path.

Stricter than Jaeger, which silently replaces an unknown type with the default strategy, drops
ratelimiting operation strategies, truncates fractional rate limits and lets a repeated service
override the earlier one: each of those is an error here, because the file is written by people.
"""

from __future__ import annotations

import os

from .._errors import ConfigError, Problem
from .._files import UnreadableFile, read_config_file
from ._jsoncheck import Checker, Named, decode, join, show
from ._merge import Written, merge
from ._model import PROBABILISTIC, RATE_LIMITING, Strategies

_TOP_FIELDS = ("default_strategy", "service_strategies")
_DEFAULT_FIELDS = ("type", "param", "operation_strategies")
_SERVICES = Named("service", ("service", *_DEFAULT_FIELDS), "the service name (OTEL_SERVICE_NAME)")
_OPERATIONS = Named("operation", ("operation", "type", "param"), "the operation (span) name")
_INT32_MAX = 2**31 - 1  # Jaeger stores maxTracesPerSecond as int32
_EXPECTED = 'a JSON object like {"default_strategy": {"type": "probabilistic", "param": 0.001}}'


def load_strategies(path: str | os.PathLike[str]) -> Strategies:
    """Read and validate a strategies file; raises ConfigError listing every problem."""
    return parse_strategies(read_file(path), os.fspath(path))


def read_file(path: str | os.PathLike[str]) -> bytes:
    try:
        return read_config_file(path)
    except UnreadableFile as err:
        raise ConfigError([Problem(os.fspath(path), "", f"cannot read file: {err.reason}")]) from None


def parse_strategies(text: str | bytes, where: str) -> Strategies:
    """Validate strategies JSON and merge it as Jaeger does; `where` names the source in errors."""
    doc = decode(where, text, _EXPECTED)
    check = Checker(where)
    top = check.mapping(doc, "", _TOP_FIELDS)
    default, services = None, []
    if top is not None:
        if top.get("default_strategy") is not None:
            obj = check.mapping(top["default_strategy"], "default_strategy", _DEFAULT_FIELDS)
            default = _written(check, obj, "default_strategy") if obj is not None else None
        services = _services(check, top.get("service_strategies"))
    check.raise_problems()
    return merge(default, services)


def validate_strategies_file(path: str | os.PathLike[str]) -> str:
    """Validate a strategies file for `kubetrace validate`: a summary of what each service gets."""
    strategies = load_strategies(path)
    lines = [
        f"{os.fspath(path)}: Jaeger sampling strategies: default {strategies.default.describe()}, "
        f"{len(strategies.services)} services"
    ]
    lines += [f"  {name}: {strategy.describe()}" for name, strategy in strategies.services.items()]
    return "\n".join(lines)


def _services(check: Checker, value: object) -> list[tuple[str, Written]]:
    items = check.array(value, "service_strategies") if value is not None else []
    out = []
    for path, obj, name in check.named_objects(items or [], "service_strategies", _SERVICES):
        written = _written(check, obj, path)
        if name is not None and written is not None:
            out.append((name, written))
    return out


def _written(check: Checker, obj: dict, path: str) -> Written | None:
    kind, param = _type_and_param(check, obj, path, (PROBABILISTIC, RATE_LIMITING))
    operations = _operations(check, obj.get("operation_strategies"), join(path, "operation_strategies"))
    if kind is None or param is None or operations is None:
        return None
    return Written(kind, param, operations)


def _operations(check: Checker, value: object, path: str) -> tuple[tuple[str, float], ...] | None:
    if value is None:
        return ()
    items = check.array(value, path)
    if items is None:
        return None
    out, before = [], len(check.problems)
    for at, obj, name in check.named_objects(items, path, _OPERATIONS):
        _, probability = _type_and_param(check, obj, at, (PROBABILISTIC,))
        if name is not None and probability is not None:
            out.append((name, probability))
    return tuple(out) if len(check.problems) == before else None


def _type_and_param(
    check: Checker, obj: dict, path: str, allowed: tuple[str, ...]
) -> tuple[str | None, float | None]:
    choices = " or ".join(f'"{t}"' for t in allowed)
    kind = check.string(obj, "type", path, choices)
    if kind is not None and kind not in allowed:
        hint = " (Jaeger ignores ratelimiting operation strategies)" if kind == RATE_LIMITING else ""
        check.add(join(path, "type"), f"must be {choices}{hint}, got {show(kind)}")
        kind = None
    expected = {PROBABILISTIC: "a probability between 0 and 1", RATE_LIMITING: "traces per second"}
    param = check.number(obj, "param", path, expected.get(kind or "", "a number"))
    if kind == PROBABILISTIC:
        param = check.probability(param, join(path, "param"))
    elif kind == RATE_LIMITING:
        param = _rate_limit(check, param, join(path, "param"))
    return kind, param


def _rate_limit(check: Checker, value: float | None, path: str) -> float | None:
    value = check.per_second(value, path)
    if value is None:
        return None
    if value != int(value):
        check.add(path, f"must be a whole number of traces per second (Jaeger truncates it), got {value:g}")
        return None
    if value > _INT32_MAX:
        check.add(path, f"must be at most {_INT32_MAX} traces per second, got {value:g}")
        return None
    return value
