"""How an adapter describes one server request to the recipe: the fields, and a header reader."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from opentelemetry.propagators.textmap import Getter

from tracing.propagation import Caller


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
    """What an adapter tells the recipe about one request (ServerRecipe.start takes the same, as
    arguments: building this tuple is kept for the requests that record)."""

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


def server_address(host: str | None, server: Sequence[Any] | None) -> tuple[str | None, int | None]:
    """server.address and server.port: from the Host header, else the listening address."""
    return _split_host(host) if host else _listening(server)


def _listening(server: Sequence[Any] | None) -> tuple[str | None, int | None]:
    """ASGI's (host, port), or WSGI's (SERVER_NAME, SERVER_PORT) whose port is a string."""
    if not server or not server[0]:
        return None, None
    port = server[1] if len(server) > 1 else None
    if isinstance(port, str):
        port = int(port) if port.isdigit() else None
    return server[0], port


def _split_host(host: str) -> tuple[str, int | None]:
    """The (address, port if given) of a Host header: example.com:8080, [::1]:8080, example.com."""
    if host.startswith("["):
        address, _, rest = host[1:].partition("]")
        digits = rest[1:] if rest.startswith(":") else ""
    else:
        address, _, digits = host.partition(":")
    return address, int(digits) if digits.isdigit() else None
