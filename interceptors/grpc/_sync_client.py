"""Sync client adapter: one interceptor for all four kinds on grpc channels, feeding the one recipe.

A blocking call or with_call() comes back finished: its span ends at once and the outcome goes back
untouched. A future or response stream comes back still in flight, behind _InFlight, which ends the
span when the caller's use of it shows the call finished (result, error, cancel(), deadline, end
of stream) or when the caller drops it.
"""

from __future__ import annotations

from collections import namedtuple

import grpc

from tracing.instrumentation import Call

from ._callmeta import Side
from ._outcome import text
from ._recipe import STREAMED, Recipe
from ._streams import reported


class _Details(
    namedtuple("_Details", ("method", "timeout", "metadata", "credentials", "wait_for_ready", "compression")),
    grpc.ClientCallDetails,
):
    pass


class ClientInterceptor(
    grpc.UnaryUnaryClientInterceptor,
    grpc.UnaryStreamClientInterceptor,
    grpc.StreamUnaryClientInterceptor,
    grpc.StreamStreamClientInterceptor,
):
    def __init__(self, **options):
        self._recipe = Recipe(Side.CLIENT, **options)

    def intercept_unary_unary(self, continuation, client_call_details, request):
        return self._intercept(continuation, client_call_details, request, False, False)

    def intercept_unary_stream(self, continuation, client_call_details, request):
        return self._intercept(continuation, client_call_details, request, False, True)

    def intercept_stream_unary(self, continuation, client_call_details, request_iterator):
        return self._intercept(continuation, client_call_details, request_iterator, True, False)

    def intercept_stream_stream(self, continuation, client_call_details, request_iterator):
        return self._intercept(continuation, client_call_details, request_iterator, True, True)

    def _intercept(self, continuation, details, request, request_streaming: bool, response_streaming: bool):
        method = self._recipe.method(details.method, request_streaming, response_streaming)
        if method is None:
            return continuation(details, request)
        call, metadata = self._recipe.start_client(
            method, details.metadata, STREAMED if request_streaming else request
        )
        if request_streaming and call.events:
            request = reported(request, call.on_send)
        try:
            rpc = continuation(_with_metadata(details, metadata), request)
        except BaseException as exc:  # raised before the call existed (e.g. a serializer failing)
            call.fail(exc)
            raise
        if not call.recording:
            return rpc
        if rpc.done() and not (response_streaming and call.events):  # blocking calls, with_call()
            _end(call, rpc, response_streaming)
            return rpc
        return _InFlight(rpc, call, response_streaming)


def _with_metadata(details: grpc.ClientCallDetails, metadata: list) -> _Details:
    return _Details(
        details.method,
        details.timeout,
        metadata,
        details.credentials,
        getattr(details, "wait_for_ready", None),
        getattr(details, "compression", None),
    )


def _end(call: Call, rpc, response_streaming: bool) -> None:
    code = rpc.code()
    if call.events and code is grpc.StatusCode.OK and not response_streaming:
        call.on_receive(rpc.result())
    call.end(code, None if code is grpc.StatusCode.OK else text(rpc.details()))


class _InFlight(grpc.RpcError):
    """A call still in flight (a response stream, or a future) behind a thin proxy that ends the span
    once the caller's own use of it shows the call finished, or when the caller drops it.

    Not a done-callback: grpc keeps a call that has callbacks alive until it finishes, so a caller
    dropping a stream or future would no longer cancel the call, as it does without us. Like grpc's
    own call object, the proxy is the RpcError it raises.
    """

    def __init__(self, rpc, call: Call, response_streaming: bool):
        super().__init__()
        self._rpc, self._call, self._streaming = rpc, call, response_streaming
        if call.events and response_streaming:
            call.hold()  # see Call.hold: the last messages may be read after the status arrived

    def __getattr__(self, name: str):
        attribute = getattr(self._rpc, name)
        if not callable(attribute):
            return attribute

        def observed(*args, **kwargs):
            try:
                result = attribute(*args, **kwargs)
            except grpc.RpcError as error:
                self._settle()
                raise self._as_caller_sees(error) from None
            self._settle()
            return self if result is self._rpc else result

        return observed

    def __str__(self) -> str:
        return str(self._rpc)

    def __repr__(self) -> str:
        return repr(self._rpc)

    def add_done_callback(self, fn) -> None:
        # The caller's callback gets the object the caller holds, and keeps it (and so the call) alive.
        self._rpc.add_done_callback(lambda rpc: (self._settle(), fn(self)))

    def __iter__(self):
        return self

    def __next__(self):
        try:
            response = next(self._rpc)
        except grpc.RpcError as error:
            self._finish_reading()
            raise self._as_caller_sees(error) from None
        except BaseException:
            self._finish_reading()
            raise
        self._call.on_receive(response)
        return response

    def _as_caller_sees(self, error: grpc.RpcError) -> grpc.RpcError:
        return self if error is self._rpc else error

    def _finish_reading(self) -> None:
        self._settle()
        self._call.release()

    def _settle(self) -> None:
        if self._rpc.done():
            _end(self._call, self._rpc, self._streaming)

    def __del__(self):
        if self._rpc.done():
            _end(self._call, self._rpc, self._streaming)
        else:  # dropped in flight: grpc cancels the call as this proxy lets go of it
            self._call.end(grpc.StatusCode.CANCELLED, "Cancelled upon garbage collection!")
        self._call.release()


for _abc in (grpc.Call, grpc.Future):
    _abc.register(_InFlight)
