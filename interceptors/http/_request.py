"""How an adapter describes one server request to the recipe: the fields, and a header reader."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple

from opentelemetry.propagators.textmap import Getter

from tracing.propagation import Caller

from .._authority import port_number, split_host_port
from ._semconv import default_port


class HeaderReader(Getter[Any]):
    """How the configured propagators, and the recipe, read one adapter's request headers."""

    def value(self, carrier: Any, name: str) -> str | None:
        """One header by lower-case name (several of the same name joined by ", ")."""
        raise NotImplementedError

    def request_headers(self, carrier: Any) -> Iterable[tuple[str, str]]:
        raise NotImplementedError

    def response_headers(self, headers: Any) -> Iterable[tuple[str, str]]:
        raise NotImplementedError

    def get(self, carrier: Any, key: str) -> list[str] | None:
        value = self.value(carrier, key)
        return None if value is None else [value]


class ServerRequest(NamedTuple):
    """What an adapter tells the recipe about one request, read only when the recipe needs it (a
    request that records, or a trust predicate that looks at the caller)."""

    method: str
    scheme: str
    path: str
    query: str
    host: str | None  # the Host header (or :authority)
    server: Sequence[Any] | None  # the listening (address, port), for when there is no Host header
    client: str | None
    user_agent: str | None
    protocol: str | None  # "HTTP/1.1" or "1.1"
    carrier: Any  # the request headers, as `reader` reads them
    reader: HeaderReader
    native: Any  # the WSGI environ or ASGI scope: what hooks and trust predicates get

    def caller(self) -> Caller:
        """The request as a trust predicate sees it."""
        reader, carrier = self.reader, self.carrier
        return Caller("http", self.client, lambda name: reader.value(carrier, name.lower()), self.native)


# A NamedTuple's constructor with keywords is a Python call of ~0.5 us (a loop, per sampled request);
# tuple.__new__ of the class builds the same tuple in C, from every field given in order.
new_request: Callable[[tuple], ServerRequest] = functools.partial(tuple.__new__, ServerRequest)
"""ServerRequest((method, scheme, ..., native)), without a Python call: the fields in order, all
of them (the adapters name each one in a comment)."""


def server_address(
    scheme: str, host: str | None, server: Sequence[Any] | None
) -> tuple[str | None, int | None]:
    """server.address and server.port: from the Host header, else the listening address; the scheme's
    default port when none is given. A Host that is not one counts as absent; a bad port gives none."""
    if host:
        address, port, valid = split_host_port(host)
        if address is not None:
            return address, port if port is not None or not valid else default_port(scheme)
    if not server or not server[0]:
        return None, None
    # ASGI's (host, port), or WSGI's (SERVER_NAME, SERVER_PORT) whose port is a string
    port = port_number(server[1]) if len(server) > 1 else None
    return server[0], port if port is not None else default_port(scheme)
