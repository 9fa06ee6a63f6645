"""gRPC: servers and channels made by grpc's own constructors come back instrumented.

grpc.server / grpc.aio.server return kgrpc.instrument_server(server) (the interceptor form when
services are given at construction, which instrument_server cannot see); the channel constructors
return kgrpc.instrument_channel(channel). A program that instruments by hand keeps its own
instrumentation and options: kubetrace's interceptors among those it passes mean it traces itself,
and instrument_server/instrument_channel called on what kubetrace already wrapped instrument the
object grpc made instead, so nothing is traced twice and no "instrumented already" error is raised.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Any

from interceptors import grpc as kgrpc
from interceptors._contrib import traced_by_contrib
from tracing.instrumentation import current_context, suppressed

from ._patches import argument, replace, with_argument
from ._plan import Plan

# What kubetrace wrapped -> what grpc made, for a program that instruments the same object itself.
_made: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()
_HANDLERS, _SERVER_INTERCEPTORS = 1, 2  # positions in grpc.server(...) and grpc.aio.server(...)


def patch(grpc: ModuleType, plan: Plan) -> None:
    import grpc.aio as aio

    # The library's own functions: the programs' calls of them are redirected at the end.
    servers, channels = kgrpc.instrument_server, kgrpc.instrument_channel
    server_types = (type(kgrpc.server_interceptor()), type(kgrpc.aio_server_interceptor()))
    client_types = (type(kgrpc.client_interceptor()), *map(type, kgrpc.aio_client_interceptors()))
    if plan.enabled("grpc_server"):
        replace(grpc, "server", _servers("grpc_server", servers, kgrpc.server_interceptor, server_types))
    if plan.enabled("grpc_aio_server"):
        replace(
            aio, "server", _servers("grpc_aio_server", servers, kgrpc.aio_server_interceptor, server_types)
        )
    if plan.enabled("grpc_client"):
        replace(grpc, "insecure_channel", _channels("grpc_client", channels, None, client_types))
        replace(grpc, "secure_channel", _channels("grpc_client", channels, None, client_types))
        replace(grpc, "intercept_channel", _intercept_channel(client_types))
    if plan.enabled("grpc_aio_client"):
        replace(aio, "insecure_channel", _channels("grpc_aio_client", channels, 3, client_types))
        replace(aio, "secure_channel", _channels("grpc_aio_client", channels, 4, client_types))
    replace(kgrpc, "instrument_server", _instrument_what_grpc_made)
    replace(kgrpc, "instrument_channel", _instrument_what_grpc_made)


def _servers(
    name: str, instrument: Callable[..., Any], interceptor: Callable[[], Any], ours: tuple[type, ...]
) -> Callable[..., Any]:
    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        def server(*args: Any, **kwargs: Any) -> Any:
            interceptors = argument(args, kwargs, _SERVER_INTERCEPTORS, "interceptors") or ()
            if _any_of(interceptors, ours) or traced_by_contrib(name):
                return original(*args, **kwargs)
            if argument(args, kwargs, _HANDLERS, "handlers"):
                args, kwargs = with_argument(
                    args, kwargs, _SERVER_INTERCEPTORS, "interceptors", [interceptor(), *interceptors]
                )
                return original(*args, **kwargs)
            return _instrumented(instrument, original(*args, **kwargs))

        return server

    return make


def _channels(
    name: str, instrument: Callable[..., Any], interceptors_at: int | None, ours: tuple[type, ...]
) -> Callable[..., Any]:
    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        def channel(*args: Any, **kwargs: Any) -> Any:
            given = argument(args, kwargs, interceptors_at, "interceptors") if interceptors_at else None
            # Exporters export with instrumentation suppressed (the OpenTelemetry convention): a channel
            # made then is the exporter's own, and tracing its calls would trace every export.
            if _any_of(given or (), ours) or suppressed(current_context()) or traced_by_contrib(name):
                return original(*args, **kwargs)
            return _instrumented(instrument, original(*args, **kwargs))

        return channel

    return make


def _intercept_channel(ours: tuple[type, ...]) -> Callable[[Any], Callable[..., Any]]:
    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        def intercept_channel(channel: Any, *interceptors: Any) -> Any:
            if _any_of(interceptors, ours):  # the program traces this channel itself
                channel = _made.get(channel, channel)
            return original(channel, *interceptors)

        return intercept_channel

    return make


def _instrument_what_grpc_made(original: Callable[..., Any]) -> Callable[..., Any]:
    def instrument(target: Any, **options: Any) -> Any:
        return original(_made.get(target, target), **options)

    return instrument


def _instrumented(instrument: Callable[..., Any], made: Any) -> Any:
    traced = instrument(made)
    _made[traced] = made
    return traced


def _any_of(items: Iterable[Any], types: tuple[type, ...]) -> bool:
    return any(isinstance(item, types) for item in items)
