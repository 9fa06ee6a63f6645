"""Fixtures for the HTTP interceptor suite: the four apps behind our middleware on real servers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest
from _http_apps import Service
from _http_servers import asgi_server, wsgi_server
from _http_support import build


@pytest.fixture
def service() -> Service:
    return Service()


@pytest.fixture
def serve(recorder, service) -> Iterator[Callable[..., str]]:
    """serve(kind, **options) -> the base URL of a real server running that app under our middleware
    (tracer_provider defaults to the test's recorder). Servers stop when the test ends."""
    with ExitStack() as stack:

        def start(kind: str, **options: Any) -> str:
            options.setdefault("tracer_provider", recorder.provider)
            app = build(kind, service, **options)
            server = asgi_server if kind in ("asgi", "starlette") else wsgi_server
            return stack.enter_context(server(app))

        yield start
