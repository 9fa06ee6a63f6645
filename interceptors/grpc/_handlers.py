"""Swap the behaviour inside a grpc.RpcMethodHandler, keeping its kind and serializers."""

from __future__ import annotations

from collections.abc import Callable

import grpc

from ._recipe import Method, Recipe

# (request_streaming, response_streaming) -> the handler field holding the behaviour, and its factory.
_SHAPES = {
    (False, False): ("unary_unary", grpc.unary_unary_rpc_method_handler),
    (False, True): ("unary_stream", grpc.unary_stream_rpc_method_handler),
    (True, False): ("stream_unary", grpc.stream_unary_rpc_method_handler),
    (True, True): ("stream_stream", grpc.stream_stream_rpc_method_handler),
}

_MAX_METHODS = 1024
Wrap = Callable[[Recipe, Method, Callable], Callable]


class TracedHandlers:
    """Handlers with traced behaviour, built once per (handler, method): a server interceptor is
    asked for the handler on every call, and the handler it wraps is nearly always the same object,
    so the cache is keyed by the method name and checked by the handler's identity first (hashing an
    RpcMethodHandler would hash all its fields, on every call)."""

    def __init__(self, recipe: Recipe, wrap: Wrap):
        self._recipe, self._wrap = recipe, wrap
        self._by_method: dict[str, tuple[grpc.RpcMethodHandler, grpc.RpcMethodHandler]] = {}

    def __call__(self, handler: grpc.RpcMethodHandler | None, full_method: str):
        if handler is None:  # grpc answers UNIMPLEMENTED itself; there is no handler to trace
            return None
        known = self._by_method.get(full_method)
        if known is not None and (known[0] is handler or known[0] == handler):
            return known[1]  # equal: a generic handler that builds the same handler per call
        traced = self.build(handler, full_method)
        if len(self._by_method) < _MAX_METHODS:  # bounded: method names come from the network
            self._by_method[full_method] = (handler, traced)
        return traced

    def build(self, handler: grpc.RpcMethodHandler, full_method: str) -> grpc.RpcMethodHandler:
        """`handler` with its behaviour traced, or unchanged when the filter excludes the method."""
        streaming = (bool(handler.request_streaming), bool(handler.response_streaming))
        method = self._recipe.method(full_method, *streaming)
        if method is None:
            return handler
        field, factory = _SHAPES[streaming]
        return factory(
            self._wrap(self._recipe, method, getattr(handler, field)),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
