"""The HTTP interceptors' settings from environment variables, read through tracing.config."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tracing.config import read_environment

EXCLUDED_URLS = "KUBETRACE_HTTP_EXCLUDED_URLS"
_CAPTURE = "OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_"
SERVER_REQUEST_HEADERS = _CAPTURE + "SERVER_REQUEST"
SERVER_RESPONSE_HEADERS = _CAPTURE + "SERVER_RESPONSE"
CLIENT_REQUEST_HEADERS = _CAPTURE + "CLIENT_REQUEST"
CLIENT_RESPONSE_HEADERS = _CAPTURE + "CLIENT_RESPONSE"
SANITIZE_FIELDS = _CAPTURE + "SANITIZE_FIELDS"
_NOTHING = "none"  # KUBETRACE_HTTP_EXCLUDED_URLS=none: trace every path


@dataclass(frozen=True)
class HttpEnvironment:
    """Comma-separated variables split into entries; `excluded_urls` is None when the variable is unset."""

    excluded_urls: tuple[str, ...] | None
    headers: Mapping[str, tuple[str, ...]]  # by variable name: the header patterns to capture
    sanitize_fields: tuple[str, ...]


def http_environment(environ: Mapping[str, str] | None = None) -> HttpEnvironment:
    """Read the variables now (`environ` defaults to the process environment)."""
    env = read_environment(environ)
    raw_excluded = env.get(EXCLUDED_URLS, "").strip()
    excluded = (
        None if not raw_excluded else () if raw_excluded.lower() == _NOTHING else _entries(raw_excluded)
    )
    names = (SERVER_REQUEST_HEADERS, SERVER_RESPONSE_HEADERS, CLIENT_REQUEST_HEADERS, CLIENT_RESPONSE_HEADERS)
    return HttpEnvironment(
        excluded_urls=excluded,
        headers={name: _entries(env.get(name, "")) for name in names},
        sanitize_fields=_entries(env.get(SANITIZE_FIELDS, "")),
    )


def _entries(raw: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in raw.split(",") if item.strip())
