"""JaegerRemoteSampler: the service's strategy polled from a Jaeger sampling endpoint over HTTP."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode, urlsplit, urlunsplit
from urllib.request import Request, urlopen

from .._errors import ConfigError, Problem
from ._deciders import DEFAULT_MAX_OPERATIONS, Clock
from ._model import PROBABILISTIC, Strategy
from ._poller import Poller
from ._strategy_sampler import StrategySampler
from ._wire import parse_response

# Jaeger's agent, Jaeger v2's remote_sampling extension and the Collector's jaegerremotesampling
# extension serve HTTP here; Go's and Rust's OpenTelemetry samplers default to it too.
DEFAULT_ENDPOINT = "http://localhost:5778/sampling"
DEFAULT_POLLING_INTERVAL = 60.0  # seconds, as the OpenTelemetry specification and Jaeger's clients
DEFAULT_INITIAL_SAMPLING_RATE = 0.001
DEFAULT_TIMEOUT = 5.0
_MAX_ANSWER = 1 << 20  # bytes; a strategies answer is a few KB
_FIRST_RETRY = 1.0  # seconds; doubles after each failure up to the polling interval
_GRPC_PORT = 14250  # Jaeger's gRPC sampling port, which the specification's example uses

Fetch = Callable[[str, float], bytes]  # (url, timeout in seconds) -> the answer's body; raises on failure
_logger = logging.getLogger("kubetrace.sampling")


class JaegerRemoteSampler(StrategySampler):
    """Samples new traces as a Jaeger sampling endpoint says for `service_name`.

    Until the first good answer it samples probabilistically at `initial_sampling_rate`; afterwards
    a failed poll (connection, HTTP status, timeout, unusable answer) keeps the last good strategy,
    is logged once per distinct reason, and is retried after 1 s, 2 s, 4 s... up to the polling
    interval. Polling runs on a daemon thread; `background=False` leaves it to explicit poll() calls.
    """

    def __init__(
        self,
        service_name: str,
        endpoint: str = DEFAULT_ENDPOINT,
        *,
        polling_interval: float = DEFAULT_POLLING_INTERVAL,
        initial_sampling_rate: float = DEFAULT_INITIAL_SAMPLING_RATE,
        timeout: float = DEFAULT_TIMEOUT,
        fetch: Fetch | None = None,
        clock: Clock = time.monotonic,
        max_operations: int = DEFAULT_MAX_OPERATIONS,
        background: bool = True,
    ):
        _check_arguments(polling_interval, initial_sampling_rate, timeout)
        self._url = sampling_url(endpoint, service_name)
        self._service = service_name
        self._fetch = fetch or fetch_url
        self._interval, self._timeout = polling_interval, timeout
        self._failures = 0
        self._problem: str | None = None  # the failure logged last, so that each is logged once
        super().__init__(
            Strategy(PROBABILISTIC, initial_sampling_rate), clock=clock, max_operations=max_operations
        )
        self._poller = Poller(
            "kubetrace-sampling-remote", self._poll_task, first_delay=0.0, fallback_delay=polling_interval
        )
        if background:
            self._poller.start()

    @property
    def url(self) -> str:
        return self._url

    def poll(self) -> bool:
        """Ask the endpoint now and apply its answer; False, keeping the current strategy, if that failed."""
        with self._update_lock:
            try:
                strategy = parse_response(self._fetch(self._url, self._timeout), self._url)
            except Exception as err:  # whatever goes wrong here, spans keep being sampled
                return self._failed(_reason(err, self._timeout))
            self._failures = 0
            if self._problem is not None:
                _logger.info("kubetrace: %s answers again", self._url)
                self._problem = None
            if self._apply(strategy):
                _logger.info(
                    "kubetrace: sampling for %s from %s: %s", self._service, self._url, strategy.describe()
                )
            return True

    def shutdown(self) -> None:
        """Stop polling (promptly: the wait is an Event); the last strategy keeps deciding."""
        self._poller.stop()

    def get_description(self) -> str:
        return f"JaegerRemoteSampler{{{self._url},{self.strategy.describe()}}}"

    def _poll_task(self) -> float:
        if self.poll():
            return self._interval
        first = min(_FIRST_RETRY, self._interval)
        return min(first * 2 ** min(self._failures - 1, 32), self._interval)

    def _failed(self, reason: str) -> bool:
        self._failures += 1
        if reason != self._problem:
            _logger.warning(
                "kubetrace: cannot get the sampling strategy from %s: %s; keeping %s",
                self._url,
                reason,
                self.strategy.describe(),
            )
            self._problem = reason
        return False


def sampling_url(endpoint: str, service_name: str) -> str:
    """The URL to GET: `endpoint` (a base URL gets /sampling) with ?service=NAME added."""
    problem = endpoint_problem(endpoint)
    if problem:
        raise ConfigError([Problem("JaegerRemoteSampler", "endpoint", problem)])
    parts = urlsplit(endpoint)
    if parts.port == _GRPC_PORT:
        _logger.warning(
            "kubetrace: %s: port %d is Jaeger's gRPC port; this sampler polls HTTP (%s)",
            endpoint,
            _GRPC_PORT,
            DEFAULT_ENDPOINT,
        )
    path = parts.path if parts.path not in ("", "/") else "/sampling"
    query = "&".join(q for q in (parts.query, urlencode({"service": service_name})) if q)
    return urlunsplit((parts.scheme, parts.netloc, path, query, ""))


def endpoint_problem(endpoint: str) -> str | None:
    """What is wrong with a sampling endpoint URL, or None."""
    try:
        parts = urlsplit(endpoint)
        _ = parts.port  # raises ValueError for a port that is not a number
    except ValueError as err:
        return f"not a URL ({err}): {endpoint!r}"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"must be an http(s) URL such as {DEFAULT_ENDPOINT}, got {endpoint!r}"
    return None


def fetch_url(url: str, timeout: float) -> bytes:
    """GET `url` with urllib; raises for a status >= 400, a timeout, or an answer over 1 MiB."""
    request = Request(url, headers={"Accept": "application/json", "User-Agent": "kubetrace"})
    with urlopen(request, timeout=timeout) as response:  # the scheme was checked to be http(s)
        body = response.read(_MAX_ANSWER + 1)
    if len(body) > _MAX_ANSWER:
        raise ValueError(f"answer larger than {_MAX_ANSWER} bytes")
    return body


def _check_arguments(polling_interval: float, initial_sampling_rate: float, timeout: float) -> None:
    problems = []
    if polling_interval <= 0:
        problems.append(
            Problem("JaegerRemoteSampler", "polling_interval", f"must be > 0 seconds, got {polling_interval}")
        )
    if not 0.0 <= initial_sampling_rate <= 1.0:
        problems.append(
            Problem(
                "JaegerRemoteSampler",
                "initial_sampling_rate",
                f"must be between 0 and 1, got {initial_sampling_rate}",
            )
        )
    if timeout <= 0:
        problems.append(Problem("JaegerRemoteSampler", "timeout", f"must be > 0 seconds, got {timeout}"))
    if problems:
        raise ConfigError(problems)


def _reason(err: Exception, timeout: float) -> str:
    """A short, stable description of a failed poll: equal failures log once."""
    if isinstance(err, ConfigError):
        return "unusable answer: " + "; ".join(
            f"{p.field}: {p.message}" if p.field else p.message for p in err.problems
        )
    if isinstance(err, HTTPError):
        return f"HTTP {err.code} {err.reason}"
    cause = err.reason if isinstance(err, URLError) else err
    if isinstance(cause, str):
        return cause
    if isinstance(cause, TimeoutError):
        return f"no answer within {timeout:g}s"
    if isinstance(cause, OSError) and cause.strerror:
        return cause.strerror
    return f"{type(cause).__name__}: {cause}"
