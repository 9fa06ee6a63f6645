"""setup() and shutdown(): spans really leave through the OTLP exporters, and nothing hangs."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import pytest
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind
from testkit import blackholed_endpoint, dead_endpoint

import tracing
from tracing._starter import SpanStarter
from tracing.propagation import CONFIGURED_TRUST, TRUST_ALL, TRUST_NONE


@pytest.fixture
def receiver(otlp_receiver):
    return otlp_receiver


pytestmark = pytest.mark.usefixtures("no_setup_leaks")


def _emit(name: str = "op") -> str:
    span = trace.get_tracer("test").start_span(name, kind=SpanKind.SERVER, attributes={"k": "v"})
    span.end()
    return format(span.get_span_context().trace_id, "032x")


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_spans_arrive_over_the_real_exporter_with_resource_attributes(receiver, protocol):
    endpoint = receiver.grpc_endpoint if protocol == "grpc" else receiver.http_endpoint
    handle = tracing.setup(
        service_name="svc-under-test",
        protocol=protocol,
        endpoint=endpoint,
        insecure=True,
        headers={"x-tenant": "blue"},
        resource_attributes={"deployment.environment": "test"},
        kubernetes={"k8s.pod.name": "api-0", "k8s.namespace.name": "kube-system"},
    )
    trace_id = _emit("GET /healthz")
    assert handle.force_flush()
    [span] = receiver.wait_for(1, trace_id=trace_id)
    assert (span.name, span.kind, span.attributes) == ("GET /healthz", "SERVER", {"k": "v"})
    assert span.transport == ("grpc" if protocol == "grpc" else "http")
    res = span.resource
    assert res["service.name"] == "svc-under-test"
    assert res["deployment.environment"] == "test"
    assert res["k8s.pod.name"] == "api-0" and res["k8s.namespace.name"] == "kube-system"
    assert res["host.name"] and len(res["service.instance.id"]) == 36
    assert receiver.request_headers[-1]["x-tenant"] == "blue"


def test_env_configuration_reaches_the_exporter(receiver, monkeypatch):
    monkeypatch.setenv("OTEL_SERVICE_NAME", "from-env")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://{receiver.grpc_endpoint}")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")
    monkeypatch.setenv("K8S_NODE_NAME", "node-7")
    tracing.setup()
    trace_id = _emit()
    tracing.active().force_flush()
    [span] = receiver.wait_for(1, trace_id=trace_id)
    assert span.resource["service.name"] == "from-env"
    assert span.resource["k8s.node.name"] == "node-7"


def test_file_sampling_rate_is_applied_parent_based(receiver, tmp_path):
    cfg = tmp_path / "tracing.yaml"
    cfg.write_text(
        "apiVersion: apiserver.config.k8s.io/v1\nkind: TracingConfiguration\nsamplingRatePerMillion: 0\n"
    )
    tracing.setup(config_file=str(cfg), endpoint=receiver.grpc_endpoint)
    root = trace.get_tracer("t").start_span("root")
    assert not root.is_recording()  # rate 0: new traces are never sampled
    parent = propagate.extract({"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"})
    child = trace.get_tracer("t").start_span("child", context=parent)
    assert child.is_recording()  # ParentBased: a sampled parent is followed
    child.end()


def test_setup_twice_keeps_the_first_and_says_so(receiver, caplog):
    first = tracing.setup(service_name="one", endpoint=receiver.grpc_endpoint)
    second = tracing.setup(service_name="two", endpoint=receiver.grpc_endpoint)
    assert second is first
    assert "already set up" in caplog.text
    assert trace.get_tracer_provider() is first.provider


def test_setup_after_shutdown_installs_a_new_provider(receiver):
    first = tracing.setup(service_name="one", endpoint=receiver.grpc_endpoint)
    assert first.shutdown()
    second = tracing.setup(service_name="two", endpoint=receiver.grpc_endpoint)
    assert trace.get_tracer_provider() is second.provider is not first.provider


def test_disabled_sdk_is_a_working_noop_that_still_propagates(monkeypatch):
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    handle = tracing.setup()
    assert handle.provider is None
    incoming = propagate.extract({"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"})
    span = SpanStarter("t").start("x", incoming, SpanKind.SERVER)
    assert not span.is_recording()
    carrier: dict[str, str] = {}
    propagate.inject(carrier, trace.set_span_in_context(span, incoming))
    assert carrier["traceparent"].startswith("00-0af7651916cd43dd8448eb211c80319c-")
    assert handle.shutdown()


def test_tracing_imports_in_a_process_started_with_the_sdk_disabled(monkeypatch):
    # The import-time check of OpenTelemetry's private state probes an SDK TracerProvider, which
    # hands out no-op tracers under OTEL_SDK_DISABLED: the check must still pass (the demo's
    # disabled services failed to import tracing when it did not).
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    script = "import tracing; print(tracing.setup().provider)"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "None"


def test_the_incoming_trust_policy_is_configured_until_shutdown(receiver):
    assert CONFIGURED_TRUST.policy is TRUST_ALL
    handle = tracing.setup(endpoint=receiver.grpc_endpoint, trust_incoming="none")
    assert CONFIGURED_TRUST.policy is TRUST_NONE is handle.trust_policy
    assert handle.shutdown()
    assert CONFIGURED_TRUST.policy is TRUST_ALL


def test_propagators_follow_the_configuration(receiver):
    tracing.setup(endpoint=receiver.grpc_endpoint, propagators=("b3multi",))
    carrier: dict[str, str] = {}
    with trace.get_tracer("t").start_as_current_span("x"):
        propagate.inject(carrier)
    assert "x-b3-traceid" in carrier and "traceparent" not in carrier


@pytest.mark.parametrize("endpoint_kind", ["dead", "blackholed"])
@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_shutdown_returns_within_the_configured_bound(endpoint_kind, protocol):
    make = dead_endpoint if endpoint_kind == "dead" else blackholed_endpoint
    with make() as addr:
        endpoint = addr if protocol == "grpc" else f"http://{addr}/v1/traces"
        handle = tracing.setup(
            protocol=protocol, endpoint=endpoint, insecure=True, timeout_ms=30000, shutdown_timeout_ms=800
        )
        for i in range(50):
            _emit(f"op-{i}")
        started = time.monotonic()
        handle.shutdown()
        elapsed = time.monotonic() - started
    assert elapsed < 0.8 + 0.5, f"shutdown took {elapsed:.2f}s"


def test_process_exit_is_not_held_by_a_blackholed_collector(tmp_path):
    with blackholed_endpoint() as addr:
        script = textwrap.dedent(
            f"""
            import tracing
            from opentelemetry import trace
            tracing.setup(endpoint="{addr}", insecure=True, timeout_ms=60000, shutdown_timeout_ms=1000)
            for i in range(100):
                trace.get_tracer("t").start_span(f"s{{i}}").end()
            print("done", flush=True)
            """
        )
        started = time.monotonic()
        proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30)
        elapsed = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "done"
    assert elapsed < 10, f"exit took {elapsed:.1f}s with a 1s shutdown bound"


def test_an_unreadable_certificate_is_a_config_error_naming_the_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_CERTIFICATE", str(tmp_path / "missing.pem"))
    with pytest.raises(
        tracing.ConfigError, match="OTEL_EXPORTER_OTLP_CERTIFICATE: cannot read certificate file"
    ):
        tracing.setup(endpoint="https://127.0.0.1:1")
