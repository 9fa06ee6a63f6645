"""SIGTERM, the way Kubernetes stops a pod, loses no queued span: setup() takes over SIGTERM's default
action with a bounded flush that then dies by SIGTERM as before (tracing/_exit.py). Real processes:
a plain Python program and a real uvicorn, exporting over OTLP/gRPC to an in-process receiver, with
a batch delay long enough that every span is still queued when the signal comes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from testkit import blackholed_endpoint

import tracing

ROOT = Path(__file__).resolve().parents[2]
KILLED_BY_SIGTERM = -signal.SIGTERM
ASGI_APP = """
import tracing
from interceptors.http import AsgiMiddleware

tracing.setup()


async def hello(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})


app = AsgiMiddleware(hello)
"""
PLAIN_PROGRAM = """
import signal, sys, time
import tracing
from opentelemetry import trace

if sys.argv[1] == "own-handler":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(3))  # the program's own: exits, so atexit runs
tracing.setup()
for i in range(5):
    trace.get_tracer("plain").start_span(f"queued-{i}").end()
print("ready", flush=True)
time.sleep(60)
"""


def environment(endpoint: str, app_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "KUBETRACE_"))}
    env.update(
        PYTHONPATH=os.pathsep.join([str(app_dir), str(ROOT)]),
        OTEL_SERVICE_NAME="sigterm",
        OTEL_EXPORTER_OTLP_ENDPOINT=endpoint,
        OTEL_BSP_SCHEDULE_DELAY="600000",  # nothing leaves before the signal unless something flushes
        **extra,
    )
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sigterm_once_ready(
    argv: list[str], env: dict[str, str], ready: Callable[[subprocess.Popen], None]
) -> tuple[int, str]:
    """Start `argv`, SIGTERM it once `ready(process)` returns; its exit status and its output."""
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        ready(proc)
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, output


def serve_and_terminate(
    argv: list[str], env: dict[str, str], port: int, requests_made: int
) -> tuple[int, str]:
    """Start a server, make `requests_made` requests once it answers, then SIGTERM it."""

    def requests_answered(proc: subprocess.Popen) -> None:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(base + "/probe-0", timeout=2)
                break
            except requests.ConnectionError:
                assert proc.poll() is None and time.monotonic() < deadline, "the server did not start"
                time.sleep(0.05)
        for i in range(1, requests_made):
            assert requests.get(f"{base}/probe-{i}", timeout=5).text == "ok"

    return sigterm_once_ready(argv, env, requests_answered)


def uvicorn_command(way: str, port: int) -> list[str]:
    uvicorn = [sys.executable, "-m", "uvicorn", "app:app", "--host", "127.0.0.1", "--port", str(port)]
    return (
        [sys.executable, "-m", "kubetrace_cli", "run", "--", *uvicorn] if way == "kubetrace run" else uvicorn
    )


@pytest.mark.parametrize("way", ["python -m uvicorn", "kubetrace run"])
def test_uvicorn_stopped_by_sigterm_delivers_every_queued_span(way, otlp_receiver, tmp_path):
    (tmp_path / "app.py").write_text(ASGI_APP)
    port = free_port()
    env = environment("http://" + otlp_receiver.grpc_endpoint, tmp_path)
    status, output = serve_and_terminate(uvicorn_command(way, port), env, port, requests_made=8)
    assert status == KILLED_BY_SIGTERM, output
    paths = sorted(s.attributes["url.path"] for s in otlp_receiver.wait_for(8, timeout=5))
    assert paths == [f"/probe-{i}" for i in range(8)]


def test_without_the_flush_uvicorns_sigterm_loses_the_queue(otlp_receiver, tmp_path):
    """The loss this guards against, reproduced with the switch off: same status, no span."""
    (tmp_path / "app.py").write_text(ASGI_APP)
    port = free_port()
    env = environment("http://" + otlp_receiver.grpc_endpoint, tmp_path, KUBETRACE_FLUSH_ON_SIGTERM="false")
    status, output = serve_and_terminate(
        uvicorn_command("python -m uvicorn", port), env, port, requests_made=4
    )
    assert status == KILLED_BY_SIGTERM, output
    time.sleep(0.5)  # what was sent before the kill has arrived by now
    assert otlp_receiver.spans == []


def run_plain(mode: str, env: dict[str, str]) -> tuple[int, str]:
    def spans_queued(proc: subprocess.Popen) -> None:
        assert "ready\n" in iter(proc.stdout.readline, ""), "the program ended before its spans were made"

    return sigterm_once_ready([sys.executable, "-c", textwrap.dedent(PLAIN_PROGRAM), mode], env, spans_queued)


@pytest.mark.parametrize("mode, status", [("default", KILLED_BY_SIGTERM), ("own-handler", 3)])
def test_a_plain_process_delivers_its_queue_and_keeps_its_exit_status(mode, status, otlp_receiver, tmp_path):
    env = environment("http://" + otlp_receiver.grpc_endpoint, tmp_path)
    returncode, errors = run_plain(mode, env)
    assert returncode == status, errors
    assert sorted(s.name for s in otlp_receiver.wait_for(5, timeout=5)) == [f"queued-{i}" for i in range(5)]


def test_the_flush_is_bounded_by_the_shutdown_timeout(tmp_path):
    with blackholed_endpoint() as addr:
        env = environment(f"http://{addr}", tmp_path, KUBETRACE_SHUTDOWN_TIMEOUT_MS="500")
        started = time.monotonic()
        returncode, errors = run_plain("default", env)
        elapsed = time.monotonic() - started
    assert returncode == KILLED_BY_SIGTERM, errors
    assert elapsed < 10, f"SIGTERM took {elapsed:.1f}s to end the process with a 0.5s shutdown bound"


# -- whose handler: in this process -------------------------------------------------------------------


@pytest.fixture
def default_sigterm():
    before = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    yield
    tracing.shutdown(timeout_ms=2000)
    signal.signal(signal.SIGTERM, before)


def quiet_setup(**arguments) -> tracing.Tracing:
    return tracing.setup(traces_exporter=["console"], **arguments)


def test_setup_takes_over_the_default_and_shutdown_gives_it_back(default_sigterm):
    quiet_setup()
    ours = signal.getsignal(signal.SIGTERM)
    assert callable(ours) and ours.__module__ == "tracing._exit"
    tracing.shutdown()
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_an_applications_handler_is_never_replaced(default_sigterm):
    def theirs(signum, frame):
        pass

    signal.signal(signal.SIGTERM, theirs)
    quiet_setup()
    assert signal.getsignal(signal.SIGTERM) is theirs
    tracing.shutdown()
    assert signal.getsignal(signal.SIGTERM) is theirs


def test_a_handler_set_after_setup_survives_shutdown(default_sigterm):
    def theirs(signum, frame):
        pass

    quiet_setup()
    signal.signal(signal.SIGTERM, theirs)
    tracing.shutdown()
    assert signal.getsignal(signal.SIGTERM) is theirs


@pytest.mark.parametrize(
    "how", ["argument", "environment", "disabled sdk", "setup off the main thread", "ignored signal"]
)
def test_sigterm_is_left_alone(how, default_sigterm, monkeypatch):
    if how == "environment":
        monkeypatch.setenv("KUBETRACE_FLUSH_ON_SIGTERM", "false")
    if how == "ignored signal":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    expected = signal.getsignal(signal.SIGTERM)
    if how == "setup off the main thread":
        worker = threading.Thread(target=quiet_setup)
        worker.start()
        worker.join()
    else:
        quiet_setup(
            **{"argument": {"flush_on_sigterm": False}, "disabled sdk": {"disabled": True}}.get(how, {})
        )
    assert tracing.active() is not None
    assert signal.getsignal(signal.SIGTERM) is expected
