"""Baggage that always fits the W3C limits, so every entry set is an entry sent.

An entry is set only if the context's baggage, with it, still goes on the wire whole: the rule of
_w3c_baggage.fitting(), the same one a received header is held to. Anything else is refused when it
is set (logged at debug level) rather than dropped later, unseen, by the propagator.
"""

from __future__ import annotations

import logging

from opentelemetry import baggage
from opentelemetry import context as context_api
from opentelemetry.context import Context

from ._w3c_baggage import MAX_HEADER_BYTES, MAX_MEMBERS, TOKEN, fitting

_log = logging.getLogger("kubetrace.propagation")


def set_baggage(key: str, value: object, context: Context | None = None) -> Context:
    """A context with `key=value` added to the current (or given) context's baggage.

    `value` is stored as str, as the receiver will see it. If `key` is not a W3C key (an RFC 7230
    token), or the baggage with the entry would not fit the W3C limits (64 entries, a header of 8192
    bytes as percent-encoded), it is dropped and the context is returned unchanged.
    """
    value = str(value)
    current = baggage.get_all(context)
    candidate = {**current, key: value}
    problem = None
    if not isinstance(key, str) or not TOKEN.fullmatch(key):
        problem = "the key is not a W3C token"
    else:
        after = fitting(candidate.items())
        if key not in after or any(k not in after for k in fitting(current.items())):
            problem = f"the baggage would not fit in {MAX_MEMBERS} entries and {MAX_HEADER_BYTES} bytes"
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
