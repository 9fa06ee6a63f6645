"""Credentials never reach a span: URL userinfo and credential-like query parameters are redacted."""

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
# A cheap screen: most queries name none of them and are returned as they are.
_MAYBE_SENSITIVE = re.compile(
    r"(?:^|[&;])(?:" + "|".join(re.escape(n) for n in sorted(SENSITIVE_QUERY_PARAMETERS)) + r")(?:=|&|;|$)",
    re.IGNORECASE,
)


def redact_query(query: str) -> str:
    """The query with the value of every credential-like parameter replaced by REDACTED."""
    if "%" not in query and "+" not in query and _MAYBE_SENSITIVE.search(query) is None:
        return query
    pairs = query.split("&")
    for i, pair in enumerate(pairs):
        name, sep, _ = pair.partition("=")
        if unquote_plus(name).lower() in SENSITIVE_QUERY_PARAMETERS:
            pairs[i] = f"{name}={REDACTED}" if sep else pair
    return "&".join(pairs)


def redact_url(url: SplitResult) -> str:
    """The full URL for `url.full`: userinfo replaced, credential-like query values redacted, no fragment."""
    netloc = url.netloc
    if "@" in netloc:
        netloc = _USERINFO + netloc.rpartition("@")[2]
    query = "?" + redact_query(url.query) if url.query else ""
    return f"{url.scheme}://{netloc}{url.path}{query}"
