"""Opt-in capture of HTTP headers as span attributes, with sanitisation.

Capture entries are case-insensitive regular expressions matched against the whole header name (a
plain name is one). Authorization, Proxy-Authorization, Cookie and Set-Cookie are never captured,
whatever the configuration: they carry credentials, and a capture list is too easy to get wrong.
Sanitize entries, as in OpenTelemetry's contrib instrumentations, are searched for anywhere in the
name; a captured header they find is recorded as "[REDACTED]". Names that carry credentials by
convention are always sanitized (DEFAULT_SANITIZED), the configured entries are added to them. Every
captured value also has URL userinfo and credential-like parameters redacted (a Location, a Referer).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from ._redact import redact_text

NEVER_CAPTURED = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})
# Words that name a credential-bearing header wherever they appear in its name: X-Api-Key,
# X-Auth-Token, X-Amz-Security-Token, X-Vault-Token, Private-Token, X-Csrf-Token, Ocp-Apim-Subscription-Key,
# X-Registry-Auth, X-Goog-Iam-Authorization-Token, X-Client-Secret, X-Session-Id, X-Amz-Signature...
DEFAULT_SANITIZED = (
    "token",
    "secret",
    "passw",
    "auth",
    "key",
    "signature",
    "credential",
    "session",
    "cookie",
)
SANITIZED = "[REDACTED]"
MAX_VALUE_LENGTH = 1024  # header values are request-controlled: bound what lands on a span
MAX_NAME_LENGTH = 256  # and so are names, which user patterns are matched against

_log = logging.getLogger("kubetrace.http")


class HeaderCapture:
    """Which headers of one message direction become `{prefix}{name}` attributes."""

    __slots__ = ("_capture", "_prefix", "_sanitize", "enabled")

    def __init__(self, prefix: str, patterns: Iterable[str], sanitize: Iterable[str] = ()):
        """`sanitize`: entries added to DEFAULT_SANITIZED."""
        self._prefix = prefix
        self._capture = _compile(patterns)
        self._sanitize = _compile((*DEFAULT_SANITIZED, *sanitize))
        self.enabled = self._capture is not None

    def attributes(self, headers: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
        """Span attributes for the configured headers among `headers` (name, value) pairs."""
        out: dict[str, list[str]] = {}
        if self._capture is None:
            return out
        for name, value in headers:
            name = name.lower()
            if len(name) > MAX_NAME_LENGTH or name in NEVER_CAPTURED or self._capture.fullmatch(name) is None:
                continue
            value = (
                SANITIZED
                if self._sanitize.search(name) is not None
                else redact_text(value)[:MAX_VALUE_LENGTH]
            )
            out.setdefault(self._prefix + name, []).append(value)
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
