"""Sync server adapter: grpc.server handlers of all four kinds, on the one recipe.

grpc.aio servers run sync (non-async) handlers in their executor; they are wrapped here too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import grpc
from opentelemetry.context import Context

from tracing.instrumentation import Call, attach, detach
from tracing.propagation import METADATA_GETTER

from ._callmeta import Side
from ._handlers import TracedHandlers
from ._recipe import STREAMED, Method, Recipe, end_server
from ._streams import reported


class ServerInterceptor(grpc.ServerInterceptor):
    def __init__(self, **options):
        self._traced = TracedHandlers(Recipe(Side.SERVER, **options), wrap_sync)

    def intercept_service(self, continuation, handler_call_details):
        return self._traced(continuation(handler_call_details), handler_call_details.method)


def wrap_sync(recipe: Recipe, method: Method, behavior: Callable) -> Callable:
    """The traced version of a sync handler: its span is current while it runs and ends once."""
    streaming_requests = method.request_streaming
    streaming_responses = method.response_streaming

    decide = recipe.core.decide_server  # recipe.decide_server() inlined: a frame fewer per call

    def traced(request_or_iterator, context):
        decision = decide(context.invocation_metadata() or (), METADATA_GETTER, context)
        if decision.__class__ is Context and not streaming_responses:  # the common case, kept plain
            token = attach(decision)
            try:
                return behavior(request_or_iterator, context)
            finally:
                detach(token)
        request = STREAMED if streaming_requests else request_or_iterator
        call = recipe.start_server(method, context, request, decision)
        if streaming_requests and call.events:
            request_or_iterator = reported(request_or_iterator, call.on_receive)
        token = call.enter()
        try:
            result = behavior(request_or_iterator, context)
        except BaseException as exc:
            end_server(call, context, exc)
            raise
        finally:
            call.exit(token)
        if streaming_responses:
            return _owned_responses(result, call, context)
        if call.events:
            call.on_send(result)
        end_server(call, context, None)
        return result

    return traced


def _owned_responses(responses: Iterator, call: Call, context) -> Iterator:
    """The handler's responses, produced with its span current; ends the span when the stream is
    exhausted, fails, or is closed or collected because the client went away."""
    exc: BaseException | None = None
    try:
        while True:
            token = call.enter()
            try:
                response = next(responses)
            except StopIteration:
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
