"""grpc.aio client adapter, channel form: a grpc.aio.Channel whose multi-callables trace every call.

A grpc.aio client interceptor turns every call into an intercepted call: a task that runs the
interceptor coroutine, then the real call behind a proxy (tens of microseconds before anything is
traced). Wrapping the channel's multi-callables instead starts the span and writes the metadata
synchronously, in the caller's context, and hands back grpc's own call object, so awaiting it,
iterating it, read()/write(), cancel() and CancelledError are grpc's. The span ends in the call's
done-callback, as with the interceptors (_aio_client.py), whose ending and message reporting this
form shares.
"""

from __future__ import annotations

import grpc
import grpc.aio

from tracing.instrumentation import current_context

from ._aio_client import watched
from ._multicallables import TracedFactories
from ._recipe import STREAMED, Method, Recipe
from ._streams import reported_any


class TracedAioChannel(TracedFactories, grpc.aio.Channel):
    """`channel` with client tracing; everything but the four multi-callable factories is the channel's own."""

    @staticmethod
    def _wrapper(method: Method) -> type:
        return _StreamingRequests if method.request_streaming else _SingleRequest

    async def __aenter__(self):
        await self._inner.__aenter__()
        return self

    async def __aexit__(self, exc_type, exc_val, exc_tb):
        return await self._inner.__aexit__(exc_type, exc_val, exc_tb)

    async def close(self, grace: float | None = None):
        await self._inner.close(grace)

    def get_state(self, try_to_connect: bool = False) -> grpc.ChannelConnectivity:
        return self._inner.get_state(try_to_connect)

    async def wait_for_state_change(self, last_observed_state: grpc.ChannelConnectivity) -> None:
        await self._inner.wait_for_state_change(last_observed_state)

    async def channel_ready(self) -> None:
        await self._inner.channel_ready()


class _Traced:
    __slots__ = ("_inner", "_method", "_recipe")

    def __init__(self, inner, method: Method, recipe: Recipe):
        self._inner, self._method, self._recipe = inner, method, recipe

    def _call(self, call, request, carrier, timeout, credentials, wait_for_ready, compression):
        """grpc's call for `request`, sent with `carrier`; the span ends when the call is done."""
        try:
            rpc = self._inner(
                request,
                timeout=timeout,
                metadata=carrier,
                credentials=credentials,
                wait_for_ready=wait_for_ready,
                compression=compression,
            )
        except BaseException as exc:  # raised before a call existed (e.g. invalid metadata)
            call.fail(exc)
            raise
        return watched(rpc, call)

    def __getattr__(self, name: str):
        if name == "_inner":
            raise AttributeError(name)
        return getattr(self._inner, name)


class _SingleRequest(_Traced):
    """Unary and server-streaming calls."""

    __slots__ = ()

    def __call__(
        self, request, *, timeout=None, metadata=None, credentials=None, wait_for_ready=None, compression=None
    ):
        decided = self._recipe.decide_client(current_context())
        if decided.__class__ is str and not metadata:  # the commonest call: not sampled, no metadata
            return self._inner(
                request,
                timeout=timeout,
                metadata=(("traceparent", decided),),
                credentials=credentials,
                wait_for_ready=wait_for_ready,
                compression=compression,
            )
        call, carrier = self._recipe.start_client(self._method, metadata, request, decided)
        return self._call(call, request, carrier, timeout, credentials, wait_for_ready, compression)


class _StreamingRequests(_Traced):
    """Client-streaming and bidi calls, with a request iterable or written with write()."""

    __slots__ = ()

    def __call__(
        self,
        request_iterator=None,
        timeout=None,
        metadata=None,
        credentials=None,
        wait_for_ready=None,
        compression=None,
    ):
        call, carrier = self._recipe.start_client(self._method, metadata, STREAMED)
        if call.events and request_iterator is not None:
            request_iterator = reported_any(request_iterator, call.on_send)
        return self._call(call, request_iterator, carrier, timeout, credentials, wait_for_ready, compression)
