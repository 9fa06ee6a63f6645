"""JaegerRemoteSampler against a real HTTP server on loopback: both wire forms, errors, timeouts, garbage, backoff."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from tracing import ConfigError
from tracing.sampling import JaegerRemoteSampler, OperationSampling, Strategy
from tracing.sampling._remote_sampler import sampling_url

LOGGER = "kubetrace.sampling"

ANSWERS = {
    "/numeric": (200, json.dumps({"strategyType": 0, "probabilisticSampling": {"samplingRate": 0.5}})),
    "/string": (
        200,
        json.dumps({"strategyType": "RATE_LIMITING", "rateLimitingSampling": {"maxTracesPerSecond": 100}}),
    ),
    "/per-operation": (
        200,
        json.dumps(
            {
                "strategyType": 0,
                "probabilisticSampling": {"samplingRate": 0.1},
                "operationSampling": {
                    "defaultSamplingProbability": 0.1,
                    "defaultLowerBoundTracesPerSecond": 0.0166,
                    "perOperationStrategies": [
                        {"operation": "GET /healthz", "probabilisticSampling": {"samplingRate": 0}}
                    ],
                },
            }
        ),
    ),
    "/error": (500, "internal error"),
    "/garbage": (200, "<html>not json</html>"),
    "/out-of-range": (200, json.dumps({"strategyType": 0, "probabilisticSampling": {"samplingRate": 3}})),
}


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.answers = dict(ANSWERS)
        self.queries: list[dict[str, list[str]]] = []
        self.release = threading.Event()  # lets /slow answer, at teardown at the latest
        self.switch = "/numeric"  # what /switch answers like

    def handle_error(self, request, client_address) -> None:
        pass  # a client that timed out leaves a broken pipe behind; that is the point of /slow

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        self.server.queries.append(parse_qs(parts.query))
        path = self.server.switch if parts.path == "/switch" else parts.path
        if path == "/slow":
            self.server.release.wait(5)
        status, body = self.server.answers.get(path, ANSWERS["/numeric"])
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format, *args) -> None:
        pass


@pytest.fixture
def server():
    server = _Server()
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()
    thread.join(5)


def _remote(endpoint: str, **kwargs) -> JaegerRemoteSampler:
    kwargs.setdefault("background", False)
    kwargs.setdefault("timeout", 1.0)
    return JaegerRemoteSampler("api", endpoint, **kwargs)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/numeric", Strategy("probabilistic", 0.5)),
        ("/string", Strategy("ratelimiting", 100.0)),
        (
            "/per-operation",
            Strategy("probabilistic", 0.1, OperationSampling(0.1, 0.0166, (("GET /healthz", 0.0),))),
        ),
    ],
    ids=["numeric-strategy-type", "string-strategy-type", "per-operation"],
)
def test_a_good_answer_replaces_the_initial_strategy(server, path, expected):
    sampler = _remote(server.url(path))
    assert sampler.strategy == Strategy("probabilistic", 0.001)
    assert sampler.poll()
    assert sampler.strategy == expected
    assert server.queries == [{"service": ["api"]}]


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/error", "HTTP 500 Internal Server Error"),
        ("/garbage", "unusable answer: not valid JSON at line 1, column 1: Expecting value"),
        (
            "/out-of-range",
            "unusable answer: probabilisticSampling.samplingRate: must be a probability between 0 and 1, got 3",
        ),
        ("/slow", "no answer within 0.05s"),
    ],
    ids=["http-error", "garbage", "out-of-range", "timeout"],
)
def test_a_failed_poll_keeps_the_last_good_strategy_and_says_why(server, caplog, path, reason):
    sampler = _remote(server.url("/switch"), timeout=0.05)
    assert sampler.poll()
    server.switch = path
    started = time.monotonic()
    assert not sampler.poll()
    assert time.monotonic() - started < 1
    assert sampler.strategy == Strategy("probabilistic", 0.5)
    assert caplog.messages == [
        f"kubetrace: cannot get the sampling strategy from {sampler.url}: {reason}; keeping probabilistic 0.5"
    ]


def test_a_refused_connection_keeps_the_initial_strategy(caplog):
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    sampler = _remote(f"http://127.0.0.1:{port}/sampling", initial_sampling_rate=0.25)
    assert not sampler.poll()
    assert sampler.strategy == Strategy("probabilistic", 0.25)
    assert "Connection refused; keeping probabilistic 0.25" in caplog.messages[0]


def test_the_same_failure_is_logged_once_and_recovery_is_logged(server, caplog):
    caplog.set_level(logging.INFO, LOGGER)
    sampler = _remote(server.url("/error"))
    for _ in range(3):
        sampler.poll()
    server.answers["/error"] = (503, "unavailable")
    sampler.poll()
    server.answers["/error"] = ANSWERS["/numeric"]
    assert sampler.poll()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert [w.split(": ", 2)[2].split(";")[0] for w in warnings] == [
        "HTTP 500 Internal Server Error",
        "HTTP 503 Service Unavailable",
    ]
    assert f"kubetrace: {sampler.url} answers again" in caplog.messages


def test_failures_back_off_exponentially_up_to_the_polling_interval():
    answers = iter([OSError("down")] * 6 + [b'{"probabilisticSampling": {"samplingRate": 1}}'])

    def fetch(url: str, timeout: float) -> bytes:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    sampler = _remote("http://jaeger:5778", polling_interval=10.0, fetch=fetch)
    assert [sampler._poll_task() for _ in range(7)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0, 10.0]
    assert sampler.strategy == Strategy("probabilistic", 1.0)


def test_backoff_starts_at_the_polling_interval_when_that_is_shorter_than_a_second():
    def fetch(url: str, timeout: float) -> bytes:
        raise OSError("down")

    sampler = _remote("http://jaeger:5778", polling_interval=0.25, fetch=fetch)
    assert [sampler._poll_task() for _ in range(3)] == [0.25, 0.25, 0.25]


def test_the_background_thread_polls_at_once_without_blocking_construction(server):
    server.answers["/sampling"] = ANSWERS["/string"]
    started = time.monotonic()
    sampler = JaegerRemoteSampler("api", server.url(""), polling_interval=3600, timeout=1.0)
    try:
        assert time.monotonic() - started < 0.5
        deadline = time.monotonic() + 5
        while sampler.strategy.type != "ratelimiting" and time.monotonic() < deadline:
            time.sleep(0.002)
        assert sampler.strategy == Strategy("ratelimiting", 100.0)
    finally:
        sampler.shutdown()


def test_shutdown_stops_polling_promptly(server):
    sampler = JaegerRemoteSampler("api", server.url("/numeric"), polling_interval=3600, timeout=1.0)
    deadline = time.monotonic() + 5
    while not server.queries and time.monotonic() < deadline:
        time.sleep(0.002)
    started = time.monotonic()
    sampler.shutdown()
    assert time.monotonic() - started < 1
    assert not sampler._poller._thread.is_alive()
    assert len(server.queries) == 1


def test_span_creation_never_waits_for_a_slow_endpoint(server):
    sampler = JaegerRemoteSampler("api", server.url("/slow"), polling_interval=3600, timeout=5.0)
    try:
        started = time.monotonic()
        for _ in range(100):
            sampler.should_sample(None, 1, "op")
        assert time.monotonic() - started < 0.5
    finally:
        server.release.set()
        sampler.shutdown()


@pytest.mark.parametrize(
    ("endpoint", "url"),
    [
        ("http://localhost:5778", "http://localhost:5778/sampling?service=my+svc"),
        ("http://localhost:5778/", "http://localhost:5778/sampling?service=my+svc"),
        ("http://jaeger:14268/api/sampling", "http://jaeger:14268/api/sampling?service=my+svc"),
        ("https://jaeger/sampling?tenant=a", "https://jaeger/sampling?tenant=a&service=my+svc"),
    ],
)
def test_the_endpoint_is_a_base_url_or_a_full_path(endpoint, url):
    assert sampling_url(endpoint, "my svc") == url


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"endpoint": "localhost:5778"},
            "endpoint: must be an http(s) URL such as http://localhost:5778/sampling",
        ),
        ({"endpoint": "http://host:port"}, "endpoint: not a URL"),
        ({"polling_interval": 0}, "polling_interval: must be > 0 seconds, got 0"),
        ({"initial_sampling_rate": 1.5}, "initial_sampling_rate: must be between 0 and 1, got 1.5"),
        ({"timeout": -1}, "timeout: must be > 0 seconds, got -1"),
    ],
)
def test_bad_arguments_are_refused(kwargs, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        JaegerRemoteSampler("api", background=False, **kwargs)


def test_the_grpc_port_gets_a_hint(caplog):
    _remote("http://jaeger:14250")
    assert caplog.messages == [
        "kubetrace: http://jaeger:14250: port 14250 is Jaeger's gRPC port; this sampler polls HTTP (http://localhost:5778/sampling)"
    ]


def test_description_names_the_url_and_the_strategy():
    sampler = _remote("http://jaeger:5778")
    assert (
        sampler.get_description()
        == "JaegerRemoteSampler{http://jaeger:5778/sampling?service=api,probabilistic 0.001}"
    )
