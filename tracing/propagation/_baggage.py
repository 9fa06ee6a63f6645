"""Baggage that always fits the W3C limits, so every entry set is an entry sent.

W3C Baggage guarantees propagation of at most 64 list-members and 8192 bytes per `baggage` header;
beyond that a receiver may drop list-members. A propagator can only stop at the first entry that
does not fit, losing later, smaller ones as well. Here an entry that would break a limit
is refused when it is set (logged at debug level), so what is in the context is exactly what goes
on the wire.
"""

from __future__ import annotations

import logging
import re

from opentelemetry import baggage
from opentelemetry import context as context_api
from opentelemetry.context import Context

from ._w3c_baggage import encode_member

MAX_ENTRIES = 64
MAX_ENTRY_BYTES = 4096
MAX_TOTAL_BYTES = 8192

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 7230 token: what a W3C baggage key must be
_log = logging.getLogger("kubetrace.propagation")


def set_baggage(key: str, value: object, context: Context | None = None) -> Context:
    """A context with `key=value` added to the current (or given) context's baggage.

    `value` is stored as str, as the receiver will see it. If the entry is not a valid W3C key, or
    would exceed a W3C limit, it is dropped and the context is returned unchanged.
    """
    value = str(value)
    current = dict(baggage.get_all(context))
    current[key] = value
    problem = _limit_broken(key, current)
    if problem:
        _log.debug("kubetrace: baggage entry %.64r dropped: %s", key, problem)
        return context_api.get_current() if context is None else context
    return baggage.set_baggage(key, value, context)


def get_baggage(key: str, context: Context | None = None) -> str | None:
    """The baggage value for `key` in the current (or given) context."""
    value = baggage.get_baggage(key, context)
    return None if value is None else str(value)


def baggage_items(context: Context | None = None) -> dict[str, str]:
    """All baggage entries of the current (or given) context."""
    return {str(k): str(v) for k, v in baggage.get_all(context).items()}


def _limit_broken(key: str, entries: dict[str, object]) -> str | None:
    if not isinstance(key, str) or not _TOKEN.fullmatch(key):
        return "the key is not a W3C token"
    sizes = [len(_encoded(k, v)) for k, v in entries.items()]
    own = len(_encoded(key, entries[key]))
    if own > MAX_ENTRY_BYTES:
        return f"{own} bytes encoded, more than {MAX_ENTRY_BYTES} per entry"
    if len(entries) > MAX_ENTRIES:
        return f"more than {MAX_ENTRIES} entries"
    total = sum(sizes) + len(sizes) - 1  # entries joined with ","
    if total > MAX_TOTAL_BYTES:
        return f"the baggage header would be {total} bytes, more than {MAX_TOTAL_BYTES}"
    return None


def _encoded(key: str, value: object) -> str:
    return encode_member(key, value)  # exactly as our W3C propagator writes a list-member
