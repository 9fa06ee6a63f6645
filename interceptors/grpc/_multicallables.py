"""The four multi-callable factories of a traced channel, shared by the sync and grpc.aio forms."""

from __future__ import annotations

from ._recipe import Method, Recipe


class TracedFactories:
    """Each factory wraps the inner channel's multi-callable once, in the class _wrapper() picks
    for its RPC kind, unless the filter excludes the method. Everything else is the inner channel's."""

    _inner: object
    _recipe: Recipe

    def __init__(self, channel, recipe: Recipe):
        self._inner, self._recipe = channel, recipe

    def unary_unary(self, method, request_serializer=None, response_deserializer=None, **kwargs):
        inner = self._inner.unary_unary(method, request_serializer, response_deserializer, **kwargs)
        return self._traced(inner, method, False, False)

    def unary_stream(self, method, request_serializer=None, response_deserializer=None, **kwargs):
        inner = self._inner.unary_stream(method, request_serializer, response_deserializer, **kwargs)
        return self._traced(inner, method, False, True)

    def stream_unary(self, method, request_serializer=None, response_deserializer=None, **kwargs):
        inner = self._inner.stream_unary(method, request_serializer, response_deserializer, **kwargs)
        return self._traced(inner, method, True, False)

    def stream_stream(self, method, request_serializer=None, response_deserializer=None, **kwargs):
        inner = self._inner.stream_stream(method, request_serializer, response_deserializer, **kwargs)
        return self._traced(inner, method, True, True)

    def _traced(self, inner, full_method, request_streaming: bool, response_streaming: bool):
        method = self._recipe.method(full_method, request_streaming, response_streaming)
        if method is None:
            return inner
        return self._wrapper(method)(inner, method, self._recipe)

    @staticmethod
    def _wrapper(method: Method) -> type:
        raise NotImplementedError

    def __getattr__(self, name: str):
        if name == "_inner":  # not set yet (copy, pickle): no recursion through ourselves
            raise AttributeError(name)
        return getattr(self._inner, name)  # private state other tools read (e.g. the core channel)
