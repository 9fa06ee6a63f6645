"""Resolve the effective Settings: explicit argument > environment variable > file > default."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from importlib.metadata import entry_points
from typing import Any

from .._errors import ConfigError, Problem, shorten
from ._endpoint import endpoint_problem, plaintext_by_scheme
from ._env import (
    EXPORT_QUEUE_BYTES,
    EXPORTERS,
    PROPAGATORS,
    PROTOCOLS,
    EnvLayer,
    env_layer,
    header_problem,
    integer_problem,
    propagator_entry_points,
    read_environment,
)
from ._k8sfile import TracingFile, load_tracing_file
from ._settings import ARGUMENT, DEFAULT, Settings, Sourced, file_source

BUILTIN_SAMPLERS = (
    "always_on",
    "always_off",
    "traceidratio",
    "parentbased_always_on",
    "parentbased_always_off",
    "parentbased_traceidratio",
)
SAMPLER_ENTRY_POINT_GROUP = "opentelemetry_traces_sampler"

_DEFAULTS: dict[str, Any] = {
    "disabled": False,
    "config_file": None,
    "service_name": None,  # filled below: OTEL_RESOURCE_ATTRIBUTES' service.name, else unknown_service
    "resource_attributes": {},
    "kubernetes": {},
    "sampler": "parentbased_always_on",
    "sampler_arg": None,
    "propagators": ("tracecontext", "baggage"),
    "traces_exporter": ("otlp",),
    "protocol": "grpc",
    "endpoint": None,  # depends on the protocol
    "insecure": None,
    "headers": {},
    "timeout_ms": 10000,
    "compression": "none",
    "certificate": None,
    "client_key": None,
    "client_certificate": None,
    "bsp_schedule_delay_ms": 5000,
    "bsp_export_timeout_ms": 30000,
    "bsp_max_queue_size": 2048,
    "bsp_max_export_batch_size": 512,
    "shutdown_timeout_ms": 5000,
    "export_queue_bytes": EXPORT_QUEUE_BYTES,
    "trust_incoming": "all",
    "parent_from_env": True,
    "parent_traceparent": None,
    "parent_tracestate": None,
    "parent_baggage": None,
    "log_correlation": True,
    "flush_on_sigterm": True,
    "http_excluded_urls": ("/healthz", "/livez", "/readyz", "/metrics"),  # probes and scrapes: noise
    "http_server_request_headers": (),
    "http_server_response_headers": (),
    "http_client_request_headers": (),
    "http_client_response_headers": (),
    "http_sanitize_fields": (),
    "disabled_instrumentations": (),
}
ARGUMENT_NAMES = tuple(f.name for f in fields(Settings))
_INTEGERS = (
    "timeout_ms",
    "bsp_schedule_delay_ms",
    "bsp_export_timeout_ms",
    "bsp_max_queue_size",
    "bsp_max_export_batch_size",
    "shutdown_timeout_ms",
    "export_queue_bytes",
)
_LISTS = (
    "http_excluded_urls",
    "http_server_request_headers",
    "http_server_response_headers",
    "http_client_request_headers",
    "http_client_response_headers",
    "http_sanitize_fields",
    "disabled_instrumentations",
)
_DEFAULT_ENDPOINTS = {"grpc": "http://localhost:4317", "http/protobuf": "http://localhost:4318/v1/traces"}


@dataclass(frozen=True)
class Resolved:
    settings: Settings
    file: TracingFile | None
    warnings: tuple[str, ...]


def resolve(
    arguments: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    read_file: bool = True,
) -> Resolved:
    """Build the effective settings. Raises ConfigError for an unusable config file or argument;
    environment variables never raise (each bad one is a warning naming its fallback).
    `read_file=False` leaves the configuration file out: for code that needs only settings no file
    holds (the HTTP interceptors' without setup()), and must not fail on a file setup() would refuse."""
    args = _check_arguments(dict(arguments or {}))
    env = env_layer(read_environment(environ))
    merged: dict[str, Sourced] = {k: Sourced(v, DEFAULT) for k, v in _DEFAULTS.items()}

    config_file = args.get("config_file") or env.values.get("config_file")
    wanted = read_file and config_file and config_file.value
    tracing_file = load_tracing_file(config_file.value) if wanted else None
    if tracing_file is not None:
        merged.update(_file_layer(tracing_file))
    merged.update(_env_fields(env, merged["protocol"]))
    merged.update(args)
    warnings = list(env.warnings)
    _finish(merged, env, args, warnings)
    return Resolved(Settings(**merged), tracing_file, tuple(warnings))


def _check_arguments(raw: dict[str, Any]) -> dict[str, Sourced]:
    unknown = sorted(set(raw) - set(ARGUMENT_NAMES))
    if unknown:
        raise TypeError(f"setup() got unexpected settings {unknown}; known: {', '.join(ARGUMENT_NAMES)}")
    problems = []
    if "protocol" in raw and raw["protocol"] not in PROTOCOLS:
        problems.append(
            Problem("setup()", "protocol", f"must be one of {', '.join(PROTOCOLS)}, got {raw['protocol']!r}")
        )
    propagators = tuple(sorted(set(PROPAGATORS) | set(propagator_entry_points())))
    for name, known in (("propagators", propagators), ("traces_exporter", EXPORTERS)):
        if name in raw and (isinstance(raw[name], str) or any(p not in known for p in raw[name])):
            problems.append(Problem("setup()", name, f"a list of {', '.join(known)}; got {raw[name]!r}"))
    for name in _INTEGERS:
        problem = integer_problem(raw[name], 1) if raw.get(name) is not None else None
        if problem:
            problems.append(Problem("setup()", name, f"{problem}, got {raw[name]!r}"))
    for name in _LISTS:
        value = raw.get(name)
        if value is not None and not (
            isinstance(value, (list, tuple)) and all(isinstance(i, str) for i in value)
        ):
            problems.append(Problem("setup()", name, f"must be a list of strings, got {value!r}"))
    for key, value in (raw.get("headers") or {}).items():
        problem = header_problem(str(key).lower(), str(value))
        if problem:
            problems.append(Problem("setup()", f"headers.{key}", problem))
    if problems:
        raise ConfigError(problems)
    if raw.get("headers"):
        raw["headers"] = {str(k).lower(): str(v) for k, v in raw["headers"].items()}
    names = ("propagators", "traces_exporter")
    lists = (*names, *_LISTS)
    out = {k: Sourced(tuple(v) if k in lists else v, ARGUMENT) for k, v in raw.items() if v is not None}
    for name in names:
        if "none" in out.get(name, Sourced(())).value:
            out[name] = Sourced((), ARGUMENT)
    return out


def _file_layer(tf: TracingFile) -> dict[str, Sourced]:
    src = file_source(tf.path)
    if not tf.has_tracing:
        return {"disabled": Sourced(True, src), "config_file": Sourced(tf.path, src)}
    out = {
        "config_file": Sourced(tf.path, src),
        # Kubernetes: an unset rate never samples new traces; a set rate is ParentBased(TraceIDRatio).
        "sampler": Sourced(
            "parentbased_always_off" if tf.sampling_rate_per_million is None else "parentbased_traceidratio",
            src,
        ),
        "sampler_arg": Sourced(
            None if tf.sampling_rate_per_million is None else str(tf.sampling_rate_per_million / 1_000_000),
            src,
        ),
        "protocol": Sourced("grpc", src),
        "insecure": Sourced(True, src),  # component-base/tracing always dials insecure
    }
    if tf.endpoint is not None:
        out["endpoint"] = Sourced(tf.endpoint, src)
    return out


def _env_fields(env: EnvLayer, protocol_before: Sourced) -> dict[str, Sourced]:
    values = dict(env.values)
    traces = values.pop("traces_endpoint", None)
    base = values.pop("base_endpoint", None)
    protocol = values.get("protocol", protocol_before).value
    if traces is not None:
        values["endpoint"] = traces
    elif base is not None:
        # Spec: the generic endpoint is a base URL; for HTTP the signal path is appended to it.
        url = base.value
        if protocol == "http/protobuf":
            url = url.rstrip("/") + "/v1/traces"
        values["endpoint"] = Sourced(url, base.source)
    return values


def _finish(merged: dict[str, Sourced], env: EnvLayer, args: dict[str, Sourced], warnings: list[str]) -> None:
    _check_endpoint(merged, warnings)
    _transport_security(merged, warnings)
    if merged["service_name"].value is None:
        from_attrs = merged["resource_attributes"].value.get("service.name")
        merged["service_name"] = (
            Sourced(from_attrs, merged["resource_attributes"].source)
            if from_attrs
            else Sourced("unknown_service", DEFAULT)
        )
    _check_sampler(merged, warnings)
    queue, batch = merged["bsp_max_queue_size"], merged["bsp_max_export_batch_size"]
    if batch.value > queue.value and batch.source == DEFAULT:
        merged["bsp_max_export_batch_size"] = Sourced(
            queue.value, queue.source
        )  # a default follows the queue
    elif batch.value > queue.value:
        warnings.append(
            f"OTEL_BSP_MAX_EXPORT_BATCH_SIZE ({batch.value}) must not exceed OTEL_BSP_MAX_QUEUE_SIZE ({queue.value}); "
            f"using {queue.value}"
        )
        merged["bsp_max_export_batch_size"] = Sourced(queue.value, batch.source)


def _check_endpoint(merged: dict[str, Sourced], warnings: list[str]) -> None:
    """An endpoint the protocol cannot dial: a setup() argument raises, anything else falls back."""
    item, protocol = merged["endpoint"], merged["protocol"].value
    default = _DEFAULT_ENDPOINTS[protocol]
    if item.value is None:
        merged["endpoint"] = Sourced(default, DEFAULT)
        return
    problem = endpoint_problem(item.value, protocol)
    if problem is None:
        return
    if item.source == ARGUMENT:
        raise ConfigError([Problem("setup()", "endpoint", f"{problem}, got {item.value!r}")])
    warnings.append(f'{_where(item, "endpoint")}{problem}, got "{shorten(item.value)}"; using {default}')
    merged["endpoint"] = Sourced(default, DEFAULT)


def _transport_security(merged: dict[str, Sourced], warnings: list[str]) -> None:
    """Make `insecure` the effective choice for the final endpoint. An http/https scheme decides
    (OTLP specification), an explicit contrary `insecure` only earns a warning; otherwise `insecure`
    counts when it comes from the endpoint's own source or a higher one, so that a file's implied
    insecure never travels to an endpoint given by the environment or by setup()."""
    endpoint, insecure = merged["endpoint"], merged["insecure"]
    by_scheme = plaintext_by_scheme(endpoint.value)
    if by_scheme is not None:
        if insecure.value is not None and insecure.value != by_scheme and _rank(insecure) >= _RANKS["env"]:
            transport = "plaintext" if by_scheme else "TLS"
            warnings.append(
                f"{_where(insecure, 'insecure')}{str(insecure.value).lower()} is ignored: the endpoint "
                f"{endpoint.value} ({endpoint.source}) has a scheme, which decides; using {transport}"
            )
        if insecure.value != by_scheme:
            merged["insecure"] = Sourced(by_scheme, endpoint.source)
    elif insecure.value is None or _rank(insecure) < _rank(endpoint):
        merged["insecure"] = Sourced(False, DEFAULT)  # the specification's default: TLS


_RANKS = {DEFAULT: 0, "file": 1, "env": 2, ARGUMENT: 3}  # the precedence rule


def _rank(item: Sourced) -> int:
    return _RANKS[item.source.partition(":")[0]]


def _where(item: Sourced, field: str) -> str:
    """The start of a warning about `item`: `VARIABLE: `, `setup(): field: ` or `PATH: field: `."""
    if item.source.startswith("env:"):
        return item.source.removeprefix("env:") + ": "
    origin = "setup()" if item.source == ARGUMENT else item.source.removeprefix("file:")
    return f"{origin}: {field}: "


def _check_sampler(merged: dict[str, Sourced], warnings: list[str]) -> None:
    name = merged["sampler"]
    if name.value not in BUILTIN_SAMPLERS and name.value not in sampler_entry_points():
        known = ", ".join((*BUILTIN_SAMPLERS, *sorted(sampler_entry_points())))
        warnings.append(
            f'{_where(name, "sampler")}unknown sampler "{shorten(str(name.value))}" (known: {known}); '
            "using parentbased_always_on"
        )
        merged["sampler"] = Sourced("parentbased_always_on", DEFAULT)
        merged["sampler_arg"] = Sourced(None, DEFAULT)
        return
    if name.value.endswith("traceidratio"):
        arg = merged["sampler_arg"]
        try:
            ratio = 1.0 if arg.value is None else float(arg.value)
            ok = 0.0 <= ratio <= 1.0
        except ValueError:
            ok = False
        if not ok:
            warnings.append(
                f'{_where(arg, "sampler_arg")}ratio must be a number in [0, 1], got "{shorten(str(arg.value))}"; using 1.0'
            )
            merged["sampler_arg"] = Sourced("1.0", DEFAULT)


def sampler_entry_points() -> dict[str, Any]:
    """Samplers registered by any installed distribution under opentelemetry_traces_sampler."""
    return {ep.name: ep for ep in entry_points(group=SAMPLER_ENTRY_POINT_GROUP)}
