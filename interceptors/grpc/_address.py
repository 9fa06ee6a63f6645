"""server.* and client.* attributes from gRPC channel targets and peer strings."""

from __future__ import annotations

import functools

from .._authority import split_host_port

# Peer strings ("ipv4:10.0.0.1:5000") and targets ("ipv4:10.0.0.1:5000,10.0.0.2:5000") share these.
_ADDRESS_SCHEMES = ("ipv4:", "ipv6:")
_SOCKET_SCHEMES = ("unix-abstract:", "unix:")


def server_attributes(target: str | bytes | None) -> dict[str, str | int]:
    """server.address / server.port for a channel target ("host:port", "dns:///host:port", "unix:/path")."""
    return _attributes(target, "server")


@functools.lru_cache(maxsize=4096)  # a peer string repeats for every call on its connection
def client_attributes(peer: str | None) -> dict[str, str | int]:
    """client.address / client.port for a server-side peer string ("ipv6:[::1]:5000"); do not mutate."""
    return _attributes(peer, "client")


def _attributes(where: str | bytes | None, prefix: str) -> dict[str, str | int]:
    if not where:
        return {}
    if isinstance(where, bytes):
        where = where.decode("utf-8", "replace")
    host, port = _host_port(where)
    out: dict[str, str | int] = {f"{prefix}.address": host} if host else {}
    if port is not None:
        out[f"{prefix}.port"] = port
    return out


def _host_port(where: str) -> tuple[str | None, int | None]:
    for scheme in _SOCKET_SCHEMES:
        if where.startswith(scheme):
            path = where[len(scheme) :]
            return (path[2:] if path.startswith("///") else path), None
    for scheme in _ADDRESS_SCHEMES:
        if where.startswith(scheme):
            return split_host_port(where[len(scheme) :].split(",", 1)[0])[:2]
    if "://" in where:  # dns:///host:port, dns://resolver/host:port, xds:///name
        where = where.split("://", 1)[1].split("/", 1)[-1]
    return split_host_port(where)[:2]
