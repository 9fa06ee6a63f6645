"""collector-config/ checked against the real Jaeger v2 binary.

Every collector config passes `jaeger validate`; jaeger.yaml runs and stores OTLP spans
(gRPC and HTTP) with the tail-sampling policies it claims; agent -> gateway -> Jaeger
delivers a trace; the remote_sampling extension serves sampling-strategies.json and
reloads it; the Kubernetes TracingConfiguration examples pass Kubernetes' validation rules.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import urllib.parse
import uuid
from pathlib import Path

import pytest
import yaml
from backends import (
    CONFIG_DIR,
    TEST_DEFAULTS,
    assign_ports,
    free_port,
    get_json,
    listen_vars,
    run_collector,
    run_jaeger,
)
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

pytestmark = pytest.mark.e2e

STRATEGIES = CONFIG_DIR / "sampling-strategies.json"


def _is_collector_config(path: Path) -> bool:
    doc = yaml.safe_load(path.read_text())
    return isinstance(doc, dict) and "service" in doc and "receivers" in doc


COLLECTOR_CONFIGS = sorted(p.name for p in CONFIG_DIR.glob("*.yaml") if _is_collector_config(p))
# kustomization.yaml is the Kubernetes manifests' entry point (tests/e2e/test_k8s_manifests.py).
K8S_CONFIGS = sorted(
    p.name
    for p in CONFIG_DIR.glob("*.yaml")
    if not _is_collector_config(p) and p.name != "kustomization.yaml"
)


# --- sending spans ---------------------------------------------------------------------------


def _service() -> str:
    return f"e2e-{uuid.uuid4().hex[:8]}"


def _make_spans(service: str, shape: str = "pair") -> tuple[str, list]:
    """Finished SDK spans of one new trace and its id in hex.

    pair: server span + client child; error: one span with ERROR status; slow: one span
    lasting 300 ms by its timestamps; plain: one short OK span."""
    rec = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": service}), shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(rec))
    tracer = provider.get_tracer("kubetrace.e2e")
    if shape == "pair":
        with tracer.start_as_current_span("GET /api/v1/pods", kind=SpanKind.SERVER) as root:
            root.set_attribute("http.request.method", "GET")
            with tracer.start_as_current_span("storage.v1.Storage/List", kind=SpanKind.CLIENT):
                pass
    elif shape == "slow":
        start = time.time_ns() - 300_000_000
        span = tracer.start_span("slow-op", start_time=start)
        span.end(end_time=start + 300_000_000)
    else:
        with tracer.start_as_current_span(f"{shape}-op") as span:
            if shape == "error":
                span.set_status(StatusCode.ERROR, "boom")
    spans = list(rec.get_finished_spans())
    provider.shutdown()
    return format(spans[0].context.trace_id, "032x"), spans


def _export(spans, *, grpc_endpoint: str | None = None, http_url: str | None = None) -> None:
    if grpc_endpoint:
        exporter = GrpcExporter(endpoint=grpc_endpoint, insecure=True, timeout=10)
    else:
        exporter = HttpExporter(endpoint=http_url, timeout=10)
    try:
        assert exporter.export(spans) == SpanExportResult.SUCCESS
    finally:
        exporter.shutdown()


def _send(service: str, shape: str = "pair", **where) -> str:
    trace_id, spans = _make_spans(service, shape)
    _export(spans, **where)
    return trace_id


def _tag(span: dict, key: str):
    return next((t["value"] for t in span.get("tags") or [] if t["key"] == key), None)


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def jaeger(jaeger_bin):
    with run_jaeger(binary=jaeger_bin) as j:
        yield j


# --- every config is accepted by the real binary ----------------------------------------------


def test_config_inventory():
    assert {"jaeger.yaml", "agent.yaml", "gateway.yaml"} <= set(COLLECTOR_CONFIGS)
    assert {"tracing-apiserver.yaml", "kubelet-config.yaml", "tracing-service.yaml"} <= set(K8S_CONFIGS)


@pytest.mark.parametrize("name", COLLECTOR_CONFIGS)
def test_validate(jaeger_bin, name):
    path = CONFIG_DIR / name
    env = {**os.environ, **TEST_DEFAULTS, **assign_ports(path, {})}
    proc = subprocess.run(
        [str(jaeger_bin), "validate", "--config", str(path)],
        cwd=CONFIG_DIR.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, f"{name}:\n{proc.stdout}\n{proc.stderr}"


def test_validate_rejects_a_broken_config(jaeger_bin, tmp_path):
    broken = tmp_path / "gateway.yaml"
    broken.write_text((CONFIG_DIR / "gateway.yaml").read_text().replace("threshold_ms:", "threshold_mss:"))
    proc = subprocess.run(
        [str(jaeger_bin), "validate", "--config", str(broken)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode != 0
    assert "threshold_mss" in proc.stdout + proc.stderr


@pytest.mark.parametrize("name", COLLECTOR_CONFIGS)
def test_every_listen_address_is_env_overridable(name):
    """No endpoint/port literal: two instances (or a test beside a dev instance) never clash."""
    text = (CONFIG_DIR / name).read_text()
    for lineno, line in enumerate(text.splitlines(), 1):
        code = line.split("#", 1)[0]
        m = re.match(r"\s*(endpoint|port|host):\s*(\S.*)$", code)
        if m:
            assert "${env:KUBETRACE_" in m.group(2), f"{name}:{lineno}: {line.strip()}"
    assert listen_vars(CONFIG_DIR / name), name


# --- jaeger.yaml for real ------------------------------------------------------------------------


def test_jaeger_stores_otlp_grpc_trace(jaeger):
    service = _service()
    trace_id = _send(service, grpc_endpoint=jaeger.otlp_grpc_endpoint)
    trace = jaeger.wait_for_trace(trace_id, min_spans=2, timeout=20)
    by_name = {s["operationName"]: s for s in trace["spans"]}
    assert set(by_name) == {"GET /api/v1/pods", "storage.v1.Storage/List"}
    root, child = by_name["GET /api/v1/pods"], by_name["storage.v1.Storage/List"]
    assert child["references"][0]["refType"] == "CHILD_OF"
    assert child["references"][0]["spanID"] == root["spanID"]
    assert _tag(root, "span.kind") == "server" and _tag(child, "span.kind") == "client"
    assert jaeger.service_names(trace) == {service}
    assert service in jaeger.services()
    assert [t["traceID"] for t in jaeger.traces(service)] == [trace_id]


def test_jaeger_stores_otlp_http_trace(jaeger):
    service = _service()
    trace_id = _send(service, http_url=jaeger.otlp_http_endpoint + "/v1/traces")
    trace = jaeger.wait_for_trace(trace_id, min_spans=2, timeout=20)
    assert jaeger.service_names(trace) == {service}


def test_unknown_trace_is_none(jaeger):
    assert jaeger.trace(uuid.uuid4().hex) is None


def test_tail_sampling_keeps_errors_and_slow_traces_only(jaeger_bin):
    env = {"KUBETRACE_TAIL_PROBABILISTIC_PERCENT": "0", "KUBETRACE_TAIL_LATENCY_THRESHOLD_MS": "200"}
    with run_jaeger(env_overrides=env, binary=jaeger_bin) as j:
        service = _service()
        plain = _send(service, "plain", grpc_endpoint=j.otlp_grpc_endpoint)
        error = _send(service, "error", grpc_endpoint=j.otlp_grpc_endpoint)
        slow = _send(service, "slow", grpc_endpoint=j.otlp_grpc_endpoint)
        err_span = j.wait_for_trace(error, timeout=20)["spans"][0]
        assert _tag(err_span, "otel.status_code") == "ERROR"
        j.wait_for_trace(slow, timeout=20)
        time.sleep(1.5)  # decision_wait is 1 s; the plain trace was decided with the others
        assert j.trace(plain) is None


# --- agent -> gateway -> jaeger --------------------------------------------------------------


def test_agent_gateway_jaeger_chain(jaeger, jaeger_bin):
    with (
        run_collector(
            "gateway.yaml", {"KUBETRACE_JAEGER_ENDPOINT": jaeger.otlp_grpc_endpoint}, binary=jaeger_bin
        ) as gateway,
        run_collector(
            "agent.yaml", {"KUBETRACE_GATEWAY_ENDPOINT": gateway.otlp_grpc_endpoint}, binary=jaeger_bin
        ) as agent,
    ):
        service = _service()
        via_grpc = _send(service, grpc_endpoint=agent.otlp_grpc_endpoint)
        via_http = _send(service, http_url=agent.otlp_http_endpoint + "/v1/traces")
        for trace_id in (via_grpc, via_http):
            trace = jaeger.wait_for_trace(trace_id, min_spans=2, timeout=30)
            assert jaeger.service_names(trace) == {service}


# --- remote sampling -----------------------------------------------------------------------------


_TYPE_CODE = {"probabilistic": 0, "ratelimiting": 1}


def _expected_strategy(doc: dict, service: str) -> dict:
    """What Jaeger should serve for `service`, computed from the strategies file."""
    default = doc["default_strategy"]
    own = next((s for s in doc.get("service_strategies", []) if s["service"] == service), None)
    chosen = own or default
    ops = {
        o["operation"]: o["param"]
        for o in default.get("operation_strategies", [])
        if o["type"] == "probabilistic"
    }
    if own:
        ops.update(
            {
                o["operation"]: o["param"]
                for o in own.get("operation_strategies", [])
                if o["type"] == "probabilistic"
            }
        )
    return {"code": _TYPE_CODE[chosen["type"]], "param": chosen["param"], "ops": ops}


def test_strategies_file_is_well_formed():
    doc = json.loads(STRATEGIES.read_text())
    assert doc["default_strategy"]["type"] in _TYPE_CODE
    names = [s["service"] for s in doc["service_strategies"]]
    assert len(names) == len(set(names))
    assert {"apiserver", "storage", "kubelet", "runtime", "kubectl"} <= set(names)
    for entry in [doc["default_strategy"], *doc["service_strategies"]]:
        assert entry["type"] in _TYPE_CODE, entry
        if entry["type"] == "probabilistic":
            assert 0.0 <= entry["param"] <= 1.0, entry
        for op in entry.get("operation_strategies", []):
            # Jaeger ignores ratelimiting per-operation entries (logs a warning).
            assert op["type"] == "probabilistic" and 0.0 <= op["param"] <= 1.0, op


def test_remote_sampling_serves_apiserver_strategy(jaeger):
    status, body = jaeger.sampling_strategy("apiserver")
    assert status == 200, body
    # Jaeger v2 (v1.76) serves the legacy Thrift-JSON form: numeric strategyType
    # (0 = PROBABILISTIC, 1 = RATE_LIMITING), camelCase fields.
    assert body["strategyType"] == 0
    assert body["probabilisticSampling"] == {"samplingRate": 1.0}
    assert "rateLimitingSampling" not in body
    ops = body["operationSampling"]
    assert ops["defaultSamplingProbability"] == 1.0
    per_op = {
        o["operation"]: o["probabilisticSampling"]["samplingRate"] for o in ops["perOperationStrategies"]
    }
    assert per_op["GET /healthz"] == 0.0


@pytest.mark.parametrize("service", ["apiserver", "storage", "kubelet", "runtime", "kubectl", "not-in-file"])
def test_remote_sampling_matches_file(jaeger, service):
    want = _expected_strategy(json.loads(STRATEGIES.read_text()), service)
    status, body = jaeger.sampling_strategy(service)
    assert status == 200, body
    assert body["strategyType"] == want["code"]
    if want["code"] == 0:
        assert body["probabilisticSampling"]["samplingRate"] == pytest.approx(want["param"])
    else:
        assert body["rateLimitingSampling"]["maxTracesPerSecond"] == int(want["param"])
    served = body.get("operationSampling") or {"perOperationStrategies": []}
    got = {
        o["operation"]: o["probabilisticSampling"]["samplingRate"] for o in served["perOperationStrategies"]
    }
    assert got == pytest.approx(want["ops"])


def test_remote_sampling_paths(jaeger):
    """v2 serves the same answer on any path; a request without exactly one service is a 400."""
    base = jaeger.sampling_url.rsplit("/", 1)[0]
    answers = {
        path: get_json(f"{base}{path}?service=apiserver") for path in ("/sampling", "/", "/api/sampling")
    }
    assert len({json.dumps(a, sort_keys=True) for a in answers.values()}) == 1
    assert answers["/sampling"][0] == 200
    assert get_json(jaeger.sampling_url)[0] == 400


def test_remote_sampling_reloads_file(jaeger_bin, tmp_path):
    doc = json.loads(STRATEGIES.read_text())
    path = tmp_path / "strategies.json"
    path.write_text(json.dumps(doc))
    env = {"KUBETRACE_SAMPLING_STRATEGIES": str(path), "KUBETRACE_SAMPLING_RELOAD_INTERVAL": "500ms"}
    with run_jaeger(env_overrides=env, binary=jaeger_bin) as j:
        assert j.sampling_strategy("kubectl")[1]["probabilisticSampling"]["samplingRate"] == 1.0
        for entry in doc["service_strategies"]:
            if entry["service"] == "kubectl":
                entry["param"] = 0.25
        path.write_text(json.dumps(doc))
        deadline = time.monotonic() + 10
        while j.sampling_strategy("kubectl")[1]["probabilisticSampling"]["samplingRate"] != 0.25:
            assert time.monotonic() < deadline, f"not reloaded\n{j.log_tail()}"
            time.sleep(0.2)


# --- Kubernetes TracingConfiguration examples ---------------------------------------------------


def _k8s_validate_endpoint(endpoint: str) -> None:
    """k8s.io/component-base/tracing/api/v1 validateEndpoint: a gRPC target, scheme dns/unix."""
    target = endpoint if "//" in endpoint else "dns://" + endpoint
    assert urllib.parse.urlsplit(target).scheme in {"dns", "unix", "unix-abstract"}, endpoint


@pytest.mark.parametrize("name", K8S_CONFIGS)
def test_kubernetes_tracing_configs(name):
    doc = yaml.safe_load((CONFIG_DIR / name).read_text())
    if doc["kind"] == "TracingConfiguration":
        assert doc["apiVersion"] in {
            "apiserver.config.k8s.io/v1",
            "apiserver.config.k8s.io/v1beta1",
            "apiserver.config.k8s.io/v1alpha1",
        }
        tracing = {k: v for k, v in doc.items() if k not in ("apiVersion", "kind")}
    else:
        assert (doc["apiVersion"], doc["kind"]) == ("kubelet.config.k8s.io/v1beta1", "KubeletConfiguration")
        tracing = doc["tracing"]
    assert set(tracing) <= {"endpoint", "samplingRatePerMillion"}, tracing
    _k8s_validate_endpoint(tracing["endpoint"])
    rate = tracing["samplingRatePerMillion"]
    assert isinstance(rate, int) and 0 <= rate <= 1_000_000
    # They point at the node agent's default OTLP gRPC port.
    agent_grpc = listen_vars(CONFIG_DIR / "agent.yaml")["KUBETRACE_AGENT_OTLP_GRPC"]
    assert tracing["endpoint"].rsplit(":", 1)[1] == agent_grpc.rsplit(":", 1)[1]


def test_free_port_is_bindable():
    import socket

    port = free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))
