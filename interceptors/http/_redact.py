"""Credentials never reach a span: URL userinfo and credential-like query parameters are redacted,
in URLs, query strings and free text (exception messages and stack traces, captured header values).

Every pattern here scans its input once: no quantifier can backtrack over more than one bounded
run, so the cost is linear in the text whatever it holds.
"""

from __future__ import annotations

import re
from urllib.parse import SplitResult, unquote_plus

REDACTED = "REDACTED"
_USERINFO = "REDACTED:REDACTED@"

# Query parameters that carry credentials: pre-signed URL signatures (S3, GCS, Azure SAS) and the
# usual token and password names. Compared case-insensitively, after percent-decoding.
SENSITIVE_QUERY_PARAMETERS = frozenset(
    name.lower()
    for name in (
        "AWSAccessKeyId",
        "Signature",
        "sig",
        "X-Goog-Signature",
        "X-Goog-Credential",
        "X-Amz-Signature",
        "X-Amz-Credential",
        "X-Amz-Security-Token",
        "token",
        "access_token",
        "id_token",
        "refresh_token",
        "client_secret",
        "secret",
        "password",
        "passwd",
        "api_key",
        "apikey",
        "api-key",
        "key",
    )
)
# Parameters are separated by "&" or ";" (the W3C's recommendation for HTML forms, still served).
# A cheap screen: most queries name none of the parameters and are returned as they are.
_MAYBE_SENSITIVE = re.compile(
    r"(?:^|[?&;\s])(?:"
    + "|".join(re.escape(n) for n in sorted(SENSITIVE_QUERY_PARAMETERS))
    + r")(?:=|&|;|$)",
    re.IGNORECASE,
)
# A name longer than this cannot be a percent-encoded sensitive one (3 characters per byte).
_MAX_NAME = 3 * max(len(n) for n in SENSITIVE_QUERY_PARAMETERS)
# `name=` at the start or after a separator ("?" too: a URL inside a value or in prose). Only the
# name is matched, so that a parameter nested in another's value is still found.
_NAME = re.compile(rf"(?:^|(?<=[?&;\s]))([^?&;=\s]{{1,{_MAX_NAME}}})=")
# Where a value ends: in a query at the next separator; in free text also where prose, a repr or a
# log line ends a URL.
_QUERY_VALUE_END = re.compile(r"[&;]")
_TEXT_VALUE_END = re.compile(r"[&;#\s'\"<>`]")
# scheme://userinfo@host: the userinfo runs to the last "@" before the authority ends.
_TEXT_USERINFO = re.compile(r"(?<=://)[^/?#\s'\"<>`]*@")


def redact_query(query: str) -> str:
    """The query with the value of every credential-like parameter replaced by REDACTED."""
    if "%" not in query and "+" not in query and _MAYBE_SENSITIVE.search(query) is None:
        return query
    return _redact_parameters(query, _QUERY_VALUE_END)


def redact_path(path: str) -> str:
    """A request path with path parameters (/p;token=...) redacted, and the userinfo of an absolute
    target (GET http://user:password@host/p, as sent to proxies: servers pass it on as the path)."""
    return redact_text(path) if "=" in path or "@" in path else path


def redact_url(url: SplitResult) -> str:
    """The full URL for `url.full`: userinfo replaced, credential-like parameter values redacted, no fragment."""
    netloc = url.netloc
    if "@" in netloc:
        netloc = _USERINFO + netloc.rpartition("@")[2]
    query = "?" + redact_query(url.query) if url.query else ""
    return f"{url.scheme}://{netloc}{redact_path(url.path)}{query}"


def redact_text(text: str) -> str:
    """Free text with URL userinfo and credential-like parameter values redacted wherever they appear
    ("... url: /objects?X-Amz-Signature=..." in a urllib3 error, a Location header, a traceback)."""
    if "@" in text:
        text = _TEXT_USERINFO.sub(_USERINFO, text)
    return _redact_parameters(text, _TEXT_VALUE_END) if "=" in text else text


def _redact_parameters(text: str, value_end: re.Pattern[str]) -> str:
    parts: list[str] = []
    done = 0  # text[:done] is in parts; a name inside a value already redacted is skipped
    for match in _NAME.finditer(text):
        if match.start() < done or unquote_plus(match.group(1)).lower() not in SENSITIVE_QUERY_PARAMETERS:
            continue
        end = value_end.search(text, match.end())
        parts += (text[done : match.end()], REDACTED)
        done = len(text) if end is None else end.start()
    if not parts:
        return text
    parts.append(text[done:])
    return "".join(parts)
