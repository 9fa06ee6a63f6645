"""Host and port of an authority: an HTTP Host header (or :authority), a gRPC target or peer address.

Host headers are request-controlled, so this never raises and never trusts what it reads: the text
is length-capped and scanned once. A port is 1-5 ASCII digits in 0..65535 (str.isdigit() also
accepts "²", which int() refuses, and an unbounded digit run is a number no span exporter carries).
A host is at most 255 characters of those RFC 3986 allows in a host (reg-name, IPv4, IP literal).
"""

from __future__ import annotations

import re
from typing import NamedTuple

MAX_HOST_LENGTH = 255  # a DNS name has at most 253 characters
MAX_PORT = 65535
# A cap far above any real authority: what is longer is refused before it is looked at.
MAX_AUTHORITY_LENGTH = MAX_HOST_LENGTH + 8
# unreserved, sub-delims, "%" (percent-encoding, IPv6 zone ids) and ":" (IPv6 inside brackets, or bare)
_HOST = re.compile(rf"[A-Za-z0-9\-._~!$&'()*+,;=%:]{{1,{MAX_HOST_LENGTH}}}")


class HostPort(NamedTuple):
    """host: None when the text names no usable host. port: None when none is given or it is not a
    port. valid: False when the text had a part that is not what it claims to be (a bad port)."""

    host: str | None
    port: int | None
    valid: bool


_NOTHING = HostPort(None, None, False)


def split_host_port(text: str) -> HostPort:
    """example.com:8080, [::1]:8080, example.com, a bare IPv6 address (no port), 10.0.0.1:80."""
    if not text or len(text) > MAX_AUTHORITY_LENGTH or "@" in text:  # userinfo has no place in a Host
        return _NOTHING
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            return _NOTHING
        digits = rest[1:] if rest else None
    elif text.count(":") == 1:
        host, _, digits = text.partition(":")
    else:  # a name, or an IPv6 address without brackets (gRPC writes those)
        host, digits = text, None
    if _HOST.fullmatch(host) is None:
        return _NOTHING
    if not digits:  # "example.com" or "example.com:" (an empty port means the default one)
        return HostPort(host, None, True)
    port = port_number(digits)
    return HostPort(host, port, port is not None)


def port_number(value: object) -> int | None:
    """A port from an int or a string of ASCII digits; None for anything that is not one."""
    if isinstance(value, str):
        if not (0 < len(value) <= 5 and value.isascii() and value.isdigit()):
            return None
        value = int(value)
    if type(value) is not int or not 0 <= value <= MAX_PORT:  # bool is not a port either
        return None
    return value
