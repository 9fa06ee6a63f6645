"""The options every HTTP interceptor takes, resolved once per interceptor: argument > settings.

The settings are those of the active tracing.setup(), else what the environment says now (see
tracing.config: it reads the variables, applies the precedence rule and shows each value's source).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from opentelemetry.trace import TracerProvider

import tracing
from tracing.propagation import TrustPolicy

from ._excluded import ExcludedPaths
from ._headers import HeaderCapture

_COMMON = ("tracer_provider", "excluded_urls", "request_hook", "response_hook", "kubernetes")
SERVER_OPTIONS = (*_COMMON, "trust_policy", "route")
CLIENT_OPTIONS = _COMMON


@dataclass(frozen=True)
class Options:
    """One interceptor's resolved options (see the package docstring for what each means)."""

    excluded: ExcludedPaths
    request_headers: HeaderCapture
    response_headers: HeaderCapture
    tracer_provider: TracerProvider | None = None
    request_hook: Callable[..., Any] | None = None
    response_hook: Callable[..., Any] | None = None
    kubernetes: bool = True  # Kubernetes request-info span names and attributes, and audit-id
    trust_policy: TrustPolicy | None = None  # None: the policy of tracing.setup(), else trust all
    route: Callable[[Any], str | None] | None = None  # the request's route template, known before it runs


def server_options(owner: str, given: dict[str, Any]) -> Options:
    return _resolve(owner, given, SERVER_OPTIONS, "server")


def client_options(owner: str, given: dict[str, Any]) -> Options:
    return _resolve(owner, given, CLIENT_OPTIONS, "client")


def _resolve(owner: str, given: dict[str, Any], known: tuple[str, ...], side: str) -> Options:
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise TypeError(f"{owner}: unknown option(s) {', '.join(unknown)}; known options: {', '.join(known)}")
    settings = tracing.current_settings()
    excluded: Iterable[str] | None = given.get("excluded_urls")
    if excluded is None:
        excluded = settings["http_excluded_urls"]
    elif isinstance(excluded, str):
        raise TypeError(f"{owner}: excluded_urls must be a list of paths, got the string {excluded!r}")
    options = {k: v for k, v in given.items() if k != "excluded_urls"}
    if "kubernetes" in options:
        options["kubernetes"] = bool(options["kubernetes"])
    sanitize = settings["http_sanitize_fields"]
    return Options(
        excluded=ExcludedPaths(excluded),
        request_headers=HeaderCapture(
            "http.request.header.", settings[f"http_{side}_request_headers"], sanitize
        ),
        response_headers=HeaderCapture(
            "http.response.header.", settings[f"http_{side}_response_headers"], sanitize
        ),
        **options,
    )
