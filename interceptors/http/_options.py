"""The options every HTTP interceptor takes, resolved once per interceptor: argument > env var > default."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from opentelemetry.trace import TracerProvider

from tracing.propagation import TrustPolicy

from ._env import (
    CLIENT_REQUEST_HEADERS,
    CLIENT_RESPONSE_HEADERS,
    SERVER_REQUEST_HEADERS,
    SERVER_RESPONSE_HEADERS,
    http_environment,
)
from ._excluded import DEFAULT_EXCLUDED_PATHS, ExcludedPaths
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
    return _resolve(owner, given, SERVER_OPTIONS, SERVER_REQUEST_HEADERS, SERVER_RESPONSE_HEADERS)


def client_options(owner: str, given: dict[str, Any]) -> Options:
    return _resolve(owner, given, CLIENT_OPTIONS, CLIENT_REQUEST_HEADERS, CLIENT_RESPONSE_HEADERS)


def _resolve(
    owner: str, given: dict[str, Any], known: tuple[str, ...], request_var: str, response_var: str
) -> Options:
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise TypeError(f"{owner}: unknown option(s) {', '.join(unknown)}; known options: {', '.join(known)}")
    env = http_environment()
    excluded: Iterable[str] | None = given.get("excluded_urls")
    if excluded is None:
        excluded = env.excluded_urls if env.excluded_urls is not None else DEFAULT_EXCLUDED_PATHS
    elif isinstance(excluded, str):
        raise TypeError(f"{owner}: excluded_urls must be a list of paths, got the string {excluded!r}")
    options = {k: v for k, v in given.items() if k != "excluded_urls"}
    if "kubernetes" in options:
        options["kubernetes"] = bool(options["kubernetes"])
    return Options(
        excluded=ExcludedPaths(excluded),
        request_headers=HeaderCapture("http.request.header.", env.headers[request_var], env.sanitize_fields),
        response_headers=HeaderCapture(
            "http.response.header.", env.headers[response_var], env.sanitize_fields
        ),
        **options,
    )
