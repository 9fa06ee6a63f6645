"""Opt-in capture of HTTP headers as span attributes, with sanitisation.

Entries are case-insensitive regular expressions matched against the whole header name (a plain
name is one). Authorization, Proxy-Authorization, Cookie and Set-Cookie are never captured, whatever
the configuration: they carry credentials, and a capture list is too easy to get wrong.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

NEVER_CAPTURED = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})
SANITIZED = "[REDACTED]"
MAX_VALUE_LENGTH = 1024  # header values are request-controlled: bound what lands on a span

_log = logging.getLogger("kubetrace.http")


class HeaderCapture:
    """Which headers of one message direction become `{prefix}{name}` attributes."""

    __slots__ = ("_capture", "_prefix", "_sanitize", "enabled")

    def __init__(self, prefix: str, patterns: Iterable[str], sanitize: Iterable[str] = ()):
        self._prefix = prefix
        self._capture = _compile(patterns)
        self._sanitize = _compile(sanitize)
        self.enabled = self._capture is not None

    def attributes(self, headers: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
        """Span attributes for the configured headers among `headers` (name, value) pairs."""
        out: dict[str, list[str]] = {}
        if self._capture is None:
            return out
        for name, value in headers:
            name = name.lower()
            if name in NEVER_CAPTURED or self._capture.fullmatch(name) is None:
                continue
            if self._sanitize is not None and self._sanitize.fullmatch(name) is not None:
                value = SANITIZED
            out.setdefault(self._prefix + name, []).append(value[:MAX_VALUE_LENGTH])
        return out


def _compile(patterns: Iterable[str]) -> re.Pattern[str] | None:
    parts = []
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as err:
            _log.warning(
                "kubetrace: header pattern %r is not a valid regular expression (%s); matching it literally",
                pattern,
                err,
            )
            pattern = re.escape(pattern)
        parts.append(f"(?:{pattern})")
    return re.compile("|".join(parts), re.IGNORECASE) if parts else None
