"""An echo service with all four RPC kinds, sync and grpc.aio, for the option and propagation suites."""

from __future__ import annotations

import asyncio
import contextlib

import grpc
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


# How echo() traces its call: instrument_channel()/instrument_server(), or (*_interceptor) the
# interceptors; aio_rw callers write() their requests and read() their responses.
ECHO_FLAVORS = ("sync", "sync_interceptor", "aio", "aio_interceptor", "aio_rw", "aio_rw_interceptor")


def echo(flavor: str, kind: RpcKind, requests: list[bytes], provider=None, **options) -> list[bytes]:
    """One call of `kind` through a fresh echo server and channel; the responses it got."""
    interceptor = flavor.endswith("_interceptor")
    if flavor.startswith("aio"):
        return asyncio.run(
            _aio_echo(kind, requests, provider, interceptor, flavor.startswith("aio_rw"), options)
        )
    with contextlib.ExitStack() as stack:
        target = stack.enter_context(
            sync_server([generic_handlers(ECHO, SYNC_ECHO)], provider, interceptor, **options)
        )
        channel = stack.enter_context(sync_channel(target, provider, interceptor, **options))
        stub = multicallable(channel, kind, ECHO)
        request = iter(requests) if kind in STREAMING_REQUESTS else requests[0]
        return list(stub(request)) if kind in STREAMING_RESPONSES else [stub(request)]


async def _aio_echo(
    kind: RpcKind, requests: list[bytes], provider, interceptor: bool, read_write: bool, options: dict
) -> list[bytes]:
    async with contextlib.AsyncExitStack() as stack:
        target = await stack.enter_async_context(
            aio_server([generic_handlers(ECHO, AIO_ECHO)], provider, interceptor, **options)
        )
        channel = await stack.enter_async_context(aio_channel(target, provider, interceptor, **options))
        stub = multicallable(channel, kind, ECHO)
        if kind not in STREAMING_REQUESTS:
            call = stub(requests[0])
        elif read_write:
            call = stub()
            for request in requests:
                await call.write(request)
            await call.done_writing()
        else:
            call = stub(_aiter(requests))
        if kind not in STREAMING_RESPONSES:
            return [await call]
        if read_write:
            return [message async for message in _read_all(call)]
        return [r async for r in call]


async def _read_all(call):
    while (message := await call.read()) is not grpc.aio.EOF:
        yield message


async def _aiter(items):
    for item in items:
        yield item
