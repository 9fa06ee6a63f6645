"""Loopback ports, and which environment variables of a collector config are listen addresses."""

from __future__ import annotations

import re
import socket
from pathlib import Path

# ${env:NAME:-default} as the Collector's env provider spells it.
_ENV_REF = re.compile(r"\$\{env:(KUBETRACE_[A-Z0-9_]+)(?::-([^}]*))?\}")
_HOSTPORT = re.compile(r"^[\w.\-\[\]:]*:\d+$")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listen_vars(config: Path) -> dict[str, str]:
    """{VAR: default} for every KUBETRACE_* variable in `config` that names something the
    process listens on.

    Convention of collector-config/: a variable whose default is host:port is a listen
    address unless its name ends in _ENDPOINT or _ENDPOINTS (outbound targets) or holds _DNS_
    (the gateways an agent finds by DNS); a variable ending in _PORT is a bare listen port
    (the telemetry metrics reader).
    """
    found: dict[str, str] = {}
    for name, default in _ENV_REF.findall(config.read_text()):
        if name.endswith(("_ENDPOINT", "_ENDPOINTS")) or "_DNS_" in name:
            continue
        if name.endswith("_PORT") or _HOSTPORT.match(default or ""):
            found[name] = default
    return found


def assign_ports(config: Path, env: dict[str, str]) -> dict[str, str]:
    """Values for every listen variable of `config` not already in `env`: 127.0.0.1:<free>
    (or a bare free port for *_PORT)."""
    out: dict[str, str] = {}
    for name in listen_vars(config):
        if name in env:
            continue
        port = free_port()
        out[name] = str(port) if name.endswith("_PORT") else f"127.0.0.1:{port}"
    return out
