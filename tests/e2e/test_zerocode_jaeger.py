"""Zero-code tracing into a real Jaeger v2: a Flask app calling itself and a grpc.aio server called
over a grpc.aio channel, with no tracing code of their own, under `kubetrace run` and under
`OTEL_PYTHON_DISTRO=kubetrace opentelemetry-instrument`; each call is one trace in Jaeger, client
span parent of server span."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from backends import run_jaeger

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "zerocode"))
from _zerocode import APPS, WAYS, app, command, entry_points_for_tests, environment

pytestmark = pytest.mark.e2e
WAIT_S = 30.0

PAIRS = {  # app -> (span name, calls): one client and one server span per call
    "flask_app.py": ("GET /items/<int:item>", 4),
    "grpc_app.py": ("kt.zc.Echo/Say", 2),
}


@pytest.fixture(scope="module")
def jaeger(jaeger_bin):
    with run_jaeger(binary=jaeger_bin) as j:
        yield j


@pytest.mark.parametrize("name", PAIRS)
@pytest.mark.parametrize("way", WAYS)
def test_an_app_without_tracing_code_shows_up_in_jaeger(way, name, jaeger, tmp_path):
    service = f"zerocode-{name.split('_')[0]}-{way.split()[0].split('-')[0]}"
    env = environment(
        way,
        f"http://{jaeger.otlp_grpc_endpoint}",
        entry_points_for_tests(tmp_path),
        OTEL_SERVICE_NAME=service,
    )
    proc = subprocess.run(
        command(way, app(name)), env=env, cwd=APPS, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    server_name, calls = PAIRS[name]
    deadline = time.monotonic() + WAIT_S  # Jaeger's tail sampling decides a trace after it ends
    while len(found := _client_server_pairs(jaeger.traces(service, lookback="1h"), server_name)) < calls:
        assert time.monotonic() < deadline, (found.keys(), proc.stderr, jaeger.log_tail())
        time.sleep(0.5)
    assert len(found) == calls


def _client_server_pairs(traces: list[dict], server_name: str) -> dict[str, tuple[dict, dict]]:
    """By trace ID: the server span named `server_name` and its parent, when that is a client span."""
    found = {}
    for trace in traces:
        spans = {s["spanID"]: s for s in trace["spans"]}
        for span in spans.values():
            parent = spans.get(
                next((r["spanID"] for r in span["references"] if r["refType"] == "CHILD_OF"), "")
            )
            if (
                span["operationName"] == server_name
                and _kind(span) == "server"
                and parent
                and _kind(parent) == "client"
            ):
                found[trace["traceID"]] = (parent, span)
    return found


def _kind(span: dict) -> str:
    return next((tag["value"] for tag in span["tags"] if tag["key"] == "span.kind"), "")
