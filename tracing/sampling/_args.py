"""OTEL_TRACES_SAMPLER_ARG for the Jaeger samplers: comma-separated key=value pairs, every problem reported."""

from __future__ import annotations

from .._errors import ConfigError, Problem
from ._remote_sampler import endpoint_problem

ENV = "OTEL_TRACES_SAMPLER_ARG"
REMOTE_KEYS = ("endpoint", "pollingIntervalMs", "initialSamplingRate")  # the OpenTelemetry specification's
FILE_KEYS = ("path", "reloadIntervalMs")


def remote_arguments(arg: str | None) -> dict[str, object]:
    """`endpoint=URL,pollingIntervalMs=N,initialSamplingRate=R`, each optional -> JaegerRemoteSampler keywords."""
    pairs, problems = _pairs(arg, REMOTE_KEYS)
    out: dict[str, object] = {}
    if "endpoint" in pairs:
        problem = endpoint_problem(pairs["endpoint"])
        if problem:
            problems.append(Problem(ENV, "endpoint", problem))
        out["endpoint"] = pairs["endpoint"]
    if "pollingIntervalMs" in pairs:
        out["polling_interval"] = _milliseconds(pairs, "pollingIntervalMs", 1, problems)
    if "initialSamplingRate" in pairs:
        out["initial_sampling_rate"] = _probability(pairs, "initialSamplingRate", problems)
    if problems:
        raise ConfigError(problems)
    return out


def file_arguments(arg: str | None) -> dict[str, object]:
    """`path=FILE,reloadIntervalMs=N` (or just `FILE`) -> JaegerFileSampler keywords; 0 ms never reloads."""
    if arg and "=" not in arg:
        arg = "path=" + arg
    pairs, problems = _pairs(arg, FILE_KEYS)
    out: dict[str, object] = {}
    if pairs.get("path"):
        out["path"] = pairs["path"]
    else:
        problems.append(
            Problem(
                ENV, "path", "required; expected path=/etc/kubetrace/sampling.json[,reloadIntervalMs=10000]"
            )
        )
    if "reloadIntervalMs" in pairs:
        out["reload_interval"] = _milliseconds(pairs, "reloadIntervalMs", 0, problems)
    if problems:
        raise ConfigError(problems)
    return out


def _pairs(arg: str | None, known: tuple[str, ...]) -> tuple[dict[str, str], list[Problem]]:
    pairs: dict[str, str] = {}
    problems: list[Problem] = []
    for item in (arg or "").split(","):
        key, sep, value = (part.strip() for part in item.partition("="))
        if not item.strip():
            continue
        if not sep or not key:
            problems.append(
                Problem(ENV, "", f"expected key=value pairs separated by commas, got {item.strip()!r}")
            )
        elif key not in known:
            problems.append(Problem(ENV, key, f"unknown argument; known: {', '.join(known)}"))
        elif key in pairs:
            problems.append(Problem(ENV, key, "given more than once"))
        else:
            pairs[key] = value
    return pairs, problems


def _milliseconds(pairs: dict[str, str], key: str, minimum: int, problems: list[Problem]) -> float | None:
    """Milliseconds in, seconds out."""
    value = pairs[key]
    if not value.isdigit() or int(value) < minimum:
        problems.append(
            Problem(ENV, key, f"must be a whole number of milliseconds >= {minimum}, got {value!r}")
        )
        return None
    return int(value) / 1000


def _probability(pairs: dict[str, str], key: str, problems: list[Problem]) -> float | None:
    value = pairs[key]
    try:
        rate = float(value)
    except ValueError:
        rate = -1.0
    if not 0.0 <= rate <= 1.0:  # also false for NaN
        problems.append(Problem(ENV, key, f"must be a number between 0 and 1, got {value!r}"))
        return None
    return rate
