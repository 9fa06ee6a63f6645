"""requests adapter: traces what a Session's transport adapters send."""

from __future__ import annotations

from typing import Any

import requests
from requests.adapters import BaseAdapter

from .._contrib import traced_by_contrib
from ._client_recipe import ClientRecipe, send_through
from ._options import client_options
from ._urllib3 import HTTP_VERSIONS, end_with_body


def instrument_requests_session(session: requests.Session, **options: Any) -> requests.Session:
    """Trace every request `session` sends, one span per request sent (each redirect is one).

    Wraps the transport adapters mounted now: mount custom adapters first. The span ends when the
    body has been read (at once unless stream=True) or the response is closed.
    Options: tracer_provider, excluded_urls, request_hook(span, method, url, headers),
    response_hook(span, status, headers), kubernetes (default True). Returns `session`, untouched
    when contrib's RequestsInstrumentor traces it already (see interceptors._contrib).
    """
    if traced_by_contrib("requests", session):
        return session
    recipe = ClientRecipe(client_options("instrument_requests_session", options))
    for adapter in session.adapters.values():
        _instrument_adapter(adapter, recipe)
    return session


def _instrument_adapter(adapter: BaseAdapter, recipe: ClientRecipe) -> None:
    send = adapter.send
    if getattr(send, "_kubetrace", False):
        return

    def traced_send(request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        call = recipe.start(request.method or "GET", request.url or "", request.headers)
        if call is None:
            return send(request, *args, **kwargs)
        response = send_through(call, send, request, *args, **kwargs)
        raw = response.raw
        call.response(
            response.status_code, HTTP_VERSIONS.get(getattr(raw, "version", None)), response.headers
        )
        end_with_body(raw, call)
        return response

    traced_send._kubetrace = True  # type: ignore[attr-defined]
    adapter.send = traced_send  # type: ignore[method-assign]
