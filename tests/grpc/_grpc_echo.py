"""An echo service with all four RPC kinds, sync and grpc.aio, for the option and propagation suites."""

from __future__ import annotations

import asyncio
import contextlib

from _grpc_chain import aio_channel, aio_server, generic_handlers, multicallable, sync_channel, sync_server

from interceptors.grpc import RpcKind

ECHO = "kt.test.Echo"
STREAMING_REQUESTS = (RpcKind.CLIENT_STREAM, RpcKind.BIDI_STREAM)
STREAMING_RESPONSES = (RpcKind.SERVER_STREAM, RpcKind.BIDI_STREAM)


def _sync_server_stream(request, context):
    yield request
    yield request + request


def _sync_bidi(requests, context):
    yield from requests


SYNC_ECHO = {
    RpcKind.UNARY: lambda request, context: request,
    RpcKind.SERVER_STREAM: _sync_server_stream,
    RpcKind.CLIENT_STREAM: lambda requests, context: b"".join(requests),
    RpcKind.BIDI_STREAM: _sync_bidi,
}


async def _unary(request, context):
    return request


async def _server_stream(request, context):
    yield request
    yield request + request


async def _client_stream(requests, context):
    return b"".join([r async for r in requests])


async def _bidi(requests, context):
    async for request in requests:
        yield request


AIO_ECHO = {
    RpcKind.UNARY: _unary,
    RpcKind.SERVER_STREAM: _server_stream,
    RpcKind.CLIENT_STREAM: _client_stream,
    RpcKind.BIDI_STREAM: _bidi,
}


def expected_responses(kind: RpcKind, requests: list[bytes]) -> list[bytes]:
    return {
        RpcKind.UNARY: requests[:1],
        RpcKind.SERVER_STREAM: [requests[0], requests[0] * 2],
        RpcKind.CLIENT_STREAM: [b"".join(requests)],
        RpcKind.BIDI_STREAM: requests,
    }[kind]


def echo(flavor: str, kind: RpcKind, requests: list[bytes], provider=None, **options) -> list[bytes]:
    """One call of `kind` through a fresh echo server and channel; the responses it got."""
    if flavor == "aio":
        return asyncio.run(_aio_echo(kind, requests, provider, options))
    with contextlib.ExitStack() as stack:
        target = stack.enter_context(sync_server([generic_handlers(ECHO, SYNC_ECHO)], provider, **options))
        stub = multicallable(stack.enter_context(sync_channel(target, provider, **options)), kind, ECHO)
        request = iter(requests) if kind in STREAMING_REQUESTS else requests[0]
        return list(stub(request)) if kind in STREAMING_RESPONSES else [stub(request)]


async def _aio_echo(kind: RpcKind, requests: list[bytes], provider, options: dict) -> list[bytes]:
    async with contextlib.AsyncExitStack() as stack:
        target = await stack.enter_async_context(
            aio_server([generic_handlers(ECHO, AIO_ECHO)], provider, **options)
        )
        stub = multicallable(
            await stack.enter_async_context(aio_channel(target, provider, **options)), kind, ECHO
        )
        request = _aiter(requests) if kind in STREAMING_REQUESTS else requests[0]
        call = stub(request)
        return [r async for r in call] if kind in STREAMING_RESPONSES else [await call]


async def _aiter(items):
    for item in items:
        yield item
