"""The W3C `baggage` header, percent-encoded as the specification and Go's baggage package write it.

OpenTelemetry Python's W3CBaggagePropagator form-encodes (`quote_plus`/`unquote_plus`, upstream
issue open-telemetry/opentelemetry-python#5566): a Go peer's `a+b` arrives as "a b", and our
"a b" arrives in Go as "a+b". kubelet and kube-apiserver are Go, so this propagator replaces it.
"""

from __future__ import annotations

import logging
from urllib.parse import quote, unquote

from opentelemetry import baggage
from opentelemetry.context import Context, get_current
from opentelemetry.propagators import textmap

MAX_MEMBERS = 64  # W3C Baggage: receivers must propagate at least 64 list-members ...
MAX_HEADER_BYTES = 8192  # ... and 8192 bytes; beyond that they may drop entries
# baggage-octet = %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E: everything printable but
# space, DQUOTE, comma, semicolon and backslash stays literal; "%" is always escaped.
_VALUE_SAFE = "!#$&'()*+-./:<=>?@[]^_`{|}~"
_HEADER = "baggage"
_log = logging.getLogger("kubetrace.propagation")


def encode_member(key: str, value: object) -> str:
    """One list-member as it goes on the wire."""
    return f"{quote(str(key), safe=_VALUE_SAFE)}={quote(str(value), safe=_VALUE_SAFE)}"


class W3CBaggagePropagator(textmap.TextMapPropagator):
    """Reads and writes W3C Baggage with percent-encoding; malformed members are skipped."""

    def extract(self, carrier, context: Context | None = None, getter=textmap.default_getter) -> Context:
        context = get_current() if context is None else context
        values = getter.get(carrier, _HEADER)
        header = values[0] if values else None
        if not header or len(header.encode()) > MAX_HEADER_BYTES:
            return context
        for member in header.split(",")[:MAX_MEMBERS]:
            pair = member.split(";", 1)[0]  # properties are allowed and carry nothing we keep
            name, sep, value = pair.partition("=")
            name, value = name.strip(" \t"), value.strip(" \t")
            if not sep or not name:
                continue
            try:
                context = baggage.set_baggage(
                    unquote(name, errors="strict"), unquote(value, errors="strict"), context
                )
            except UnicodeDecodeError:
                _log.debug("kubetrace: baggage member %.64r is not valid percent-encoded UTF-8", member)
        return context

    def inject(self, carrier, context: Context | None = None, setter=textmap.default_setter) -> None:
        members, size = [], -1
        for key, value in baggage.get_all(context).items():
            member = encode_member(key, value)
            if len(members) == MAX_MEMBERS or size + 1 + len(member) > MAX_HEADER_BYTES:
                break  # kubetrace's set_baggage refuses such entries up front; others stop here
            members.append(member)
            size += 1 + len(member)
        if members:
            setter.set(carrier, _HEADER, ",".join(members))

    @property
    def fields(self) -> set[str]:
        return {_HEADER}
