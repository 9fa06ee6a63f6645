"""The gRPC service every gRPC benchmark serves: one unary method that answers with its request."""

from __future__ import annotations

import grpc

METHOD = "/bench.Echo/Unary"
PAYLOAD = b"x" * 64


def add_echo(server, behaviour) -> None:
    """The echo method, added as generated code adds a service: a generic handler and registered methods."""
    service, method = METHOD.strip("/").split("/")
    methods = {method: grpc.unary_unary_rpc_method_handler(behaviour)}
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(service, methods)])
    server.add_registered_method_handlers(service, methods)
