"""grpc.aio client adapter: one interceptor per RPC kind (a grpc.aio channel files each interceptor
under the first kind it implements), all feeding the one recipe.

The call the continuation returns goes back to the caller untouched, so awaiting it, iterating it,
read()/write(), cancel() and CancelledError behave exactly as without us; the span ends in the
call's done-callback, which grpc runs however the call finishes, abandoned streams included.
"""

from __future__ import annotations

import grpc
import grpc.aio

from tracing.instrumentation import Call

from ._callmeta import Side
from ._outcome import text
from ._recipe import STREAMED, Recipe
from ._streams import reported_any


class _Interceptor:
    def __init__(self, recipe: Recipe):
        self._recipe = recipe

    async def _intercept(
        self, continuation, details, request, request_streaming: bool, response_streaming: bool
    ):
        method = self._recipe.method(details.method, request_streaming, response_streaming)
        if method is None:
            return await continuation(details, request)
        call, metadata = self._recipe.start_client(
            method, details.metadata, STREAMED if request_streaming else request
        )
        if request_streaming and call.events:
            request = reported_any(request, call.on_send)
        try:
            rpc = await continuation(_with_metadata(details, metadata), request)
        except BaseException as exc:  # raised (or cancelled) before the call existed
            call.fail(exc)
            raise
        return watched(rpc, call)


def watched(rpc, call: Call):
    """`rpc`, whose span ends when it is done; with message events, behind a reporting proxy."""
    if not call.recording:
        return rpc
    if call.events:
        rpc = _ReportingCall(rpc, call)
    rpc.add_done_callback(lambda done: _end(call, done))
    return rpc


def _with_metadata(details: grpc.aio.ClientCallDetails, metadata: list) -> grpc.aio.ClientCallDetails:
    return grpc.aio.ClientCallDetails(
        details.method,
        details.timeout,
        grpc.aio.Metadata(*metadata),
        details.credentials,
        details.wait_for_ready,
    )


def _end(call: Call, rpc) -> None:
    code = _finished(rpc.code()) or grpc.StatusCode.UNKNOWN
    call.end(code, None if code is grpc.StatusCode.OK else text(_finished(rpc.details())))


def _finished(awaitable):
    """The value of an awaitable that is already complete, read without an event loop turn.

    A done-callback is synchronous, and grpc.aio offers a finished call's code() and details() only
    as coroutines; for a finished call they complete without suspending.
    """
    step = awaitable.__await__()
    try:
        step.send(None)
    except StopIteration as done:
        return done.value
    step.close()  # it would have to wait: the call is not finished after all
    return None


class _ReportingCall:
    """A call that reports each response as the caller takes it (by await, `async for` or read())
    and each request the caller write()s.

    Registered as the grpc.aio call types, so grpc hands it back as the call (an async iterator in
    its place would lose read()). The span ends once the call has finished and the caller is done
    reading (see Call.hold).
    """

    def __init__(self, rpc, call: Call):
        self._rpc, self._call = rpc, call
        call.hold()

    def __getattr__(self, name: str):
        return getattr(self._rpc, name)

    def __repr__(self) -> str:
        return repr(self._rpc)

    def __await__(self):
        try:
            response = yield from self._rpc.__await__()
        except BaseException:
            self._call.release()
            raise
        self._call.on_receive(response)
        self._call.release()
        return response

    async def _messages(self):
        try:
            async for message in self._rpc:
                self._call.on_receive(message)
                yield message
        finally:
            self._call.release()

    def __aiter__(self):
        return self._messages()

    async def read(self):
        try:
            message = await self._rpc.read()
        except BaseException:
            self._call.release()
            raise
        if message is grpc.aio.EOF:
            self._call.release()
        else:
            self._call.on_receive(message)
        return message

    async def write(self, request) -> None:
        """Requests written to the call (the channel form hands the caller this object itself)."""
        self._call.on_send(request)
        await self._rpc.write(request)

    def __del__(self):
        self._call.release()


for _abc in (
    grpc.aio.UnaryUnaryCall,
    grpc.aio.UnaryStreamCall,
    grpc.aio.StreamUnaryCall,
    grpc.aio.StreamStreamCall,
):
    _abc.register(_ReportingCall)


class UnaryUnary(_Interceptor, grpc.aio.UnaryUnaryClientInterceptor):
    async def intercept_unary_unary(self, continuation, client_call_details, request):
        return await self._intercept(continuation, client_call_details, request, False, False)


class UnaryStream(_Interceptor, grpc.aio.UnaryStreamClientInterceptor):
    async def intercept_unary_stream(self, continuation, client_call_details, request):
        return await self._intercept(continuation, client_call_details, request, False, True)


class StreamUnary(_Interceptor, grpc.aio.StreamUnaryClientInterceptor):
    async def intercept_stream_unary(self, continuation, client_call_details, request_iterator):
        return await self._intercept(continuation, client_call_details, request_iterator, True, False)


class StreamStream(_Interceptor, grpc.aio.StreamStreamClientInterceptor):
    async def intercept_stream_stream(self, continuation, client_call_details, request_iterator):
        return await self._intercept(continuation, client_call_details, request_iterator, True, True)


def aio_interceptors(**options) -> list[grpc.aio.ClientInterceptor]:
    recipe = Recipe(Side.CLIENT, **options)
    return [UnaryUnary(recipe), UnaryStream(recipe), StreamUnary(recipe), StreamStream(recipe)]
