"""Sync client adapter, channel form: a grpc.Channel whose multi-callables trace every call.

grpc.intercept_channel builds a fresh multi-callable, call details and outcome object for every
call before an interceptor runs (about 35 Python calls, more than an unsampled span costs us).
Wrapping each of the channel's multi-callables once, when the stub is made, costs one call per
call. instrument_channel() uses this form; ClientInterceptor remains for composing with other
interceptors through grpc.intercept_channel. Both feed the same recipe, and both hand a call
still in flight back behind the same _InFlight proxy.
"""

from __future__ import annotations

import grpc

from tracing.instrumentation import current_context

from ._multicallables import TracedFactories
from ._recipe import STREAMED, Method, Recipe
from ._streams import reported
from ._sync_client import _end, _InFlight


class TracedChannel(TracedFactories, grpc.Channel):
    """`channel` with client tracing; everything but the four multi-callable factories is the channel's own."""

    @staticmethod
    def _wrapper(method: Method) -> type:
        return _Streaming if method.response_streaming else _Unary

    def subscribe(self, callback, try_to_connect=False):
        self._inner.subscribe(callback, try_to_connect)

    def unsubscribe(self, callback):
        self._inner.unsubscribe(callback)

    def close(self):
        self._inner.close()

    def __enter__(self):
        self._inner.__enter__()
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        return self._inner.__exit__(exc_type, exc_val, exc_tb)


class _Traced:
    __slots__ = ("_inner", "_method", "_recipe", "_streaming_requests")

    def __init__(self, inner, method: Method, recipe: Recipe):
        self._inner, self._method, self._recipe = inner, method, recipe
        self._streaming_requests = method.request_streaming

    def _start(self, request, metadata):
        """The call, the request (watched when message events are on) and the metadata."""
        streaming = self._streaming_requests
        call, carrier = self._recipe.start_client(self._method, metadata, STREAMED if streaming else request)
        if streaming and call.events:
            request = reported(request, call.on_send)
        return call, request, carrier

    def __getattr__(self, name: str):
        if name == "_inner":
            raise AttributeError(name)
        return getattr(self._inner, name)


class _Unary(_Traced):
    """Unary and client-streaming calls: blocking, with_call() and future()."""

    __slots__ = ()

    def __call__(
        self, request, timeout=None, metadata=None, credentials=None, wait_for_ready=None, compression=None
    ):
        if self._streaming_requests:
            call, request, carrier = self._start(request, metadata)
        else:
            decided = self._recipe.decide_client(current_context())
            if decided.__class__ is str and not metadata:  # the commonest call: not sampled, no metadata
                carrier = [("traceparent", decided)]
                return self._inner(request, timeout, carrier, credentials, wait_for_ready, compression)
            call, carrier = self._recipe.start_client(self._method, metadata, request, decided)
        if not call.recording:
            return self._inner(request, timeout, carrier, credentials, wait_for_ready, compression)
        response = self._blocking(
            call, self._inner, request, timeout, carrier, credentials, wait_for_ready, compression
        )
        if call.events:
            call.on_receive(response)
        call.end(grpc.StatusCode.OK)  # a blocking call returns only for OK
        return response

    def with_call(
        self, request, timeout=None, metadata=None, credentials=None, wait_for_ready=None, compression=None
    ):
        call, request, carrier = self._start(request, metadata)
        with_call = self._inner.with_call
        if not call.recording:
            return with_call(request, timeout, carrier, credentials, wait_for_ready, compression)
        outcome = self._blocking(
            call, with_call, request, timeout, carrier, credentials, wait_for_ready, compression
        )
        if call.events:
            call.on_receive(outcome[0])
        call.end(grpc.StatusCode.OK)
        return outcome

    @staticmethod
    def _blocking(call, blocking, request, *options):
        """blocking(request, *options), ending the span if it raises (the RpcError is the finished call)."""
        try:
            return blocking(request, *options)
        except grpc.RpcError as error:
            if isinstance(error, grpc.Call):
                _end(call, error, False)
            else:
                call.fail(error)
            raise
        except BaseException as exc:  # raised before the call existed (e.g. a serializer failing)
            call.fail(exc)
            raise

    def future(
        self, request, timeout=None, metadata=None, credentials=None, wait_for_ready=None, compression=None
    ):
        call, request, carrier = self._start(request, metadata)
        rpc = _guarded(
            call, self._inner.future, request, timeout, carrier, credentials, wait_for_ready, compression
        )
        return _InFlight(rpc, call, False) if call.recording else rpc


class _Streaming(_Traced):
    """Server-streaming and bidi calls: the response iterator, which is also the Call."""

    __slots__ = ()

    def __call__(
        self, request, timeout=None, metadata=None, credentials=None, wait_for_ready=None, compression=None
    ):
        call, request, carrier = self._start(request, metadata)
        rpc = _guarded(call, self._inner, request, timeout, carrier, credentials, wait_for_ready, compression)
        return _InFlight(rpc, call, True) if call.recording else rpc


def _guarded(call, start, *args):
    """start(*args), ending the span if it raises before a call exists."""
    try:
        return start(*args)
    except BaseException as exc:
        call.fail(exc)
        raise
