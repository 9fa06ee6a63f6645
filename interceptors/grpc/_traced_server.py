"""Server adapter, server form: a grpc.Server (or grpc.aio.Server) whose services are traced.

A server interceptor is asked for the handler on every call, through grpc's interceptor pipeline
(about seven Python calls for sync servers, awaits for grpc.aio) before the handler runs. Tracing
the handlers when they are added costs nothing per call for registered methods (what generated
code registers) and one call for generic handlers. instrument_server() uses this form;
server_interceptor() and aio_server_interceptor() remain for composing with other interceptors.
Both build their handlers with the same TracedHandlers, so the spans are the same.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import grpc
import grpc.aio

from ._handlers import TracedHandlers


class ServicesAlreadyAdded(ValueError):
    """instrument_server() was given a server that already has services: they would go untraced."""


class _TracedServices:
    """The two registration methods both server kinds share, tracing what they are given."""

    def __init__(self, server, traced: TracedHandlers):
        self._inner, self._traced = server, traced

    def add_generic_rpc_handlers(self, generic_rpc_handlers: Iterable[grpc.GenericRpcHandler]) -> None:
        self._inner.add_generic_rpc_handlers(
            [_TracedGeneric(handler, self._traced) for handler in generic_rpc_handlers]
        )

    def add_registered_method_handlers(
        self, service_name: str, method_handlers: Mapping[str, grpc.RpcMethodHandler]
    ) -> None:
        traced = self._traced
        self._inner.add_registered_method_handlers(
            service_name,
            {name: traced.build(h, f"/{service_name}/{name}") for name, h in method_handlers.items()},
        )

    def add_insecure_port(self, address: str) -> int:
        return self._inner.add_insecure_port(address)

    def add_secure_port(self, address: str, server_credentials: grpc.ServerCredentials) -> int:
        return self._inner.add_secure_port(address, server_credentials)

    def __getattr__(self, name: str):
        if name == "_inner":  # not set yet (copy, pickle): no recursion through ourselves
            raise AttributeError(name)
        return getattr(self._inner, name)


class TracedServer(_TracedServices, grpc.Server):
    """A grpc.Server whose services are traced; starting and stopping are the server's own."""

    def start(self) -> None:
        self._inner.start()

    def stop(self, grace: float | None):
        return self._inner.stop(grace)

    def wait_for_termination(self, timeout: float | None = None) -> bool:
        return self._inner.wait_for_termination(timeout)


class TracedAioServer(_TracedServices, grpc.aio.Server):
    """A grpc.aio.Server whose services are traced; starting and stopping are the server's own."""

    async def start(self) -> None:
        await self._inner.start()

    async def stop(self, grace: float | None) -> None:
        await self._inner.stop(grace)

    async def wait_for_termination(self, timeout: float | None = None) -> bool:
        return await self._inner.wait_for_termination(timeout)


class _TracedGeneric(grpc.GenericRpcHandler):
    """A generic handler whose handlers come back traced (built once per method, then cached)."""

    __slots__ = ("_inner", "_traced")

    def __init__(self, inner: grpc.GenericRpcHandler, traced: TracedHandlers):
        self._inner, self._traced = inner, traced

    def service(self, handler_call_details: grpc.HandlerCallDetails):
        return self._traced(self._inner.service(handler_call_details), handler_call_details.method)
