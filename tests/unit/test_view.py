"""`kubetrace view` and its Jaeger query client, against a fake Jaeger query API on loopback."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import socket
import struct
import subprocess
import sys
import termios
import threading
import unicodedata
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from kubetrace_cli._jaeger_query import ViewError, fetch_trace, latest_trace_id, normalise_trace_id, services

ROOT = Path(__file__).resolve().parents[2]
# Jaeger prints 128-bit trace IDs without leading zeros: "%x%016x" of the high and low halves.
TRACE = "00f067aa0ba902b7a3ce929d0e0e4736"
JAEGER_TRACE = TRACE.lstrip("0")
OLDER = "0af7651916cd43dd8448eb211c80319c"
T0_US = 1_700_000_000_000_000


def _tag(key, value):
    kind = {bool: "bool", int: "int64", float: "float64"}.get(type(value), "string")
    return {"key": key, "type": kind, "value": value}


def _jaeger_span(span_id, parent, process, operation, start_us, duration_us, tags=(), refs=(), logs=()):
    references = [{"refType": "CHILD_OF", "traceID": JAEGER_TRACE, "spanID": parent}] if parent else []
    return {
        "traceID": JAEGER_TRACE,
        "spanID": span_id,
        "operationName": operation,
        "references": references + list(refs),
        "startTime": T0_US + start_us,
        "duration": duration_us,
        "tags": [_tag(k, v) for k, v in tags],
        "logs": list(logs),
        "processID": process,
        "warnings": None,
        "flags": 1,
    }


def _jaeger_trace():
    """What Jaeger's GET /api/traces/{id} holds for an OpenTelemetry trace: kind, status and scope
    moved into tags, links as FOLLOWS_FROM references, events as logs."""
    link = {"refType": "FOLLOWS_FROM", "traceID": OLDER.lstrip("0"), "spanID": "00f067aa0ba902b7"}
    event = {"timestamp": T0_US + 300, "fields": [_tag("event", "retry"), _tag("attempt", 2)]}
    return {
        "traceID": JAEGER_TRACE,
        "spans": [
            _jaeger_span(
                "53995c3f42cd8ad8", "", "p1", "POST /api/v1/namespaces/{namespace}/pods", 0, 9_000,
                tags=[("span.kind", "server"), ("http.request.method", "POST"), ("http.response.status_code", 201),
                      ("otel.scope.name", "kubetrace"), ("internal.span.format", "otlp")],
            ),
            _jaeger_span(
                "0c7a1b2d3e4f5061", "53995c3f42cd8ad8", "p1", "storage.v1.Storage/Create", 1_000, 6_500,
                tags=[("span.kind", "client"), ("rpc.grpc.status_code", 14), ("otel.status_code", "ERROR"),
                      ("otel.status_description", "connection refused"), ("error", True)],
                refs=[link], logs=[event],
            ),
            _jaeger_span("7d8e9fa0b1c2d3e4", "0c7a1b2d3e4f5061", "p2", "storage.v1.Storage/Create", 1_400, 4_000,
                         tags=[("span.kind", "server")]),
        ],
        "processes": {
            "p1": {"serviceName": "apiserver", "tags": [_tag("k8s.pod.name", "apiserver-0"), _tag("host.name", "node-a")]},
            "p2": {"serviceName": "storage", "tags": []},
        },
        "warnings": None,
    }  # fmt: skip


def _older_trace():
    span = _jaeger_span("1111111111111111", "", "p1", "GET /healthz", -60_000_000, 500)
    span["traceID"] = OLDER.lstrip("0")
    return {"traceID": OLDER.lstrip("0"), "spans": [span], "processes": {"p1": {"serviceName": "apiserver"}}}


def _envelope(data, errors=None):
    return {"data": data, "total": 0, "limit": 0, "offset": 0, "errors": errors}


class FakeJaeger:
    """Jaeger's query API for one stored trace (and an older one of the same service), on 127.0.0.1."""

    def __init__(self):
        self.queries: list[dict[str, list[str]]] = []
        self.home_page: str | None = None  # what / serves; None: 404, as Jaeger's API-only tests need
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def answer(self, path: str, query: dict[str, list[str]]) -> tuple[int, dict]:
        if path == "/api/services":
            return 200, _envelope(["storage", "apiserver", "jaeger"])
        if path == "/api/traces":
            self.queries.append(query)
            found = query.get("service") == ["apiserver"]
            return 200, _envelope([_older_trace(), _jaeger_trace()] if found else [])
        if path.startswith("/api/traces/") and path.rsplit("/", 1)[1].lstrip("0") == JAEGER_TRACE:
            return 200, _envelope([_jaeger_trace()])
        if path == "/" and self.home_page is not None:
            return 200, self.home_page
        if path.startswith("/web/"):  # some other web server
            return 200, "<html>Welcome</html>"
        if path == "/api/traces/" + "6" * 32:  # a span without its times
            return 200, _envelope([{"traceID": "6" * 32, "spans": [{"traceID": "6" * 32, "spanID": "01"}]}])
        if path == "/api/traces/" + "5" * 32:
            return 500, _envelope(None, [{"code": 500, "msg": "storage unavailable"}])
        return 404, _envelope(None, [{"code": 404, "msg": "trace not found"}])

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                url = urllib.parse.urlsplit(self.path)
                status, doc = fake.answer(url.path, urllib.parse.parse_qs(url.query))
                body = (doc if isinstance(doc, str) else json.dumps(doc)).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        return Handler


@pytest.fixture
def jaeger():
    fake = FakeJaeger()
    fake.thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


@pytest.fixture
def closed_port_url():
    """A loopback URL nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# --- the client --------------------------------------------------------------------------------


def test_fetch_trace_restores_opentelemetry_fields_from_jaeger_tags(jaeger):
    spans = {s.span_id: s for s in fetch_trace(jaeger.base_url, TRACE)}
    root, call, served = spans["53995c3f42cd8ad8"], spans["0c7a1b2d3e4f5061"], spans["7d8e9fa0b1c2d3e4"]
    assert {s.trace_id for s in spans.values()} == {TRACE}
    assert (root.parent_span_id, call.parent_span_id, served.parent_span_id) == (
        "",
        root.span_id,
        call.span_id,
    )
    assert (root.kind, call.kind, served.kind) == ("SERVER", "CLIENT", "SERVER")
    assert (root.status, call.status, served.status) == ("UNSET", "ERROR", "UNSET")
    assert call.status_message == "connection refused"
    assert root.attributes == {"http.request.method": "POST", "http.response.status_code": 201}
    assert root.scope == "kubetrace"
    assert (call.start_ns, call.end_ns) == ((T0_US + 1_000) * 1000, (T0_US + 7_500) * 1000)
    assert call.links == ((OLDER, "00f067aa0ba902b7"),)
    assert call.events == (("retry", (T0_US + 300) * 1000, {"attempt": 2}),)
    assert root.resource == {
        "service.name": "apiserver",
        "k8s.pod.name": "apiserver-0",
        "host.name": "node-a",
    }
    assert served.service == "storage"


def test_a_span_marked_only_with_error_true_is_an_error():
    from kubetrace_cli._jaeger_query import _status

    assert _status({"error": True}) == "ERROR"
    assert _status({"error": True, "otel.status_code": "OK"}) == "OK"
    assert _status({}) == "UNSET"


def test_latest_trace_id_picks_the_trace_that_started_last(jaeger):
    assert latest_trace_id(jaeger.base_url, "apiserver") == TRACE
    assert jaeger.queries[-1] == {"service": ["apiserver"], "limit": ["20"], "lookback": ["1h"]}
    assert latest_trace_id(jaeger.base_url, "ghost") is None


def test_services_are_listed_sorted(jaeger):
    assert services(jaeger.base_url) == ["apiserver", "jaeger", "storage"]


@pytest.mark.parametrize(
    ("trace_id", "message"),
    [
        ("1" * 32, "trace ID not found in Jaeger at {url}: " + "1" * 32),
        ("5" * 32, "Jaeger at {url} answered 500 for /api/traces/" + "5" * 32 + ": storage unavailable"),
        (
            "6" * 32,
            "Jaeger at {url} sent trace "
            + "6" * 32
            + " in a shape kubetrace cannot read: KeyError('startTime')",
        ),
        ("xyz", "invalid trace ID 'xyz': want 1 to 32 hex digits"),
        ("1" * 33, "invalid trace ID '" + "1" * 33 + "': want 1 to 32 hex digits"),
    ],
)
def test_fetch_trace_errors_say_what_went_wrong(jaeger, trace_id, message):
    with pytest.raises(ViewError) as caught:
        fetch_trace(jaeger.base_url, trace_id)
    assert str(caught.value) == message.format(url=jaeger.base_url)


def test_an_unreachable_jaeger_is_named_in_the_error(closed_port_url):
    with pytest.raises(ViewError, match=f"^cannot reach Jaeger at {closed_port_url}: "):
        services(closed_port_url)


def test_a_server_that_is_not_jaeger_is_told_apart(jaeger):
    with pytest.raises(
        ViewError, match=r"sent no query API answer for /api/services: is it Jaeger's UI port\?"
    ):
        services(jaeger.base_url + "/web")


def test_only_http_urls_are_fetched():
    with pytest.raises(ViewError, match="must start with http:// or https://"):
        services("file:///etc")


def test_short_trace_ids_are_padded_to_32_hex():
    assert normalise_trace_id("F067AA") == "0" * 26 + "f067aa"


# --- the command ---------------------------------------------------------------------------------


def kubetrace_view(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k != "KUBETRACE_JAEGER_URL"}
    environ.update(env or {}, PYTHONIOENCODING="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "kubetrace_cli", "view", *args],
        cwd=ROOT,
        capture_output=True,
        encoding="utf-8",
        env=environ,
        timeout=60,
    )


def _cells(line: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line)


def test_view_draws_the_trace_and_links_to_the_jaeger_ui(jaeger):
    proc = kubetrace_view(JAEGER_TRACE, "--jaeger", jaeger.base_url + "/", "--width", "80")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == f"Trace {TRACE}  9.00ms, 3 spans, 2 services, 1 error"
    assert "\x1b[" not in proc.stdout  # stdout is a pipe, not a terminal
    assert any("storage.v1.Storage/Create" in line and line.endswith("✗") for line in lines)
    assert f"✗ connection refused\n               ⤷ link trace {OLDER} · grpc UNAVAILABLE\n" in proc.stdout
    assert lines[-2:] == ["", f"Jaeger UI: {jaeger.base_url}/trace/{TRACE}"]
    assert all(_cells(line) <= 80 for line in lines)
    assert proc.stderr == ""


def test_view_last_draws_the_latest_trace_of_a_service(jaeger):
    proc = kubetrace_view(
        "--service",
        "apiserver",
        "--last",
        "--width",
        "60",
        "--no-color",
        env={"KUBETRACE_JAEGER_URL": jaeger.base_url},
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"Trace {TRACE}\n")
    *picture, _, url = proc.stdout.splitlines()
    assert all(_cells(line) <= 60 for line in picture)
    assert (
        url == f"Jaeger UI: {jaeger.base_url}/trace/{TRACE}"
    )  # whole, even if wider: it must stay clickable


def test_view_says_when_jaeger_serves_no_ui_instead_of_linking_to_its_placeholder(jaeger):
    # The words of the page a Jaeger built from its Go module serves at / (checked for real in
    # tests/e2e/test_demo_jaeger.py).
    jaeger.home_page = (
        "<html><h1>This is not the Jaeger UI</h1><p>This is a placeholder for the Jaeger UI home page."
    )
    proc = kubetrace_view(TRACE, "--jaeger", jaeger.base_url, "--width", "80")
    assert proc.returncode == 0, proc.stderr
    note = " ".join(proc.stdout.split("\n\n")[-1].split())
    assert note == (
        f"Jaeger at {jaeger.base_url} serves its API but no UI (built from its Go module, which has no UI "
        f"assets; `kubetrace view {TRACE}` draws the trace from it). For the UI, run the official Jaeger "
        "release with the same config: README.md, section Jaeger."
    )


def test_view_links_to_a_jaeger_ui_page(jaeger):
    jaeger.home_page = "<!doctype html><html><head><title>Jaeger UI</title></head><body><div id=root></div>"
    proc = kubetrace_view(TRACE, "--jaeger", jaeger.base_url)
    assert proc.stdout.splitlines()[-1] == f"Jaeger UI: {jaeger.base_url}/trace/{TRACE}"


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["1" * 32], "trace ID not found in Jaeger at {url}: " + "1" * 32),
        (["not-hex"], "invalid trace ID 'not-hex': want 1 to 32 hex digits"),
        ([], "give a TRACE_ID, or --service NAME --last for that service's latest trace"),
        (["--service", "apiserver"], "give a TRACE_ID, or --service NAME --last for that service's latest trace"),
        ([TRACE, "--service", "apiserver", "--last"], "give either TRACE_ID or --service NAME --last, not both"),
        (["--service", "ghost", "--last"], "no traces for service ghost in the last hour (Jaeger knows: apiserver, jaeger, storage)"),
        ([TRACE, "--width", "20"], "--width: must be at least 40 columns, got 20"),
    ],
)  # fmt: skip
def test_view_errors_are_one_line_on_stderr_with_exit_1(jaeger, args, error):
    proc = kubetrace_view(*args, "--jaeger", jaeger.base_url)
    assert proc.returncode == 1
    assert proc.stderr == f"kubetrace view: {error.format(url=jaeger.base_url)}\n"
    assert proc.stdout == ""


def test_view_says_when_jaeger_cannot_be_reached(closed_port_url):
    proc = kubetrace_view(TRACE, env={"KUBETRACE_JAEGER_URL": closed_port_url})
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"kubetrace view: cannot reach Jaeger at {closed_port_url}: ")
    assert proc.stderr.count("\n") == 1


# --- width ----------------------------------------------------------------------------------------


def _picture_width(out: str) -> int:
    """The widest line of the waterfall, without the Jaeger UI line after it (kept whole)."""
    picture = out.replace("\r\n", "\n").split("\n\n")[0]
    return max(_cells(line) for line in picture.splitlines())


def _without_columns() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "KUBETRACE_JAEGER_URL")}


def test_view_fills_the_width_of_the_terminal_it_draws_on(jaeger):
    """A real terminal (a pseudo-terminal of 200 columns), not capped at 80."""
    terminal, side = pty.openpty()
    fcntl.ioctl(side, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
    view = subprocess.Popen(
        [sys.executable, "-m", "kubetrace_cli", "view", TRACE, "--jaeger", jaeger.base_url, "--no-color"],
        stdout=side,
        stderr=subprocess.PIPE,
        env={**_without_columns(), "PYTHONIOENCODING": "utf-8"},
    )
    os.close(side)
    out = b""
    while True:
        try:
            chunk = os.read(terminal, 65536)
        except OSError:  # EIO: the command exited and closed its side
            break
        if not chunk:
            break
        out += chunk
    os.close(terminal)
    assert view.wait(timeout=60) == 0, view.stderr.read()
    view.stderr.close()
    assert 180 < _picture_width(out.decode()) <= 200


@pytest.mark.parametrize(("columns", "widest"), [("120", 120), (None, 80)])
def test_view_off_a_terminal_takes_columns_else_80(jaeger, columns, widest):
    env = _without_columns() | ({"COLUMNS": columns} if columns else {})
    proc = subprocess.run(
        [sys.executable, "-m", "kubetrace_cli", "view", TRACE, "--jaeger", jaeger.base_url],
        capture_output=True,
        encoding="utf-8",
        env={**env, "PYTHONIOENCODING": "utf-8"},
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert widest - 10 < _picture_width(proc.stdout) <= widest
