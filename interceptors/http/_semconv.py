"""Stable HTTP semantic-convention vocabulary: attribute keys, method normalisation, span names."""

from __future__ import annotations

METHOD = "http.request.method"
METHOD_ORIGINAL = "http.request.method_original"
STATUS_CODE = "http.response.status_code"
ROUTE = "http.route"
URL_PATH = "url.path"
URL_QUERY = "url.query"
URL_SCHEME = "url.scheme"
URL_FULL = "url.full"
URL_TEMPLATE = "url.template"
SERVER_ADDRESS = "server.address"
SERVER_PORT = "server.port"
CLIENT_ADDRESS = "client.address"
USER_AGENT = "user_agent.original"
PROTOCOL_VERSION = "network.protocol.version"
ERROR_TYPE = "error.type"
EXCEPTION_MESSAGE = "exception.message"
EXCEPTION_STACKTRACE = "exception.stacktrace"

# RFC 9110 methods, PATCH (RFC 5789) and QUERY: anything else is reported as _OTHER.
_KNOWN_METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "QUERY")
KNOWN_METHODS = {m: m for m in _KNOWN_METHODS}
OTHER_METHOD = "_OTHER"

_DEFAULT_PORTS = {"http": 80, "ws": 80, "https": 443, "wss": 443}
_PROTOCOLS = {"HTTP/1.0": "1.0", "HTTP/1.1": "1.1", "HTTP/2": "2", "HTTP/2.0": "2", "HTTP/3": "3"}


def put_method(attributes: dict[str, object], method: str) -> str:
    """Record the method (methods are case-sensitive: "get" is _OTHER); returns the name's method."""
    known = KNOWN_METHODS.get(method)
    if known is not None:
        attributes[METHOD] = known
        return known
    attributes[METHOD] = OTHER_METHOD
    attributes[METHOD_ORIGINAL] = method
    return "HTTP"


def span_name(method: str, template: str | None) -> str:
    """`{METHOD} {template}` when the target is known as a low-cardinality template, else `{METHOD}`."""
    return f"{method} {template}" if template else method


def default_port(scheme: str) -> int | None:
    return _DEFAULT_PORTS.get(scheme)


def protocol_version(protocol: str | None) -> str | None:
    """ "HTTP/1.1" (WSGI SERVER_PROTOCOL, httpx) or "1.1" (ASGI) -> "1.1"."""
    if not protocol:
        return None
    return _PROTOCOLS.get(protocol) or protocol.rpartition("/")[2]
