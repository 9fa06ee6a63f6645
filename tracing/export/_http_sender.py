"""OTLP/HTTP: one POST of application/x-protobuf per batch, through a requests session.

requests (the SDK's own OTLP/HTTP transport) keeps what works today working: TLS with a CA file
and a client certificate, proxies from the environment, connection reuse.
"""

from __future__ import annotations

import gzip
import threading
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from time import time

import requests

from ._retry import Outcome
from ._status import partial_success

_RETRYABLE = frozenset((429, 502, 503, 504))
_TRANSIENT = (
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    requests.exceptions.ChunkedEncodingError,
)


@dataclass(frozen=True)
class HttpTarget:
    """Where and how to POST."""

    url: str
    certificate: str | None  # CA bundle to verify the server with; None: the system's
    client_certificate: str | None
    client_key: str | None
    headers: tuple[tuple[str, str], ...]
    gzip: bool
    user_agent: str


class HttpSender:
    """Sends encoded batches to one OTLP/HTTP endpoint."""

    def __init__(self, target: HttpTarget):
        self.target = target
        self.describe = f"http {target.url}"
        headers = {"Content-Type": "application/x-protobuf", "User-Agent": target.user_agent}
        if target.gzip:
            headers["Content-Encoding"] = "gzip"
        headers.update(target.headers)
        self._headers = headers
        self._verify: str | bool = target.certificate or True
        self._cert = (
            (target.client_certificate, target.client_key)
            if target.client_certificate and target.client_key
            else target.client_certificate
        )
        self._lock = threading.Lock()
        self._session = requests.Session()

    def send(self, body: bytes, timeout_s: float) -> Outcome:
        """POST one request, waiting at most `timeout_s` per connect and per read."""
        data = gzip.compress(body, compresslevel=6) if self.target.gzip else body
        with self._lock:
            session = self._session
        try:
            response = session.post(
                self.target.url,
                data=data,
                headers=self._headers,
                timeout=timeout_s,
                verify=self._verify,
                cert=self._cert,
            )
        except _TRANSIENT as err:
            # Could not connect, or the connection broke or timed out: transient by the spec's rules.
            return Outcome.failure(f"{type(err).__name__}: {err}", retryable=True)
        except requests.exceptions.RequestException as err:  # a bad URL or header: retrying cannot help
            return Outcome.failure(f"{type(err).__name__}: {err}", retryable=False)
        status = response.status_code
        if 200 <= status < 300:
            return partial_success(response.content)
        detail = f"HTTP {status}: {response.text[:200]}"
        if status in _RETRYABLE:
            return Outcome.failure(detail, True, retry_after(response.headers.get("Retry-After")))
        return Outcome.failure(detail, retryable=False)

    def cancel(self) -> None:
        """Close the session's connections (shutdown's time is up); a send in flight then fails."""
        with self._lock:
            session, self._session = self._session, requests.Session()
        session.close()

    def close(self) -> None:
        self._session.close()

    def forget(self) -> None:
        """In a forked child: a session of its own (the parent's sockets are the parent's)."""
        self._lock = threading.Lock()
        self._session = requests.Session()


def retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP date; None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(parsedate_to_datetime(value).timestamp() - time(), 0.0)
    except (TypeError, ValueError, IndexError):
        return None
