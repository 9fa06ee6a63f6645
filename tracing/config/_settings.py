"""The effective settings: a frozen record in which every value knows where it came from."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

DEFAULT = "default"
ARGUMENT = "argument"


def env_source(name: str) -> str:
    return f"env:{name}"


def file_source(path: str) -> str:
    return f"file:{path}"


@dataclass(frozen=True)
class Sourced:
    """A value and its source: "default", "argument", "env:NAME" or "file:PATH"."""

    value: Any
    source: str = DEFAULT


@dataclass(frozen=True)
class Settings:
    """Everything setup() needs, resolved by the precedence rule argument > env var > file > default."""

    disabled: Sourced
    config_file: Sourced
    service_name: Sourced
    resource_attributes: Sourced  # dict[str, str] from OTEL_RESOURCE_ATTRIBUTES
    kubernetes: Sourced  # dict[str, str] of k8s.* attributes from Downward-API variables
    sampler: Sourced  # an OTEL_TRACES_SAMPLER name
    sampler_arg: Sourced  # str | None
    propagators: Sourced  # tuple[str, ...]
    traces_exporter: Sourced  # tuple of "otlp", "console"; () for none
    protocol: Sourced  # "grpc" | "http/protobuf"
    endpoint: Sourced  # final exporter endpoint (for HTTP: the full .../v1/traces URL)
    insecure: Sourced  # bool | None (gRPC only; None = decided by the endpoint's scheme)
    headers: Sourced  # dict[str, str]
    timeout_ms: Sourced
    compression: Sourced  # "gzip" | "none"
    certificate: Sourced  # path | None
    client_key: Sourced
    client_certificate: Sourced
    bsp_schedule_delay_ms: Sourced
    bsp_export_timeout_ms: Sourced
    bsp_max_queue_size: Sourced
    bsp_max_export_batch_size: Sourced
    shutdown_timeout_ms: Sourced
    export_queue_bytes: Sourced  # int: memory budget of the spans waiting for export
    trust_incoming: Sourced  # "all" | "none": the default trust policy for incoming context
    parent_from_env: Sourced  # bool: TRACEPARENT in our environment parents our root spans
    parent_traceparent: Sourced  # str | None: TRACEPARENT seen at setup
    parent_tracestate: Sourced  # str | None
    parent_baggage: Sourced  # str | None: BAGGAGE seen at setup
    log_correlation: Sourced  # bool: logging records made in a span carry its ids (tracing/_logging.py)
    flush_on_sigterm: Sourced  # bool: a default SIGTERM flushes first, then kills (tracing/_exit.py)
    # The HTTP interceptors' defaults (a middleware's or client's own keyword argument wins):
    http_excluded_urls: Sourced  # tuple[str, ...]: paths not traced, with everything under them
    http_server_request_headers: Sourced  # tuple[str, ...]: header-name patterns captured as attributes
    http_server_response_headers: Sourced
    http_client_request_headers: Sourced
    http_client_response_headers: Sourced
    http_sanitize_fields: Sourced  # tuple[str, ...]: patterns whose captured headers are redacted
    disabled_instrumentations: Sourced  # tuple[str, ...]: zero-code instrumentation names left off; "*": all

    def items(self) -> list[tuple[str, Sourced]]:
        """(name, Sourced) pairs in declaration order, for printing."""
        return [(f.name, getattr(self, f.name)) for f in fields(self)]

    def __getitem__(self, name: str) -> Any:
        return getattr(self, name).value

    def redacted(self) -> list[tuple[str, Any, str]]:
        """(name, printable value, source): header values are hidden, they usually carry credentials."""
        out = []
        for name, item in self.items():
            value = item.value
            if name == "headers" and value:
                value = {k: "<redacted>" for k in value}
            out.append((name, value, item.source))
        return out
