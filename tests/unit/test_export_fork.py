"""Fork safety: with setup() before os.fork(), every worker exports its own spans, the parent's queue
is neither lost nor sent twice, and nothing deadlocks; also under a real gunicorn with sync workers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections import Counter
from pathlib import Path

import pytest
from testkit import free_port, stop_process
from testkit.otlp import CaptureReceiver

HERE = Path(__file__).parent
FORK_SCRIPT = HERE / "_export_fork_script.py"


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "KUBETRACE_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(HERE.parent.parent), str(HERE), env.get("PYTHONPATH", "")])
    return env


@pytest.mark.parametrize("mode", ["queued", "exported"])
@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_forked_workers_export_their_own_spans_and_the_parents_queue_once(protocol, mode):
    with CaptureReceiver() as receiver:
        endpoint = receiver.grpc_endpoint if protocol == "grpc" else receiver.http_endpoint
        proc = subprocess.run(
            [sys.executable, str(FORK_SCRIPT), endpoint, protocol, mode],
            capture_output=True,
            text=True,
            timeout=60,
            env=_env(),
        )
        assert proc.returncode == 0, proc.stderr
        report = json.loads(proc.stdout.strip().splitlines()[-1])
        names = Counter(span.name for span in receiver.spans())
    assert report["statuses"] == [0, 0, 0], proc.stderr
    assert report["done"] and report["dropped"] == 0
    expected = {f"parent-before-{i}" for i in range(10)} | {f"parent-after-{i}" for i in range(5)}
    expected |= {f"worker-{w}-{i}" for w in range(3) for i in range(50)}
    assert set(names) == expected
    assert set(names.values()) == {1}, [n for n, c in names.items() if c > 1]  # none sent twice
    assert report["exported"] == 15


GUNICORN_APP = """
import os
import tracing
from opentelemetry import trace

tracing.setup(service_name="gunicorn-app")  # before the fork: gunicorn --preload imports this in the master
tracer = trace.get_tracer("gunicorn-app")


def app(environ, start_response):
    with tracer.start_as_current_span("GET " + environ["PATH_INFO"], attributes={"worker.pid": os.getpid()}):
        body = str(os.getpid()).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
"""


USER_INSTANCE_ID = "chosen-by-the-user"


@pytest.mark.parametrize("instance_id", ["generated", "set by the user"])
def test_gunicorn_sync_workers_each_export_with_setup_before_the_fork(tmp_path, instance_id):
    """Every worker exports its own spans, each under a service.instance.id of its own (the master's
    setup() made one up before the fork), unless the user set the id: then every worker keeps it."""
    pytest.importorskip("gunicorn", reason="gunicorn is in the dev extra")
    (tmp_path / "traced_app.py").write_text(GUNICORN_APP)
    port = free_port()
    with CaptureReceiver() as receiver:
        env = _env() | {
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://{receiver.grpc_endpoint}",
            "OTEL_BSP_SCHEDULE_DELAY": "60000",  # spans stay queued until the workers exit
        }
        if instance_id == "set by the user":
            env["OTEL_RESOURCE_ATTRIBUTES"] = f"service.instance.id={USER_INSTANCE_ID},team=infra"
        env["PYTHONPATH"] = f"{tmp_path}{os.pathsep}{env['PYTHONPATH']}"
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--preload",
                "-w",
                "3",
                "-k",
                "sync",
                "-b",
                f"127.0.0.1:{port}",
                "--graceful-timeout",
                "10",
                "traced_app:app",
            ],
            env=env,
            cwd=tmp_path,
            start_new_session=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            pids = _serve_until_every_worker_answered(port, workers=3)
            served = sum(pids.values())
        finally:
            proc.send_signal(signal.SIGTERM)  # graceful: each worker exits, and at exit flushes its queue
            try:
                proc.wait(30)
            finally:
                stop_process(proc, 5)
        output = proc.stdout.read().decode(errors="replace")
        spans = receiver.wait_for_spans(served, timeout=10)
        instance_ids = {  # worker pid -> the service.instance.id of the resource its spans came under
            (_attr(span, "worker.pid"), _string_attr(resource_spans.resource, "service.instance.id"))
            for item in receiver.received
            for resource_spans in item.request.resource_spans
            for scope_spans in resource_spans.scope_spans
            for span in scope_spans.spans
        }
    by_worker = Counter(_attr(span, "worker.pid") for span in spans)
    assert by_worker == pids, output
    assert len({span.span_id for span in spans}) == len(spans) == served
    assert {pid for pid, _ in instance_ids} == set(pids)
    assert len(instance_ids) == len(pids), instance_ids  # one id per worker, the same for all its spans
    ids = {instance for _, instance in instance_ids}
    if instance_id == "generated":
        assert len(ids) == len(pids) and all(uuid.UUID(i) for i in ids), instance_ids
    else:
        assert ids == {USER_INSTANCE_ID}


def _serve_until_every_worker_answered(port: int, workers: int) -> Counter:
    pids: Counter = Counter()
    deadline = time.monotonic() + 60
    while len(pids) < workers or sum(pids.values()) < 60:
        assert time.monotonic() < deadline, f"only workers {dict(pids)} answered"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/hello", timeout=5) as response:
                pids[int(response.read())] += 1
        except OSError:
            time.sleep(0.1)
    return pids


def _string_attr(holder, key: str) -> str | None:
    for kv in holder.attributes:
        if kv.key == key:
            return kv.value.string_value
    return None


def _attr(span, key: str):
    for kv in span.attributes:
        if kv.key == key:
            return kv.value.int_value
    return None
