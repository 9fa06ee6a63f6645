"""OpenTelemetry RPC semantic-convention vocabulary for gRPC spans, and the attributes of a method."""

from __future__ import annotations

from typing import Any

from ._callmeta import CallMeta

SYSTEM = "rpc.system"
SERVICE = "rpc.service"
METHOD = "rpc.method"
STATUS_CODE = "rpc.grpc.status_code"


def method_attributes(meta: CallMeta) -> dict[str, Any]:
    """rpc.system, and rpc.service/rpc.method when the method name is "/package.Service/Method"."""
    attributes: dict[str, Any] = {SYSTEM: "grpc"}
    if meta.service:
        attributes[SERVICE], attributes[METHOD] = meta.service, meta.method
    return attributes
