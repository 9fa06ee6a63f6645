"""`kubetrace demo` end to end with the embedded receiver: five real processes on loopback, one pod
applied, the trace drawn; and stopped cleanly when interrupted at any point."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _demo_trace import CRI_CALLS, RUNTIME, assert_pod_journey

from kubetrace_cli.receiver import ReceivedSpan

ROOT = Path(__file__).resolve().parents[2]
# This checkout's examples, named: the ones installed with kubetrace may be another checkout's
# (tests/install runs the demo on the installed ones).
DEMO = [
    sys.executable,
    "-m",
    "kubetrace_cli",
    "demo",
    "--no-color",
    "--embedded",
    "--examples",
    str(ROOT / "examples"),
]
TRACE_LINE = re.compile(r"^Trace ([0-9a-f]{32})  ", re.MULTILINE)


def _demo_env() -> dict[str, str]:
    # What a developer's shell may hold must not change the demo: it sets the examples' tracing itself.
    env = dict(os.environ)
    env.update(
        OTEL_TRACES_SAMPLER="always_off",
        OTEL_PROPAGATORS="none",
        OTEL_SDK_DISABLED="true",
        KUBETRACE_TRUST_INCOMING="none",
        POD_NAME="not-this-pod",
        TRACEPARENT="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    )
    return env


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """One run of the demo: (completed process, its spans as ReceivedSpan records, seconds it took)."""
    spans_json = tmp_path_factory.mktemp("demo") / "spans.json"
    started = time.monotonic()
    proc = subprocess.run(
        [*DEMO, "--spans-json", str(spans_json)],
        cwd=ROOT,
        env=_demo_env(),
        capture_output=True,
        text=True,
        timeout=90,
    )
    took = time.monotonic() - started
    assert proc.returncode == 0, proc.stdout + proc.stderr
    spans = [
        ReceivedSpan(**{**raw, "links": tuple(map(tuple, raw["links"]))})
        for raw in json.loads(spans_json.read_text())
    ]
    return proc, spans, took


def test_demo_exits_0_and_prints_the_trace_id_and_its_waterfall(demo):
    proc, spans, took = demo
    out = proc.stdout
    for progress in (
        "starting storage   ... ok  127.0.0.1:",
        "starting apiserver ... ok  127.0.0.1:",
        "starting kubelet   ... ok  watching the pods of node-1",
        "applying pod default/nginx",
        "pod default/nginx Running after ",
        "stopping the control plane ... ok",
        f"waiting for spans ... {len(spans)} spans",
    ):
        assert progress in out
    trace_id = TRACE_LINE.search(out).group(1)
    assert trace_id == spans[0].trace_id
    rows = out[out.index(f"Trace {trace_id}") :].splitlines()
    for service, name in [
        ("kubectl", "kubectl apply"),
        ("storage", "storage.v1.KV/Put"),
        ("kubelet", "syncPod"),
        ("runtime", "RunPodSandbox"),
        ("apiserver", "/status"),
    ]:
        assert any(row.startswith(service) and name in row for row in rows), (service, name, out)
    assert "pod default/nginx" in out and "kubetrace.io/traceparent" in out
    assert "\x1b[" not in out, "--no-color, and not a terminal"
    assert max(len(row) for row in rows) <= 80
    assert took < 30, f"the demo took {took:.1f}s"


def test_demo_shows_the_kubelets_log_line_with_the_ids_of_its_syncpod_span(demo):
    proc, spans, _ = demo
    (sync_pod,) = [s for s in spans if s.service == "kubelet" and s.name == "syncPod"]
    out = proc.stdout
    shown = out[out.index("The kubelet logged this inside its syncPod span") :].split("\n\n")[0]
    line = json.loads(shown.split("\n", 1)[1])  # the JSON object, wrapped between its fields
    assert (line["trace_id"], line["span_id"]) == (sync_pod.trace_id, sync_pod.span_id)
    assert (line["msg"], line["pod"], line["service.name"]) == ("Pod is running", "default/nginx", "kubelet")


def test_demo_trace_crosses_http_grpc_and_the_watch(demo):
    _, spans, _ = demo
    assert_pod_journey(spans, spans[0].trace_id)
    assert spans[0].trace_id != _demo_env()["TRACEPARENT"].split("-")[1], "not the shell's trace"


def test_cri_spans_follow_kubelet_order(demo):
    _, spans, _ = demo
    calls = sorted(
        (s for s in spans if s.service == "kubelet" and s.kind == "CLIENT" and RUNTIME in s.name),
        key=lambda s: s.start_ns,
    )
    assert [s.name.rpartition("/")[2] for s in calls] == list(CRI_CALLS)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True


@pytest.mark.parametrize(
    ("sig", "after_services"),
    [(signal.SIGINT, 1), (signal.SIGINT, 4), (signal.SIGTERM, 2), (signal.SIGINT, 5)],
    ids=[
        "ctrl-c while storage starts",
        "ctrl-c while the kubelet starts",
        "sigterm",
        "ctrl-c during kubectl",
    ],
)
def test_interrupted_demo_exits_130_and_leaves_no_process(tmp_path, sig, after_services):
    pids_file = tmp_path / "pids"
    demo = subprocess.Popen(
        [*DEMO, "--pids-file", str(pids_file)],
        cwd=ROOT,
        env=_demo_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert demo.stdout.readline().startswith("kubetrace demo:"), "the first progress line"
        deadline = time.monotonic() + 30
        while len(_pids(pids_file)) < after_services and demo.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(_pids(pids_file)) >= after_services, "the demo started its services"
        demo.send_signal(sig)
        interrupted = time.monotonic()
        out, _ = demo.communicate(timeout=15)
        took = time.monotonic() - interrupted
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
    assert demo.returncode == 130, out
    assert took < 8, f"stopping took {took:.1f}s"
    assert "interrupted: stopped everything the demo started" in out
    assert [pid for pid in _pids(pids_file) if _alive(pid)] == []


def _pids(path: Path) -> list[int]:
    try:
        return [int(line) for line in path.read_text().split()]
    except FileNotFoundError:
        return []


def test_a_demo_out_of_time_fails_clearly_and_leaves_no_process(tmp_path):
    pids_file = tmp_path / "pids"
    proc = subprocess.run(
        [*DEMO, "--timeout", "0.2", "--pids-file", str(pids_file)],
        cwd=ROOT,
        env=_demo_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "... failed" in proc.stdout
    assert re.search(r"kubetrace demo: \w+ did not print 'LISTENING' in time", proc.stderr), proc.stderr
    assert _pids(pids_file) and [pid for pid in _pids(pids_file) if _alive(pid)] == []
