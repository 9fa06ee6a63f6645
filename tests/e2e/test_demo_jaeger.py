"""`kubetrace demo` against a real Jaeger v2: the pod's trace exported over OTLP, read back through
Jaeger's query API with the same shape, and drawn again by `kubetrace view`; kept by the tail
sampling collector-config/jaeger.yaml documents, and, where a config drops it, said so in seconds."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from backends import CONFIG_DIR, run_jaeger

from kubetrace_cli._jaeger_query import fetch_trace

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "demo"))
from _demo_trace import assert_pod_journey

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "kubetrace_cli"]
WIDTH = ["--width", "100"]  # the demo and the view draw the same picture


def run_demo(jaeger) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*CLI, "demo", "--no-color", "--examples", str(ROOT / "examples"), *WIDTH, *_exporting_to(jaeger)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _exporting_to(jaeger) -> list[str]:
    return ["--jaeger", jaeger.query_url, "--otlp", jaeger.otlp_grpc_endpoint]


def trace_id_of(out: str) -> str:
    return re.search(r"^Trace ([0-9a-f]{32})  ", out, re.MULTILINE).group(1)


@pytest.fixture(scope="module")
def jaeger(jaeger_bin):
    with run_jaeger(binary=jaeger_bin) as j:
        yield j


@pytest.fixture(scope="module")
def demo(jaeger):
    """One demo run exporting to Jaeger: (its output, the trace ID it printed)."""
    proc = run_demo(jaeger)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout, trace_id_of(proc.stdout)


def test_demo_exports_to_jaeger_and_says_this_jaeger_has_no_ui(jaeger, demo):
    out, trace_id = demo
    assert f"spans go to Jaeger {jaeger.query_url}, OTLP http://{jaeger.otlp_grpc_endpoint}" in out
    # Built from its Go module, this Jaeger serves a placeholder page at /: no link to it.
    note = " ".join(out.split())  # the note is wrapped to the width
    assert "Jaeger UI:" not in out
    assert f"Jaeger at {jaeger.query_url} serves its API but no UI (built from its Go module" in note
    assert f"`kubetrace view {trace_id}`" in note and "README.md, section Jaeger" in note
    assert {"kubectl", "apiserver", "storage", "kubelet", "runtime"} <= set(jaeger.services())


def test_the_trace_in_jaeger_has_the_pods_journey(jaeger, demo):
    _, trace_id = demo
    jaeger.wait_for_trace(trace_id, min_spans=22)
    assert_pod_journey(fetch_trace(jaeger.query_url, trace_id), trace_id)


def test_view_draws_the_demo_trace_from_jaeger(jaeger, demo):
    out, trace_id = demo
    view = subprocess.run(
        [*CLI, "view", trace_id, "--jaeger", jaeger.query_url, "--no-color", *WIDTH],
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


# --- tail sampling as collector-config/jaeger.yaml documents it ------------------------------------

FORCED_POLICY = {
    "name": "forced",
    "type": "boolean_attribute",
    "boolean_attribute": {"key": "kubetrace.sampling.forced", "value": True},
}
# The documented defaults, except that the random share keeps nothing (what happens to 90% of runs
# under jaeger.yaml's 10%, here every time) and no demo run is slow enough for the latency policy.
UNLUCKY = {
    "KUBETRACE_TAIL_PROBABILISTIC_PERCENT": "0",
    "KUBETRACE_TAIL_LATENCY_THRESHOLD_MS": "600000",
    "KUBETRACE_TAIL_DECISION_WAIT": "2s",
}


def _jaeger_config(tmp_path: Path, forced_policy: bool) -> Path:
    """collector-config/jaeger.yaml with its policies, and the forced-trace policy or none."""
    config = yaml.safe_load((CONFIG_DIR / "jaeger.yaml").read_text())
    tail_sampling = config["processors"]["tail_sampling"]
    others = [p for p in tail_sampling["policies"] if "kubetrace.sampling.forced" not in str(p)]
    tail_sampling["policies"] = [*others, FORCED_POLICY] if forced_policy else others
    path = tmp_path / "jaeger.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def test_the_demos_trace_survives_tail_sampling_that_keeps_no_random_share(jaeger_bin, tmp_path):
    with run_jaeger(_jaeger_config(tmp_path, forced_policy=True), UNLUCKY, binary=jaeger_bin) as kept:
        proc = run_demo(kept)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        trace_id = trace_id_of(proc.stdout)
        # Every span, the kubelet's late ones too: the policy kept the whole trace.
        kept.wait_for_trace(trace_id, min_spans=22)
        assert_pod_journey(fetch_trace(kept.query_url, trace_id), trace_id)


def test_a_config_that_drops_the_demos_trace_is_named_within_seconds(jaeger_bin, tmp_path):
    with run_jaeger(_jaeger_config(tmp_path, forced_policy=False), UNLUCKY, binary=jaeger_bin) as dropping:
        proc = run_demo(dropping)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    out = " ".join(proc.stdout.split())  # the note is wrapped to the width
    # Progress each second, and a wait bounded by NOTHING_FOR_S (10 s), not by the demo's timeout.
    assert re.search(r"waiting for spans \.\.\. 1s 2s 3s [0-9s ]*none", out), proc.stdout
    assert " 11s" not in out
    assert "Trace " not in out, "no waterfall of a trace that is not there"
    assert re.search(f"Jaeger at {dropping.query_url} has no span of trace [0-9a-f]{{32}} 10 s after", out)
    for setting in ("KUBETRACE_TAIL_PROBABILISTIC_PERCENT", "kubetrace.sampling.forced=true"):
        assert setting in out
    assert "Traceback" not in proc.stderr
