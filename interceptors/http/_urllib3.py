"""urllib3 adapter: a PoolManager (the official kubernetes client's transport) or a connection pool.

The span ends when the response body has been read (urllib3 then releases the connection), when the
response is closed or released, or at the latest when the response is garbage-collected unread.
"""

from __future__ import annotations

import inspect
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

from urllib3 import BaseHTTPResponse, HTTPConnectionPool, HTTPHeaderDict

from .._contrib import traced_by_contrib
from ._client_recipe import ClientCall, ClientRecipe, send_through
from ._options import client_options

P = TypeVar("P")
HTTP_VERSIONS = {9: "0.9", 10: "1.0", 11: "1.1", 20: "2", 30: "3"}  # urllib3's response.version


def instrument_pool_manager(pool: P, **options: Any) -> P:
    """Trace every request made through `pool` (a PoolManager, ProxyManager or connection pool).

        api_client = kubernetes.client.ApiClient(configuration)
        instrument_pool_manager(api_client.rest_client.pool_manager)

    Options: tracer_provider, excluded_urls, request_hook(span, method, url, headers),
    response_hook(span, status, headers), kubernetes (default True). Returns `pool`, untouched when
    contrib's URLLib3Instrumentor traces it already (see interceptors._contrib).
    """
    if getattr(pool.urlopen, "_kubetrace", False) or traced_by_contrib("urllib3", pool):
        return pool
    recipe = ClientRecipe(client_options("instrument_pool_manager", options))
    urlopen = pool.urlopen
    positional = _positional_parameters(urlopen)
    base = f"{pool.scheme}://{pool.host}:{pool.port}" if isinstance(pool, HTTPConnectionPool) else ""

    def traced_urlopen(method: str, url: str, *args: Any, **kw: Any) -> BaseHTTPResponse:
        if len(args) > len(positional):
            return urlopen(method, url, *args, **kw)  # let urllib3 report the bad call, untraced
        kw.update(zip(positional, args, strict=False))
        given = kw.get("headers")
        headers = HTTPHeaderDict(pool.headers if given is None else given)  # a copy: the caller's is theirs
        call = recipe.start(method, url if "://" in url else base + url, headers)
        if call is None:
            return urlopen(method, url, **kw)
        kw["headers"] = headers
        response = send_through(call, urlopen, method, url, **kw)
        call.response(response.status, HTTP_VERSIONS.get(response.version), response.headers)
        end_with_body(response, call)
        return response

    traced_urlopen._kubetrace = True  # type: ignore[attr-defined]
    pool.urlopen = traced_urlopen  # type: ignore[method-assign]
    return pool


def _positional_parameters(urlopen: Any) -> tuple[str, ...]:
    """Names of urlopen's positional parameters after (method, url): PoolManager's differ from a pool's."""
    parameters = inspect.signature(urlopen).parameters.values()
    return tuple(p.name for p in parameters if p.kind is p.POSITIONAL_OR_KEYWORD)[2:]


def end_with_body(response: Any, call: ClientCall) -> None:
    """End `call` once the urllib3 `response` body is consumed, closed or released (also for requests,
    whose Response.raw is one). Anything else has no body to wait for and ends the call now."""
    if not isinstance(response, BaseHTTPResponse) or response.closed:
        call.finish()  # preloaded (kubernetes client default) or empty: the body is already in memory
        return
    # Weak references: the response must stay collectable (no cycle through its own methods), so
    # that the finalizer below fires as soon as a caller drops an unread stream.
    response.release_conn = _ending(weakref.WeakMethod(response.release_conn), call)  # type: ignore[method-assign]
    response.close = _ending(weakref.WeakMethod(response.close), call)  # type: ignore[method-assign]
    weakref.finalize(response, call.finish)


def _ending(method: weakref.WeakMethod, call: ClientCall) -> Callable[[], None]:
    def call_then_end() -> None:
        try:
            bound = method()
            if bound is not None:
                bound()
        finally:
            call.finish()

    return call_then_end
