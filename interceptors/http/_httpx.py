"""httpx adapter: transports that wrap a transport, sync and async. The span ends when the response
stream is closed (after the body is read, or on leaving `client.stream(...)`), not at its headers."""

from __future__ import annotations

import weakref
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx

from .._contrib import traced_by_contrib
from ._client_recipe import ClientCall, ClientRecipe, send_through, send_through_async
from ._options import client_options


class TracingTransport(httpx.BaseTransport):
    """`httpx.Client(transport=TracingTransport())`, or around a transport of your own.

    Options: tracer_provider, excluded_urls, request_hook(span, method, url, headers),
    response_hook(span, status, headers), kubernetes (default True).

    Under contrib's HTTPXClientInstrumentor, which traces httpx's own transports, it is that transport
    (`transport`, or a new httpx.HTTPTransport): one span per request, contrib's (see
    interceptors._contrib).
    """

    def __new__(cls, transport: httpx.BaseTransport | None = None, **options: Any) -> Any:
        if traced_by_contrib("httpx"):
            return transport if transport is not None else httpx.HTTPTransport()
        return super().__new__(cls)

    def __init__(self, transport: httpx.BaseTransport | None = None, **options: Any):
        self._transport = transport if transport is not None else httpx.HTTPTransport()
        self._recipe = ClientRecipe(client_options("TracingTransport", options))

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        call = self._recipe.start(request.method, str(request.url), request.headers)
        if call is None:
            return self._transport.handle_request(request)
        response = send_through(call, self._transport.handle_request, request)
        call.response(response.status_code, response.http_version, response.headers)
        response.stream = _Stream(response.stream, call)
        return response

    def close(self) -> None:
        self._transport.close()


class AsyncTracingTransport(httpx.AsyncBaseTransport):
    """`httpx.AsyncClient(transport=AsyncTracingTransport())`; options and contrib as TracingTransport."""

    def __new__(cls, transport: httpx.AsyncBaseTransport | None = None, **options: Any) -> Any:
        if traced_by_contrib("httpx"):
            return transport if transport is not None else httpx.AsyncHTTPTransport()
        return super().__new__(cls)

    def __init__(self, transport: httpx.AsyncBaseTransport | None = None, **options: Any):
        self._transport = transport if transport is not None else httpx.AsyncHTTPTransport()
        self._recipe = ClientRecipe(client_options("AsyncTracingTransport", options))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        call = self._recipe.start(request.method, str(request.url), request.headers)
        if call is None:
            return await self._transport.handle_async_request(request)
        response = await send_through_async(call, self._transport.handle_async_request, request)
        call.response(response.status_code, response.http_version, response.headers)
        response.stream = _AsyncStream(response.stream, call)
        return response

    async def aclose(self) -> None:
        await self._transport.aclose()


class _Stream(httpx.SyncByteStream):
    def __init__(self, stream: Any, call: ClientCall):
        self._stream, self._call = stream, call
        weakref.finalize(self, call.finish)  # a response nobody reads or closes must not leak its span

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._stream
        except Exception as exc:  # a read failure; stopping early (GeneratorExit) is not one
            self._call.finish(exc)
            raise

    def close(self) -> None:
        try:
            self._stream.close()
        finally:
            self._call.finish()


class _AsyncStream(httpx.AsyncByteStream):
    def __init__(self, stream: Any, call: ClientCall):
        self._stream, self._call = stream, call
        weakref.finalize(self, call.finish)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._stream:
                yield chunk
        except Exception as exc:
            self._call.finish(exc)
            raise

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            self._call.finish()
