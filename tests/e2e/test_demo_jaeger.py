"""`kubetrace demo` against a real Jaeger v2: the pod's trace exported over OTLP, read back through
Jaeger's query API with the same shape, and drawn again by `kubetrace view`."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from backends import run_jaeger

from kubetrace_cli._jaeger_query import fetch_trace

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "demo"))
from _demo_trace import assert_pod_journey

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "kubetrace_cli"]


@pytest.fixture(scope="module")
def jaeger(jaeger_bin):
    with run_jaeger(binary=jaeger_bin) as j:
        yield j


@pytest.fixture(scope="module")
def demo(jaeger):
    """One demo run exporting to Jaeger: (its output, the trace ID it printed)."""
    proc = subprocess.run(
        [*CLI, "demo", "--no-color", "--jaeger", jaeger.query_url, "--otlp", jaeger.otlp_grpc_endpoint],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    trace_id = re.search(r"^Trace ([0-9a-f]{32})  ", proc.stdout, re.MULTILINE).group(1)
    return proc.stdout, trace_id


def test_demo_exports_to_jaeger_and_prints_the_trace_url(jaeger, demo):
    out, trace_id = demo
    assert f"spans go to Jaeger {jaeger.query_url}, OTLP http://{jaeger.otlp_grpc_endpoint}" in out
    assert f"Jaeger UI: {jaeger.query_url}/trace/{trace_id}" in out
    assert {"kubectl", "apiserver", "storage", "kubelet", "runtime"} <= set(jaeger.services())


def test_the_trace_in_jaeger_has_the_pods_journey(jaeger, demo):
    _, trace_id = demo
    jaeger.wait_for_trace(trace_id, min_spans=22)
    assert_pod_journey(fetch_trace(jaeger.query_url, trace_id), trace_id)


def test_view_draws_the_demo_trace_from_jaeger(jaeger, demo):
    out, trace_id = demo
    view = subprocess.run(
        [*CLI, "view", trace_id, "--jaeger", jaeger.query_url, "--no-color"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert view.returncode == 0, view.stdout + view.stderr
    drawn = view.stdout.splitlines()
    assert drawn[0].startswith(f"Trace {trace_id}  ")
    for service, name in [("kubectl", "kubectl apply"), ("kubelet", "syncPod"), ("runtime", "RunPodSandbox")]:
        assert any(row.startswith(service) and name in row for row in drawn), (service, name)
    # The demo drew the same picture from the same Jaeger.
    rows = [
        row for row in drawn if row.startswith(("kubectl ", "kubelet ", "runtime ", "storage ", "apiserver "))
    ]
    assert rows and all(row in out for row in rows)
