"""What is known about an RPC before it starts: its method, service, kind and side."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class RpcKind(str, enum.Enum):
    """The four gRPC call shapes, named as go-grpc-middleware names them."""

    UNARY = "unary"
    CLIENT_STREAM = "client_stream"
    SERVER_STREAM = "server_stream"
    BIDI_STREAM = "bidi_stream"


class Side(str, enum.Enum):
    SERVER = "server"
    CLIENT = "client"


_KINDS = {
    (False, False): RpcKind.UNARY,
    (True, False): RpcKind.CLIENT_STREAM,
    (False, True): RpcKind.SERVER_STREAM,
    (True, True): RpcKind.BIDI_STREAM,
}


@dataclass(frozen=True)
class CallMeta:
    """One RPC method as one side sees it; what filters and request_attributes hooks are given."""

    full_method: str  # "/package.Service/Method", as on the wire
    service: str  # "package.Service"; "" when the name is not of that form
    method: str  # "Method"
    kind: RpcKind
    side: Side

    @property
    def name(self) -> str:
        """The span name: "package.Service/Method", without the leading slash."""
        return self.full_method.lstrip("/")

    @property
    def request_streaming(self) -> bool:
        return self.kind in (RpcKind.CLIENT_STREAM, RpcKind.BIDI_STREAM)

    @property
    def response_streaming(self) -> bool:
        return self.kind in (RpcKind.SERVER_STREAM, RpcKind.BIDI_STREAM)


def call_meta(
    full_method: str | bytes, request_streaming: bool, response_streaming: bool, side: Side
) -> CallMeta:
    """Parse a full method name the way otelgrpc does: "/svc/method"; anything else keeps no service."""
    if isinstance(full_method, bytes):  # grpc.aio hands clients the method as bytes
        full_method = full_method.decode("utf-8", "replace")
    service, slash, method = full_method.lstrip("/").rpartition("/")
    if not slash or not service:
        service, method = "", full_method.lstrip("/")
    return CallMeta(full_method, service, method, _KINDS[request_streaming, response_streaming], side)
