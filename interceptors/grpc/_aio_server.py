"""grpc.aio server adapter: coroutine handlers (including context.read()/write() style), async
generator handlers, and sync handlers (which grpc.aio runs in its executor), feeding the one recipe."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable

import grpc
import grpc.aio
from opentelemetry.context import Context

from tracing.instrumentation import Call, Incoming, attach, detach
from tracing.propagation import METADATA_GETTER

from ._callmeta import Side
from ._handlers import TracedHandlers
from ._recipe import STREAMED, Method, Recipe, end_server
from ._streams import areported
from ._sync_server import wrap_sync


class AioServerInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, **options):
        self._traced = TracedHandlers(Recipe(Side.SERVER, **options), wrap_aio)

    async def intercept_service(self, continuation, handler_call_details):
        return self._traced(await continuation(handler_call_details), handler_call_details.method)


def wrap_aio(recipe: Recipe, method: Method, behavior: Callable) -> Callable:
    # grpc.aio picks how to run a handler from what kind of function it is; ours must be the same kind.
    if method.response_streaming and inspect.isasyncgenfunction(behavior):
        return _wrap_async_generator(recipe, method, behavior)
    if inspect.iscoroutinefunction(behavior):
        return _wrap_coroutine(recipe, method, behavior)
    traced = wrap_sync(recipe, method, behavior)  # grpc.aio runs it in the server's executor
    return lambda request_or_iterator, context: traced(request_or_iterator, _StatusKeepingContext(context))


def _start(
    recipe: Recipe, method: Method, request_or_iterator, context, decision: Context | Incoming
) -> tuple[Call, object, object]:
    """Start the span; with message events, also watch the request stream and read()/write()."""
    streaming_requests = method.request_streaming
    request = STREAMED if streaming_requests else request_or_iterator
    call = recipe.start_server(method, context, request, decision)
    if call.events:
        context = _ReportingContext(context, call)
        if streaming_requests:
            request_or_iterator = areported(request_or_iterator, call.on_receive)
    return call, request_or_iterator, context


def _wrap_coroutine(recipe: Recipe, method: Method, behavior: Callable) -> Callable:
    decide = recipe.core.decide_server  # recipe.decide_server() inlined: a frame fewer per call

    async def traced(request_or_iterator, context):
        decision = decide(context.invocation_metadata() or (), METADATA_GETTER, context)
        if decision.__class__ is Context:  # not sampled, the common case, kept plain (as wrap_sync's)
            token = attach(decision)
            try:
                return await behavior(request_or_iterator, context)
            finally:
                detach(token)
        call, request_or_iterator, handler_context = _start(
            recipe, method, request_or_iterator, context, decision
        )
        token = call.enter()
        try:
            result = await behavior(request_or_iterator, handler_context)
        except BaseException as exc:  # CancelledError included: re-raised unchanged, span ends CANCELLED
            end_server(call, context, exc)
            raise
        finally:
            call.exit(token)
        if not method.response_streaming:
            call.on_send(result)
        end_server(call, context, None)
        return result

    return traced


def _wrap_async_generator(recipe: Recipe, method: Method, behavior: Callable) -> Callable:
    async def traced(request_or_iterator, context) -> AsyncIterator:
        call, request_or_iterator, handler_context = _start(
            recipe, method, request_or_iterator, context, recipe.decide_server(context)
        )
        exc: BaseException | None = None
        try:
            responses = behavior(request_or_iterator, handler_context)
            while True:
                # Entered per step: each step runs in the consumer's context, not one we could hold.
                token = call.enter()
                try:
                    response = await responses.__anext__()
                except StopAsyncIteration:
                    return
                finally:
                    call.exit(token)
                call.on_send(response)
                yield response
        except BaseException as error:
            exc = error
            raise
        finally:
            end_server(call, context, exc)

    return traced


class _ReportingContext:
    """grpc.aio's servicer context, reporting messages that pass through read() and write()."""

    def __init__(self, context, call: Call):
        self._context, self._call = context, call

    def __getattr__(self, name: str):
        return getattr(self._context, name)

    async def read(self):
        message = await self._context.read()
        if message is not grpc.aio.EOF:
            self._call.on_receive(message)
        return message

    async def write(self, message) -> None:
        self._call.on_send(message)
        await self._context.write(message)


class _StatusKeepingContext:
    """The reduced context grpc.aio gives sync handlers has no code()/details(); keep what is set.

    It cannot tell a cancelled call either: such a handler that returns normally reports OK.
    """

    def __init__(self, context):
        self._context, self._code, self._details = context, None, None

    def __getattr__(self, name: str):
        return getattr(self._context, name)

    def set_code(self, code: grpc.StatusCode) -> None:
        self._code = code
        self._context.set_code(code)

    def set_details(self, details: str) -> None:
        self._details = details
        self._context.set_details(details)

    def abort(self, code: grpc.StatusCode, details: str = "", trailing_metadata=()):
        self._code, self._details = code, details
        return self._context.abort(code, details, trailing_metadata)

    def code(self) -> grpc.StatusCode | None:
        return self._code

    def details(self) -> str | None:
        return self._details
