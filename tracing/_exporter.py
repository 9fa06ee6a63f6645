"""Settings -> an OTLP span exporter (gRPC or HTTP/protobuf), every option passed explicitly.

Everything is passed explicitly so the exporters never re-read OTEL_* variables with their own
rules; in particular the Python exporters read OTEL_EXPORTER_OTLP_TIMEOUT in seconds, while the
specification (and kubetrace) use milliseconds. The headers variables, which they read whatever
they are given, are hidden from them while they are built (config.exporter_environment).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from opentelemetry.sdk.trace.export import SpanExporter

from ._errors import ConfigError, Problem
from ._files import UnreadableFile, read_config_file
from .config import HTTP_SCHEMES, Settings, exporter_environment, url_scheme


def build_exporter(settings: Settings) -> SpanExporter:
    with exporter_environment():
        if settings["protocol"] == "http/protobuf":
            return _http_exporter(settings)
        return _grpc_exporter(settings)


def _grpc_exporter(settings: Settings) -> SpanExporter:
    import grpc
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import Compression, OTLPSpanExporter

    endpoint = settings["endpoint"]
    scheme = url_scheme(endpoint)
    # resolve() already made `insecure` follow the scheme; an https endpoint is checked once more
    # here, where the channel is made, because plaintext to it would send the headers in clear.
    insecure = bool(settings["insecure"]) and scheme != "https"
    if scheme in HTTP_SCHEMES:
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
        session=_session_verifying_with(settings["certificate"]),
    )


def _session_verifying_with(certificate: str | None):
    """A requests session for the HTTP exporter that verifies the collector with the configured CA
    file. A plain session lets REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE, set in many images, replace the
    CA file the exporter puts on it, and every export fails verification."""
    if not certificate:
        return None
    import requests

    class Session(requests.Session):
        def merge_environment_settings(self, url, proxies, stream, verify, cert):
            merged = super().merge_environment_settings(url, proxies, stream, verify, cert)
            if verify is None and isinstance(self.verify, str):
                merged["verify"] = self.verify
            return merged

    return Session()


def _read(settings: Settings, name: str) -> bytes | None:
    item = getattr(settings, name)
    if not item.value:
        return None
    try:
        return read_config_file(item.value)
    except UnreadableFile as err:
        where = item.source.removeprefix("env:").removeprefix("file:")
        raise ConfigError(
            [Problem(where, "", f"cannot read {name.replace('_', ' ')} file {item.value}: {err.reason}")]
        ) from None
