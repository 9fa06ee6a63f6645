"""Read kubetrace's environment once and parse each variable as the OpenTelemetry specification says.

This is the only module that touches os.environ (patched_environment, which hides variables from
OpenTelemetry code that would re-read them, included). Invalid values never raise: each produces
one warning that names the variable, the bad value and the fallback used instead.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any
from urllib.parse import unquote

from .._errors import shorten
from ._endpoint import HTTP_SCHEMES, http_url_problem, url_scheme
from ._settings import Sourced, env_source

# Downward-API-style variables (set them with `fieldRef` in the pod spec) -> resource attribute.
# The first name present wins; the K8S_* spelling is the one kubetrace documents.
DOWNWARD_API = {
    "k8s.pod.name": ("K8S_POD_NAME", "POD_NAME"),
    "k8s.pod.uid": ("K8S_POD_UID", "POD_UID"),
    "k8s.namespace.name": ("K8S_NAMESPACE_NAME", "POD_NAMESPACE"),
    "k8s.node.name": ("K8S_NODE_NAME", "NODE_NAME"),
    "k8s.container.name": ("K8S_CONTAINER_NAME",),
}
_DOWNWARD_NAMES = {name for names in DOWNWARD_API.values() for name in names}
_CARRIER_NAMES = {"TRACEPARENT", "TRACESTATE", "BAGGAGE"}

PROPAGATORS = ("tracecontext", "baggage", "b3", "b3multi", "jaeger", "none")
PROPAGATOR_ENTRY_POINT_GROUP = "opentelemetry_propagator"
PROTOCOLS = ("grpc", "http/protobuf")
EXPORTERS = ("otlp", "console", "none")
COMPRESSIONS = ("gzip", "none")
EXPORT_QUEUE_BYTES = 64 * 1024 * 1024  # the export queue's default memory budget (64 MiB)
# Every count and duration is an int32, as in Kubernetes' configuration types: larger values are
# typing mistakes, and Python's threads and queues overflow on the largest ones.
MAX_INTEGER = 2**31 - 1
_DIGITS = re.compile(r"[0-9]{1,10}")  # ASCII only: str.isdigit() also accepts "²", which int() refuses
_HEADER_KEY = re.compile(r"[0-9a-z_.-]+")  # gRPC metadata keys, lower case (HTTP takes them too)
_CAPTURE = "OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_"  # the names OpenTelemetry's instrumentations read
# The HTTP interceptors' settings: field -> variable. Each is a comma list of entries.
HTTP_VARIABLES = {
    "http_excluded_urls": "KUBETRACE_HTTP_EXCLUDED_URLS",
    "http_server_request_headers": _CAPTURE + "SERVER_REQUEST",
    "http_server_response_headers": _CAPTURE + "SERVER_RESPONSE",
    "http_client_request_headers": _CAPTURE + "CLIENT_REQUEST",
    "http_client_response_headers": _CAPTURE + "CLIENT_RESPONSE",
    "http_sanitize_fields": _CAPTURE + "SANITIZE_FIELDS",
}


def integer_problem(value: object, minimum: int) -> str | None:
    """What is wrong with a count or a number of milliseconds given as a Python value, or None."""
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= MAX_INTEGER:
        return f"must be a whole number from {minimum} to {MAX_INTEGER}"
    return None


def header_problem(key: str, value: str) -> str | None:
    """What keeps `key: value` from being sent as gRPC metadata and an HTTP header, or None.
    The value is never quoted: headers carry credentials."""
    if not _HEADER_KEY.fullmatch(key):
        return "key must be letters, digits, '-', '_' or '.'"
    if key.endswith("-bin") or key.startswith("grpc-"):
        return "key is reserved by gRPC (-bin, grpc-)"
    if not all(" " <= c <= "~" for c in value):
        return "value must be printable ASCII (percent-decoded), without control characters"
    return None


def propagator_entry_points() -> dict[str, Any]:
    """Propagators any installed distribution registers under opentelemetry_propagator (e.g. xray)."""
    return {ep.name: ep for ep in entry_points(group=PROPAGATOR_ENTRY_POINT_GROUP)}


def read_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The variables kubetrace cares about, copied once from the process environment."""
    source = os.environ if environ is None else environ
    return {
        k: v
        for k, v in source.items()
        if k.startswith(("OTEL_", "KUBETRACE_")) or k in _DOWNWARD_NAMES or k in _CARRIER_NAMES
    }


_patching = threading.Lock()


@contextmanager
def patched_environment(changes: Mapping[str, str | None]) -> Iterator[None]:
    """Set (or, for None, remove) process environment variables for the duration of a block.
    Only for constructing OpenTelemetry objects that read variables at import or construction
    with rules of their own, which kubetrace has already applied; see the callers for why."""
    with _patching:
        before = {name: os.environ.get(name) for name in changes}
        _apply(changes)
        try:
            yield
        finally:
            _apply(before)


def _apply(values: Mapping[str, str | None]) -> None:
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@dataclass
class EnvLayer:
    """Settings taken from the environment, by field name, plus the warnings parsing produced."""

    values: dict[str, Sourced] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def env_layer(env: Mapping[str, str]) -> EnvLayer:
    layer = EnvLayer()
    p = _Parser(env, layer)
    p.take("disabled", "OTEL_SDK_DISABLED", p.boolean(False))
    p.take("config_file", "KUBETRACE_CONFIG", p.text)
    p.take("service_name", "OTEL_SERVICE_NAME", p.text)
    p.take("resource_attributes", "OTEL_RESOURCE_ATTRIBUTES", p.key_values)
    p.take("sampler", "OTEL_TRACES_SAMPLER", p.lower_text)
    p.take("sampler_arg", "OTEL_TRACES_SAMPLER_ARG", p.text)
    p.take("propagators", "OTEL_PROPAGATORS", p.propagators)
    p.take("traces_exporter", "OTEL_TRACES_EXPORTER", p.exporters)
    p.take(
        "protocol",
        ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"),
        p.choice(PROTOCOLS, "grpc"),
    )
    p.take("traces_endpoint", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", p.url)
    p.take("base_endpoint", "OTEL_EXPORTER_OTLP_ENDPOINT", p.url)
    p.take("insecure", ("OTEL_EXPORTER_OTLP_TRACES_INSECURE", "OTEL_EXPORTER_OTLP_INSECURE"), p.boolean(None))
    p.take("headers", ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS"), p.headers)
    p.take("timeout_ms", ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT"), p.millis(10000))
    p.take(
        "compression",
        ("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "OTEL_EXPORTER_OTLP_COMPRESSION"),
        p.choice(COMPRESSIONS, "none"),
    )
    p.take("certificate", ("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", "OTEL_EXPORTER_OTLP_CERTIFICATE"), p.text)
    p.take("client_key", ("OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY", "OTEL_EXPORTER_OTLP_CLIENT_KEY"), p.text)
    p.take(
        "client_certificate",
        ("OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE", "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE"),
        p.text,
    )
    p.take("bsp_schedule_delay_ms", "OTEL_BSP_SCHEDULE_DELAY", p.millis(5000))
    p.take("bsp_export_timeout_ms", "OTEL_BSP_EXPORT_TIMEOUT", p.millis(30000))
    p.take("bsp_max_queue_size", "OTEL_BSP_MAX_QUEUE_SIZE", p.count(2048))
    p.take("bsp_max_export_batch_size", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", p.count(512))
    p.take("shutdown_timeout_ms", "KUBETRACE_SHUTDOWN_TIMEOUT_MS", p.millis(5000))
    p.take("export_queue_bytes", "KUBETRACE_EXPORT_QUEUE_BYTES", p.count(EXPORT_QUEUE_BYTES))
    p.take("trust_incoming", "KUBETRACE_TRUST_INCOMING", p.choice(("all", "none"), "all"))
    p.take("parent_from_env", "KUBETRACE_TRACEPARENT_FROM_ENV", p.boolean(True))
    p.take("parent_traceparent", "TRACEPARENT", p.text)
    p.take("parent_tracestate", "TRACESTATE", p.text)
    p.take("parent_baggage", "BAGGAGE", p.text)
    p.take("log_correlation", "KUBETRACE_LOG_CORRELATION", p.boolean(True))
    p.take("flush_on_sigterm", "KUBETRACE_FLUSH_ON_SIGTERM", p.boolean(True))
    for field_name, variable in HTTP_VARIABLES.items():
        p.take(field_name, variable, p.paths if field_name == "http_excluded_urls" else p.entries)
    p.take("disabled_instrumentations", "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS", p.entries)
    kubernetes = {}
    for attribute, names in DOWNWARD_API.items():
        for name in names:
            if env.get(name, "").strip():
                kubernetes[attribute] = env[name].strip()
                break
    if kubernetes:
        layer.values["kubernetes"] = Sourced(
            kubernetes, "env:" + ",".join(sorted(_present(env, _DOWNWARD_NAMES)))
        )
    return layer


def _present(env: Mapping[str, str], names: set[str]) -> list[str]:
    return [n for n in names if env.get(n, "").strip()]


Parse = Callable[[str, str], Any]


class _Parser:
    """Per-variable parsers. Each returns the parsed value, or _SKIP after recording a warning."""

    def __init__(self, env: Mapping[str, str], layer: EnvLayer):
        self.env, self.layer = env, layer

    def take(self, field_name: str, names: str | tuple[str, ...], parse: Parse) -> None:
        # The first variable present wins: a _TRACES_ variant before the generic one, as the spec says.
        for name in (names,) if isinstance(names, str) else names:
            raw = self.env.get(name)
            if raw is None or raw.strip() == "":
                continue  # the spec treats an empty value as unset
            value = parse(name, raw.strip())
            if value is not _SKIP:
                self.layer.values[field_name] = Sourced(value, env_source(name))
            return

    def warn(self, name: str, raw: str, expected: str, fallback: object) -> object:
        self.layer.warnings.append(f'{name}: {expected}, got "{shorten(raw)}"; using {fallback}')
        return _SKIP

    def text(self, name: str, raw: str) -> str:
        return raw

    def lower_text(self, name: str, raw: str) -> str:
        return raw.lower()

    def boolean(self, default: bool | None) -> Parse:
        # Spec: only "true" (any case) is true; "false" is false; anything else warns and keeps the
        # setting's default, which the warning names (None: insecure's, which the endpoint decides).
        fallback = (
            "the default: the endpoint's scheme decides, else TLS"
            if default is None
            else str(default).lower()
        )

        def parse(name: str, raw: str) -> object:
            low = raw.lower()
            if low in ("true", "false"):
                return low == "true"
            return self.warn(name, raw, 'must be "true" or "false"', fallback)

        return parse

    def entries(self, name: str, raw: str) -> tuple[str, ...]:
        """A comma list, each entry stripped, empty ones dropped (OpenTelemetry's header-capture form)."""
        return tuple(item.strip() for item in raw.split(",") if item.strip())

    def paths(self, name: str, raw: str) -> tuple[str, ...]:
        """Excluded URL paths: entries, where the single word "none" means no path at all."""
        return () if raw.lower() == "none" else self.entries(name, raw)

    def millis(self, default: int) -> Parse:
        # Zero is refused too: a zero export timeout fails every export, a zero delay busy-loops.
        return self._whole(f"must be a whole number of milliseconds from 1 to {MAX_INTEGER}", default)

    def count(self, default: int) -> Parse:
        return self._whole(f"must be a whole number from 1 to {MAX_INTEGER}", default)

    def _whole(self, expected: str, default: int) -> Parse:
        def parse(name: str, raw: str) -> object:
            if _DIGITS.fullmatch(raw) and 1 <= int(raw) <= MAX_INTEGER:
                return int(raw)
            return self.warn(name, raw, expected, f"{default}")

        return parse

    def choice(self, allowed: tuple[str, ...], default: str) -> Parse:
        def parse(name: str, raw: str) -> object:
            low = raw.lower()
            if low in allowed:
                return low
            return self.warn(name, raw, f"must be one of {', '.join(allowed)}", default)

        return parse

    def url(self, name: str, raw: str) -> object:
        # Other schemes (unix://, dns://) are gRPC targets, checked against the protocol in resolve().
        fallback = "the configuration file's endpoint, else the default"
        if not url_scheme(raw):
            return self.warn(name, raw, "must be a URL with a scheme (http:// or https://)", fallback)
        problem = http_url_problem(raw) if url_scheme(raw) in HTTP_SCHEMES else None
        return self.warn(name, raw, problem, fallback) if problem else raw

    def key_values(self, name: str, raw: str) -> object:
        """`k1=v1,k2=v2` with percent-encoded values (W3C Baggage octets), as OTEL_RESOURCE_ATTRIBUTES
        is written. A malformed pair is skipped with a warning."""
        out: dict[str, str] = {}
        for item in raw.split(","):
            if not item.strip():
                continue
            key, sep, value = item.partition("=")
            key = unquote(key.strip())
            if not sep or not key:
                self.layer.warnings.append(
                    f'{name}: entry "{shorten(item.strip())}" is not key=value; skipped'
                )
                continue
            out[key] = unquote(value.strip())
        return out

    def headers(self, name: str, raw: str) -> object:
        """OTEL_EXPORTER_OTLP_HEADERS: key_values whose keys are lower-cased (gRPC refuses upper case;
        header names are case-insensitive) and whose pairs must travel as metadata and as HTTP
        headers. A bad pair is skipped with a warning naming its key or position, never its value."""
        out: dict[str, str] = {}
        items = [item for item in raw.split(",") if item.strip()]
        for position, item in enumerate(items, 1):
            key, sep, value = item.partition("=")
            key, value = unquote(key.strip()).lower(), unquote(value.strip())
            problem = "is not key=value" if not sep or not key else header_problem(key, value)
            if problem:
                entry = f'"{shorten(key)}"' if sep and key else str(position)
                self.layer.warnings.append(f"{name}: entry {entry} {problem}; skipped")
                continue
            out[key] = value
        return out

    def propagators(self, name: str, raw: str) -> object:
        known = tuple(sorted(set(PROPAGATORS) | set(propagator_entry_points())))
        return self._names(name, raw, "propagator", known, "tracecontext,baggage")

    def exporters(self, name: str, raw: str) -> object:
        return self._names(name, raw, "exporter", EXPORTERS, "otlp")

    def _names(self, name: str, raw: str, what: str, known: tuple[str, ...], fallback: str) -> object:
        """A comma list of known names, each once; "none" among them means none at all (as the
        specification has it for OTEL_PROPAGATORS and the SDKs for OTEL_TRACES_EXPORTER). The
        unknown ones make one warning."""
        names: list[str] = []
        unknown: list[str] = []
        for item in raw.split(","):
            item = item.strip().lower()
            if item and item not in names and item not in unknown:
                (names if item in known else unknown).append(item)
        if unknown:
            skipped = ", ".join(f'"{shorten(item)}"' for item in unknown)
            outcome = "skipped" if names else f"using {fallback}"
            self.layer.warnings.append(
                f"{name}: unknown {what} {skipped} (known: {', '.join(known)}); {outcome}"
            )
        if "none" in names:
            return ()
        return tuple(names) if names else _SKIP


_SKIP = object()
