"""The W3C `baggage` header, percent-encoded as the specification and Go's baggage package write it,
and the one limit rule every baggage entry kubetrace sets, receives or sends is held to.

OpenTelemetry Python's W3CBaggagePropagator form-encodes (`quote_plus`/`unquote_plus`, upstream
issue open-telemetry/opentelemetry-python#5566): a Go peer's `a+b` arrives as "a b", and our
"a b" arrives in Go as "a+b". kubelet and kube-apiserver are Go, so this propagator replaces it.

Limits (W3C Baggage, current version): a platform must propagate at least 64 list-members and a
header of at least 8192 bytes, and never a partial list-member. kubetrace's limits are exactly those
floors, counted on the members as kubetrace writes them: a member that does not fit is dropped
whole, wherever it comes from (set_baggage(), a received header), so what is in a context is what
goes on the wire. A malformed member costs only itself.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from urllib.parse import quote, unquote

from opentelemetry import baggage
from opentelemetry.context import Context, get_current
from opentelemetry.propagators import textmap

MAX_MEMBERS = 64  # W3C Baggage: a platform propagates at least 64 list-members ...
MAX_HEADER_BYTES = 8192  # ... and a baggage-string of at least 8192 bytes
# baggage-octet = %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E: everything printable but
# space, DQUOTE, comma, semicolon and backslash stays literal; "%" is always escaped.
_VALUE_SAFE = "!#$&'()*+-./:<=>?@[]^_`{|}~"
TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 7230 token
_VALUE = re.compile(r"[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*")
# A header longer than this is read up to its last comma before it: what lies beyond could fit in
# 8192 bytes only if the sender percent-escaped what needs no escape, and then only partly.
_MAX_READ = 2 * MAX_HEADER_BYTES
_HEADER = "baggage"
_OWS = " \t"
_log = logging.getLogger("kubetrace.propagation")


def encode_member(key: str, value: object) -> str:
    """One list-member as it goes on the wire (UnicodeEncodeError for a lone surrogate)."""
    return f"{quote(str(key), safe=_VALUE_SAFE)}={quote(str(value), safe=_VALUE_SAFE)}"


class Budget:
    """The W3C limits, filled one whole member at a time."""

    __slots__ = ("members", "size")

    def __init__(self):
        self.members, self.size = 0, -1  # no comma before the first member

    def full(self) -> bool:
        """Whether not even the shortest member ("k=") fits any more."""
        return self.members == MAX_MEMBERS or self.size + 3 > MAX_HEADER_BYTES

    def admit(self, member: str) -> bool:
        """Count `member` (as encode_member() wrote it: ASCII, so characters are bytes) if it fits."""
        if self.members == MAX_MEMBERS or self.size + 1 + len(member) > MAX_HEADER_BYTES:
            return False
        self.members += 1
        self.size += 1 + len(member)
        return True


def fitting(entries: Iterable[tuple[str, object]]) -> dict[str, str]:
    """The keys of the entries, in order, that fit the limits whole, each with its list-member as
    encode_member() writes it; the others are dropped."""
    budget, kept = Budget(), {}
    for key, value in entries:
        try:
            member = encode_member(key, value)
        except UnicodeEncodeError:  # a lone surrogate set through the OpenTelemetry API
            continue
        if budget.admit(member):
            kept[key] = member
        elif budget.full():
            break
    return kept


def parse_baggage(values: Iterable[object]) -> dict[str, str]:
    """The entries of one or more `baggage` header values, malformed members skipped (last of a
    duplicate key wins, as in Go and upstream), not yet held to the limits."""
    header = ",".join(v for v in values if isinstance(v, str))
    if len(header) > _MAX_READ:
        header = header[:_MAX_READ].rpartition(",")[0]
    entries: dict[str, str] = {}
    malformed = 0
    for member in header.split(","):
        pair = member.split(";", 1)[0]  # properties are allowed and carry nothing we keep
        name, sep, value = pair.partition("=")
        name, value = name.strip(_OWS), value.strip(_OWS)
        if not sep or not TOKEN.fullmatch(name) or not _VALUE.fullmatch(value):
            malformed += bool(member.strip(_OWS))
            continue
        try:
            entries[unquote(name, errors="strict")] = unquote(value, errors="strict")
        except UnicodeDecodeError:  # not percent-encoded UTF-8
            malformed += 1
    if malformed:
        _log.debug("kubetrace: baggage: %d malformed member(s) dropped", malformed)
    return entries


class W3CBaggagePropagator(textmap.TextMapPropagator):
    """Reads and writes W3C Baggage with percent-encoding, within the limits, whole members only."""

    def extract(self, carrier, context: Context | None = None, getter=textmap.default_getter) -> Context:
        context = get_current() if context is None else context
        values = getter.get(carrier, _HEADER)
        if not values:
            return context
        entries = dict(baggage.get_all(context))
        received = parse_baggage(values)
        entries.update(received)
        kept = fitting(entries.items())
        if len(kept) < len(entries):
            _log.debug(
                "kubetrace: baggage: %d member(s) over the W3C limits dropped", len(entries) - len(kept)
            )
        for key, value in received.items():
            if key in kept:
                context = baggage.set_baggage(key, value, context)
        return context

    def inject(self, carrier, context: Context | None = None, setter=textmap.default_setter) -> None:
        # kubetrace's set_baggage() and extract() admit only what fits; entries set through the
        # OpenTelemetry API are held to the same rule here.
        kept = fitting(baggage.get_all(context).items())
        if kept:
            setter.set(carrier, _HEADER, ",".join(kept.values()))

    @property
    def fields(self) -> set[str]:
        return {_HEADER}
