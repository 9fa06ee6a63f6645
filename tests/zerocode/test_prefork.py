"""Prefork servers under zero-code tracing: gunicorn's sync workers (forked from a master that set
tracing up) and uvicorn's workers (spawned, each setting up anew) all export their spans."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from _zerocode import APPS, RUN, WAYS, command, environment, exports_traced
from testkit import free_port, stop_process

BIN = Path(sys.executable).parent
SERVERS = {
    "gunicorn sync workers": [
        str(BIN / "gunicorn"),
        "--workers",
        "2",
        "--bind",
        "127.0.0.1:{port}",
        "pid_app:flask_app",
    ],
    "uvicorn workers": [
        str(BIN / "uvicorn"),
        "--workers",
        "2",
        "--host",
        "127.0.0.1",
        "--port",
        "{port}",
        "pid_app:fastapi_app",
    ],
}
ATTEMPTS = 200  # requests, at most, for both workers to have answered some
READY_S = 60.0


def _get(url: str, trace_id: str | None = None) -> int:
    headers = {"traceparent": f"00-{trace_id}-{'ab' * 8}-01"} if trace_id else {}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as response:
        return json.loads(response.read())["pid"]


def _wait_ready(url: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + READY_S
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()[1]
        try:
            _get(url)
            return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
    raise AssertionError(f"{url} not answering after {READY_S} s")


CASES = [
    *[(way, server, "grpc") for way in WAYS for server in SERVERS],
    # a forked worker's exporter speaking HTTP: its client must not trace its own exports
    (RUN, "gunicorn sync workers", "http/protobuf"),
]


@pytest.mark.parametrize(("way", "server", "protocol"), CASES)
def test_every_worker_of_a_prefork_server_exports_its_spans(
    way, server, protocol, receiver, entry_points_dir
):
    port = free_port()
    url = f"http://127.0.0.1:{port}/pid"
    argv = [arg.format(port=port) for arg in SERVERS[server]]
    endpoint = receiver.http_endpoint.removesuffix("/v1/traces") if protocol != "grpc" else None
    extra = {
        "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
        **({"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint} if endpoint else {}),
    }
    proc = subprocess.Popen(
        command(way, argv),
        env=environment(way, f"http://{receiver.grpc_endpoint}", entry_points_dir, **extra),
        cwd=APPS,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        _wait_ready(url, proc)
        receiver.clear()
        served: dict[int, set[str]] = {}
        with ThreadPoolExecutor(max_workers=4) as pool:
            for _ in range(ATTEMPTS // 4):
                trace_ids = [f"{random.getrandbits(128):032x}" for _ in range(4)]
                for trace_id, pid in zip(trace_ids, pool.map(lambda t: _get(url, t), trace_ids), strict=True):
                    served.setdefault(pid, set()).add(trace_id)
                if len(served) >= 2 and sum(map(len, served.values())) >= 20:
                    break
        assert len(served) >= 2, f"one worker answered all {ATTEMPTS} requests: {served.keys()}"
    finally:
        stop_process(proc, 30)
    wanted = set().union(*served.values())
    spans = receiver.wait_for(len(wanted), timeout=10)
    received = {s.trace_id for s in spans if s.kind == "SERVER" and s.name == "GET /pid"}
    for pid, trace_ids in served.items():
        assert trace_ids <= received, (
            f"worker {pid}: {len(trace_ids - received)} of {len(trace_ids)} spans lost"
        )
    assert {s.parent_span_id for s in spans if s.trace_id in wanted} == {"ab" * 8}
    assert not exports_traced(receiver.spans)
