"""Settings -> the export pipeline: an OTLP/gRPC or OTLP/HTTP sender and the queue and retry options,
every option passed explicitly.

Nothing here re-reads OTEL_* variables: the settings already hold them, resolved by kubetrace's one
precedence rule (and OTEL_EXPORTER_OTLP_TIMEOUT in milliseconds, as the specification says).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from ._errors import ConfigError, Problem
from ._files import UnreadableFile, read_config_file
from .config import HTTP_SCHEMES, Settings, url_scheme
from .config._settings import DEFAULT
from .export._grpc_sender import GrpcSender, GrpcTarget
from .export._http_sender import HttpSender, HttpTarget
from .export._pipeline import ExportPipeline, PipelineOptions, Sender


def build_pipeline(settings: Settings) -> ExportPipeline:
    return ExportPipeline(build_sender(settings), pipeline_options(settings))


def build_sender(settings: Settings) -> Sender:
    if settings["protocol"] == "http/protobuf":
        return HttpSender(_http_target(settings))
    return GrpcSender(_grpc_target(settings))


def pipeline_options(settings: Settings) -> PipelineOptions:
    # The queue is bounded by memory; a count bound applies only when OTEL_BSP_MAX_QUEUE_SIZE says so.
    explicit_count = settings.bsp_max_queue_size.source != DEFAULT
    return PipelineOptions(
        queue_bytes=settings["export_queue_bytes"],
        max_queue_spans=settings["bsp_max_queue_size"] if explicit_count else None,
        batch_size=settings["bsp_max_export_batch_size"],
        schedule_delay_s=settings["bsp_schedule_delay_ms"] / 1000,
        export_timeout_s=settings["bsp_export_timeout_ms"] / 1000,
        request_timeout_s=settings["timeout_ms"] / 1000,
    )


def _user_agent() -> str:
    from . import __version__

    return f"kubetrace/{__version__}"


def _grpc_target(settings: Settings) -> GrpcTarget:
    import grpc

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
    return GrpcTarget(
        endpoint=endpoint,
        credentials=credentials,
        headers=tuple(settings["headers"].items()),
        gzip=settings["compression"] == "gzip",
        user_agent=_user_agent(),
    )


def _http_target(settings: Settings) -> HttpTarget:
    for name in ("certificate", "client_key", "client_certificate"):
        _read(settings, name)  # fail early, with the variable named, on a missing file
    # HttpSender passes the CA file with every request, so REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE
    # (set in many images) cannot replace it.
    return HttpTarget(
        url=settings["endpoint"],
        certificate=settings["certificate"],
        client_certificate=settings["client_certificate"],
        client_key=settings["client_key"],
        headers=tuple(settings["headers"].items()),
        gzip=settings["compression"] == "gzip",
        user_agent=_user_agent(),
    )


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
