"""The W3C `tracestate` header by the Trace Context Level 2 rules, one member at a time.

opentelemetry-api parses tracestate by the Level 1 grammar and empties the whole header for one
member it does not accept: a Level 2 key (`1vendor`, `vendor@`, `tenant@vendor@x`, 256 characters
with an `@` anywhere), a duplicate key, or a byte of garbage, each logged as a warning per request.
Here a malformed or duplicate member costs only itself (one debug line per header), and a header
that is too long loses whole members by the specification's truncation rule.

Work is linear in the header and bounded: at most _MAX_READ characters are looked at, each member is
length-checked before the one regex, which cannot backtrack beyond a member's 513 characters.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from opentelemetry.trace import TraceState
from opentelemetry.trace.span import DEFAULT_TRACE_STATE

from .._otel_private import trace_state

MAX_MEMBERS = 32  # "There can be a maximum of 32 list-members in a list."
MAX_LENGTH = 512  # "Vendors SHOULD propagate at least 512 characters of a combined header."
LONG_MEMBER = 128  # "Entries larger than 128 characters long SHOULD be removed first."
_MAX_MEMBER = 256 + 1 + 256  # key "=" value, each at most 256 characters
# A combined header longer than this is read up to its last comma before it: 32 members of the
# longest kind fit in half of it, so only padding or an attack is left unread.
_MAX_READ = 32768
# key   = ( lcalpha / DIGIT ) 0*255( keychar ); keychar = lcalpha / DIGIT / "_" / "-" / "*" / "/" / "@"
# value = 0*255( chr ) nblk-chr; chr = %x20 / nblk-chr; nblk-chr = %x21-2B / %x2D-3C / %x3E-7E
_MEMBER = re.compile(
    r"([a-z0-9][a-z0-9_\-*/@]{0,255})=([\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e])"
)
_OWS = " \t"
_log = logging.getLogger("kubetrace.propagation")


def parse_tracestate(values: Iterable[object]) -> TraceState:
    """The trace state of one or more `tracestate` header values (combined as RFC 9110 combines
    fields: joined by commas). DEFAULT_TRACE_STATE itself when no member is kept."""
    header = ",".join(v for v in values if isinstance(v, str))
    if len(header) > _MAX_READ:
        header = header[:_MAX_READ].rpartition(",")[0]
    members: dict[str, str] = {}
    malformed = duplicates = beyond = 0
    for member in header.split(","):
        member = member.strip(_OWS)
        if not member:
            continue  # empty and whitespace-only members are allowed
        match = _MEMBER.fullmatch(member) if len(member) <= _MAX_MEMBER else None
        if match is None:
            malformed += 1
        elif match[1] in members:
            duplicates += 1  # the left-most entry is the most recent position: keep it
        elif len(members) < MAX_MEMBERS:
            members[match[1]] = match[2]
        else:
            beyond = 1  # more than 32: the rest is removed from the end
            break
    if malformed or duplicates or beyond:
        _log.debug(
            "kubetrace: tracestate: %d malformed and %d duplicate member(s) dropped%s",
            malformed,
            duplicates,
            ", and all after the 32nd" if beyond else "",
        )
    if not members:
        return DEFAULT_TRACE_STATE
    return trace_state(truncated(members))


def truncated(members: dict[str, str]) -> dict[str, str]:
    """`members` cut to MAX_LENGTH characters combined by whole entries, as the specification says:
    entries longer than 128 characters first, then from the end."""
    length = sum(len(k) + len(v) + 2 for k, v in members.items()) - 1  # "k=v" joined by ","
    if length <= MAX_LENGTH:
        return members
    kept = list(members.items())
    for long_first in (True, False):
        for i in range(len(kept) - 1, -1, -1):
            key, value = kept[i]
            size = len(key) + len(value) + 1
            if long_first and size <= LONG_MEMBER:
                continue
            del kept[i]
            length -= size + 1
            if length <= MAX_LENGTH:
                return dict(kept)
    return {}
