"""Settings -> an OTLP span exporter (gRPC or HTTP/protobuf), every option passed explicitly.

Everything is passed explicitly so the exporters never re-read OTEL_* variables with their own
rules; in particular the Python exporters read OTEL_EXPORTER_OTLP_TIMEOUT in seconds, while the
specification (and kubetrace) use milliseconds.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from opentelemetry.sdk.trace.export import SpanExporter

from ._errors import ConfigError, Problem
from .config import Settings


def build_exporter(settings: Settings) -> SpanExporter:
    if settings["protocol"] == "http/protobuf":
        return _http_exporter(settings)
    return _grpc_exporter(settings)


def _grpc_exporter(settings: Settings) -> SpanExporter:
    import grpc
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import Compression, OTLPSpanExporter

    endpoint = settings["endpoint"]
    insecure = settings["insecure"]
    scheme = urlsplit(endpoint).scheme if "://" in endpoint else ""
    if insecure is None:
        insecure = scheme == "http"
    if scheme in ("http", "https"):
        endpoint = urlsplit(endpoint).netloc
    credentials = None
    if not insecure:
        root, key, chain = (_read(settings, f) for f in ("certificate", "client_key", "client_certificate"))
        credentials = grpc.ssl_channel_credentials(root, key, chain)
    return OTLPSpanExporter(
        endpoint=endpoint,
        insecure=insecure,
        credentials=credentials,
        headers=dict(settings["headers"]),
        timeout=settings["timeout_ms"] / 1000,
        compression=Compression.Gzip if settings["compression"] == "gzip" else Compression.NoCompression,
    )


def _http_exporter(settings: Settings) -> SpanExporter:
    from opentelemetry.exporter.otlp.proto.http import Compression
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    for name in ("certificate", "client_key", "client_certificate"):
        _read(settings, name)  # fail early, with the variable named, on a missing file
    return OTLPSpanExporter(
        endpoint=settings["endpoint"],
        certificate_file=settings["certificate"],
        client_key_file=settings["client_key"],
        client_certificate_file=settings["client_certificate"],
        headers=dict(settings["headers"]),
        timeout=settings["timeout_ms"] / 1000,
        compression=Compression.Gzip if settings["compression"] == "gzip" else Compression.NoCompression,
    )


def _read(settings: Settings, name: str) -> bytes | None:
    item = getattr(settings, name)
    if not item.value:
        return None
    try:
        return Path(item.value).read_bytes()
    except OSError as err:
        where = item.source.removeprefix("env:").removeprefix("file:")
        raise ConfigError(
            [Problem(where, "", f"cannot read {name.replace('_', ' ')} file {item.value}: {err.strerror}")]
        ) from None
