"""A three-hop chain on loopback for the gRPC suites: client -> front server -> downstream client ->
back server, built sync or grpc.aio, instrumented (given a tracer provider) or bare.

The front server's handler first calls the back server (so that span is a child of the front
server span), then ends the way the scenario's outcome says. Messages are bytes; the first request
names the outcome. Every server and channel a rig starts is closed when its `with` block ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass

import grpc
import grpc.aio

from interceptors import grpc as kgrpc
from interceptors.grpc import RpcKind

FRONT = "kt.test.Chain"
BACK = "kt.test.Back"
METHODS = {
    RpcKind.UNARY: "Unary",
    RpcKind.SERVER_STREAM: "ServerStream",
    RpcKind.CLIENT_STREAM: "ClientStream",
    RpcKind.BIDI_STREAM: "Bidi",
}
OUTCOMES = ("ok", "error_code", "abort", "exception", "cancel", "deadline")
DEADLINE_S = 0.5
TRAILER = "kt-trailer"

_C = grpc.StatusCode
EXPECTED_CODE = {
    "ok": _C.OK,
    "error_code": _C.NOT_FOUND,
    "abort": _C.PERMISSION_DENIED,
    "exception": _C.UNKNOWN,
    "cancel": _C.CANCELLED,
    "deadline": _C.DEADLINE_EXCEEDED,
}


def full_method(kind: RpcKind, service: str = FRONT) -> str:
    return f"/{service}/{METHODS[kind]}"


class Service(grpc.GenericRpcHandler):
    """One service's handlers, which add_services() adds as generated code does: as registered
    methods and as a generic handler (the registered ones take precedence)."""

    def __init__(self, name: str, methods: dict[str, grpc.RpcMethodHandler]):
        self.name, self.methods = name, methods
        self._generic = grpc.method_handlers_generic_handler(name, methods)

    def service(self, handler_call_details):
        return self._generic.service(handler_call_details)


def generic_handlers(service: str, behaviours: dict[RpcKind, Callable]) -> Service:
    factories = {
        RpcKind.UNARY: grpc.unary_unary_rpc_method_handler,
        RpcKind.SERVER_STREAM: grpc.unary_stream_rpc_method_handler,
        RpcKind.CLIENT_STREAM: grpc.stream_unary_rpc_method_handler,
        RpcKind.BIDI_STREAM: grpc.stream_stream_rpc_method_handler,
    }
    return Service(
        service, {METHODS[kind]: factories[kind](behaviour) for kind, behaviour in behaviours.items()}
    )


def add_services(server, handlers: list) -> None:
    """Add generic handlers; a Service also as registered methods, as generated code does."""
    server.add_generic_rpc_handlers(handlers)
    for handler in handlers:
        if isinstance(handler, Service):
            server.add_registered_method_handlers(handler.name, handler.methods)


def multicallable(channel, kind: RpcKind, service: str = FRONT):
    factory = {
        RpcKind.UNARY: channel.unary_unary,
        RpcKind.SERVER_STREAM: channel.unary_stream,
        RpcKind.CLIENT_STREAM: channel.stream_unary,
        RpcKind.BIDI_STREAM: channel.stream_stream,
    }[kind]
    return factory(full_method(kind, service))


def _details(code: grpc.StatusCode, details: str | None) -> str | None:
    # Which side notices an expired deadline first is a race inside grpc core, and the details say which.
    return "<deadline>" if code is grpc.StatusCode.DEADLINE_EXCEEDED else details


def _trailers(metadata) -> tuple:
    return tuple((k, v) for k, v in (metadata or ()) if k.startswith("kt-"))


@dataclass
class Rig:
    """A running chain: the front channel, and the event the front handler sets once it is waiting."""

    channel: object
    entered: object
    front_target: str


# --- sync -------------------------------------------------------------------------------------


def _sync_outcome(outcome: str, context, downstream, entered: threading.Event) -> None:
    downstream(b"hop")
    context.set_trailing_metadata(((TRAILER, outcome),))
    if outcome == "error_code":
        context.set_code(_C.NOT_FOUND)
        context.set_details("missing")
    elif outcome == "abort":
        context.abort(_C.PERMISSION_DENIED, "denied")
    elif outcome == "exception":
        raise ValueError("boom")
    elif outcome in ("cancel", "deadline"):
        entered.set()
        while context.is_active():
            time.sleep(0.005)


def sync_front(downstream, entered: threading.Event) -> dict[RpcKind, Callable]:
    def unary(request, context):
        _sync_outcome(request.decode(), context, downstream, entered)
        return b"reply"

    def server_stream(request, context):
        yield b"first"
        _sync_outcome(request.decode(), context, downstream, entered)
        yield b"second"

    def client_stream(requests, context):
        outcome, *_ = [r.decode() for r in requests]
        _sync_outcome(outcome, context, downstream, entered)
        return b"reply"

    def bidi(requests, context):
        outcome = next(requests).decode()
        yield b"first"
        list(requests)
        _sync_outcome(outcome, context, downstream, entered)
        yield b"second"

    return {
        RpcKind.UNARY: unary,
        RpcKind.SERVER_STREAM: server_stream,
        RpcKind.CLIENT_STREAM: client_stream,
        RpcKind.BIDI_STREAM: bidi,
    }


@contextlib.contextmanager
def sync_server(handlers: list, provider=None, interceptor: bool = False, **options):
    """A server for `handlers`: traced by instrument_server(), or with interceptor=True by
    server_interceptor(), or bare when provider is None."""
    traced = provider is not None
    interceptors = (
        [kgrpc.server_interceptor(tracer_provider=provider, **options)] if traced and interceptor else []
    )
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8), interceptors=interceptors)
    if traced and not interceptor:
        server = kgrpc.instrument_server(server, tracer_provider=provider, **options)
    add_services(server, handlers)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.stop(None)


@contextlib.contextmanager
def sync_channel(target: str, provider=None, interceptor: bool = False, **options):
    """A channel to `target`: traced by instrument_channel(), or with interceptor=True by
    grpc.intercept_channel(channel, client_interceptor()), or bare when provider is None."""
    channel = grpc.insecure_channel(target)
    grpc.channel_ready_future(channel).result(timeout=10)
    try:
        if provider is None:
            yield channel
        elif interceptor:
            options.setdefault("target", target)
            yield grpc.intercept_channel(
                channel, kgrpc.client_interceptor(tracer_provider=provider, **options)
            )
        else:
            yield kgrpc.instrument_channel(channel, tracer_provider=provider, **options)
    finally:
        channel.close()


@contextlib.contextmanager
def sync_rig(provider=None, interceptor: bool = False):
    """client -> front server -> downstream client -> back server; interceptor=True traces them
    with the interceptors, else with instrument_channel() and instrument_server()."""
    entered = threading.Event()
    with contextlib.ExitStack() as stack:
        back = stack.enter_context(
            sync_server([generic_handlers(BACK, {RpcKind.UNARY: lambda r, c: r})], provider, interceptor)
        )
        downstream = multicallable(
            stack.enter_context(sync_channel(back, provider, interceptor)), RpcKind.UNARY, BACK
        )
        front = stack.enter_context(
            sync_server([generic_handlers(FRONT, sync_front(downstream, entered))], provider, interceptor)
        )
        yield Rig(stack.enter_context(sync_channel(front, provider, interceptor)), entered, front)


def sync_call(rig: Rig, kind: RpcKind, outcome: str) -> tuple:
    """Run one call and return what the caller observed: responses, code, details, trailers, errors."""
    stub = multicallable(rig.channel, kind)
    request = outcome.encode()
    if kind in (RpcKind.CLIENT_STREAM, RpcKind.BIDI_STREAM):
        request = iter([request, b"more"])
    timeout = DEADLINE_S if outcome == "deadline" else 10
    if kind in (RpcKind.UNARY, RpcKind.CLIENT_STREAM):
        return _sync_unary_response(stub, request, outcome, timeout, rig.entered)
    responses = stub(request, timeout=timeout)
    seen = [next(responses)]
    if outcome == "cancel":
        rig.entered.wait(10)
        responses.cancel()
    error = None
    try:
        seen.extend(responses)
    except grpc.RpcError as exc:
        # a response iterator raises itself, an RpcError that is also the Call and Future
        kinds = tuple(isinstance(exc, t) for t in (grpc.RpcError, grpc.Call, grpc.Future))
        error = exc is responses, exc.code(), str(exc).splitlines()[0], kinds
    code = responses.code()
    return seen, error, code, _details(code, responses.details()), _trailers(responses.trailing_metadata())


def _sync_unary_response(stub, request, outcome: str, timeout: float, entered: threading.Event) -> tuple:
    if outcome == "cancel":
        future = stub.future(request)
        entered.wait(10)
        future.cancel()
        return future.cancelled(), future.done(), future.code(), future.details()
    try:
        response, call = stub.with_call(request, timeout=timeout)
    except grpc.RpcError as exc:
        return "error", exc.code(), _details(exc.code(), exc.details()), _trailers(exc.trailing_metadata())
    return response, call.code(), call.details(), _trailers(call.trailing_metadata())


# --- grpc.aio ---------------------------------------------------------------------------------


async def _aio_outcome(outcome: str, context, downstream, entered: asyncio.Event) -> None:
    await downstream(b"hop")
    context.set_trailing_metadata(((TRAILER, outcome),))
    if outcome == "error_code":
        context.set_code(_C.NOT_FOUND)
        context.set_details("missing")
    elif outcome == "abort":
        await context.abort(_C.PERMISSION_DENIED, "denied")
    elif outcome == "exception":
        raise ValueError("boom")
    elif outcome in ("cancel", "deadline"):
        entered.set()
        await asyncio.sleep(30)


def aio_front(downstream, entered: asyncio.Event) -> dict[RpcKind, Callable]:
    """Async-generator handlers, iterating the request stream."""

    async def unary(request, context):
        await _aio_outcome(request.decode(), context, downstream, entered)
        return b"reply"

    async def server_stream(request, context):
        yield b"first"
        await _aio_outcome(request.decode(), context, downstream, entered)
        yield b"second"

    async def client_stream(requests, context):
        outcome, *_ = [r.decode() async for r in requests]
        await _aio_outcome(outcome, context, downstream, entered)
        return b"reply"

    async def bidi(requests, context):
        outcome = None
        async for request in requests:
            if outcome is None:
                outcome = request.decode()
                yield b"first"
        await _aio_outcome(outcome, context, downstream, entered)
        yield b"second"

    return {
        RpcKind.UNARY: unary,
        RpcKind.SERVER_STREAM: server_stream,
        RpcKind.CLIENT_STREAM: client_stream,
        RpcKind.BIDI_STREAM: bidi,
    }


def aio_rw_front(downstream, entered: asyncio.Event) -> dict[RpcKind, Callable]:
    """Coroutine handlers written with context.read() / context.write()."""

    async def server_stream(request, context):
        await context.write(b"first")
        await _aio_outcome(request.decode(), context, downstream, entered)
        await context.write(b"second")

    async def client_stream(requests, context):
        outcome = (await context.read()).decode()
        while await context.read() is not grpc.aio.EOF:
            pass
        await _aio_outcome(outcome, context, downstream, entered)
        return b"reply"

    async def bidi(requests, context):
        outcome = (await context.read()).decode()
        await context.write(b"first")
        while await context.read() is not grpc.aio.EOF:
            pass
        await _aio_outcome(outcome, context, downstream, entered)
        await context.write(b"second")

    handlers = aio_front(downstream, entered)
    handlers.update(
        {
            RpcKind.SERVER_STREAM: server_stream,
            RpcKind.CLIENT_STREAM: client_stream,
            RpcKind.BIDI_STREAM: bidi,
        }
    )
    return handlers


@contextlib.asynccontextmanager
async def aio_server(handlers: list, provider=None, interceptor: bool = False, **options):
    """As sync_server(), for grpc.aio."""
    traced = provider is not None
    interceptors = (
        [kgrpc.aio_server_interceptor(tracer_provider=provider, **options)] if traced and interceptor else []
    )
    server = grpc.aio.server(futures.ThreadPoolExecutor(max_workers=4), interceptors=interceptors)
    if traced and not interceptor:
        server = kgrpc.instrument_server(server, tracer_provider=provider, **options)
    add_services(server, handlers)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        await server.stop(None)


@contextlib.asynccontextmanager
async def aio_channel(target: str, provider=None, interceptor: bool = False, **options):
    """As sync_channel(), for grpc.aio: instrument_channel(), or aio_client_interceptors()."""
    traced = provider is not None
    interceptors = (
        kgrpc.aio_client_interceptors(tracer_provider=provider, target=target, **options)
        if traced and interceptor
        else None
    )
    channel = grpc.aio.insecure_channel(target, interceptors=interceptors)
    await asyncio.wait_for(channel.channel_ready(), 10)
    try:
        if traced and not interceptor:
            yield kgrpc.instrument_channel(channel, tracer_provider=provider, **options)
        else:
            yield channel
    finally:
        await channel.close()


@contextlib.asynccontextmanager
async def aio_rig(provider=None, read_write: bool = False, interceptor: bool = False):
    """As sync_rig(), for grpc.aio."""
    entered = asyncio.Event()
    front_handlers = aio_rw_front if read_write else aio_front
    async with contextlib.AsyncExitStack() as stack:

        async def echo(request, context):
            return request

        back = await stack.enter_async_context(
            aio_server([generic_handlers(BACK, {RpcKind.UNARY: echo})], provider, interceptor)
        )
        downstream = multicallable(
            await stack.enter_async_context(aio_channel(back, provider, interceptor)), RpcKind.UNARY, BACK
        )
        handlers = [generic_handlers(FRONT, front_handlers(downstream, entered))]
        front = await stack.enter_async_context(aio_server(handlers, provider, interceptor))
        yield Rig(await stack.enter_async_context(aio_channel(front, provider, interceptor)), entered, front)


async def aio_call(rig: Rig, kind: RpcKind, outcome: str, read_write: bool = False) -> tuple:
    """Run one call and return what the caller observed: responses, code, details, trailers, errors."""
    stub = multicallable(rig.channel, kind)
    timeout = DEADLINE_S if outcome == "deadline" else 10
    if kind in (RpcKind.UNARY, RpcKind.SERVER_STREAM):
        call = stub(outcome.encode(), timeout=timeout)
    elif read_write:
        call = stub(timeout=timeout)
        await call.write(outcome.encode())
        await call.write(b"more")
        await call.done_writing()
    else:
        call = stub(_requests(outcome), timeout=timeout)
    seen, error = await _aio_responses(call, kind, outcome, rig.entered, read_write)
    code = await call.code()
    return seen, error, code, _details(code, await call.details()), _trailers(await call.trailing_metadata())


async def _requests(outcome: str):
    yield outcome.encode()
    yield b"more"


async def _aio_responses(call, kind: RpcKind, outcome: str, entered: asyncio.Event, read_write: bool):
    seen: list = []
    streaming = kind in (RpcKind.SERVER_STREAM, RpcKind.BIDI_STREAM)
    if streaming and read_write:
        read = call.read
    elif streaming:
        messages = aiter(call)
        read = lambda: anext(messages, grpc.aio.EOF)  # noqa: E731
    try:
        if streaming:
            seen.append(await read())
        if outcome == "cancel":
            await asyncio.wait_for(entered.wait(), 10)
            call.cancel()
        if not streaming:
            seen.append(await call)
        while streaming and (message := await read()) is not grpc.aio.EOF:
            seen.append(message)
    except (grpc.aio.AioRpcError, asyncio.CancelledError) as exc:
        return seen, (type(exc).__name__, getattr(exc, "code", lambda: None)())
    return seen, None
