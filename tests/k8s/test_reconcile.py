"""A span per controller reconcile (interceptors.k8s.reconciler): linked to the trace that wrote the
object by default, its child under a trust policy that trusts the object, the reconcile function's
result and exceptions untouched; and the example controller doing it against the example apiserver."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import httpx
import pytest
from kubernetes import client
from opentelemetry import trace
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased
from opentelemetry.trace import SpanKind, StatusCode

from interceptors.k8s import reconciler
from kubetrace_cli._demo_stack import Stack
from tracing.propagation import TRUST_ALL, trust_callers

WRITER_TRACE, WRITER_SPAN = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _pod(name: str = "web", **annotations: str) -> dict:
    annotations.setdefault("kubetrace.io/traceparent", f"00-{WRITER_TRACE}-{WRITER_SPAN}-01")
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "uid": "u-1", "annotations": annotations},
    }


def _ids(span_context) -> tuple[str, str]:
    return f"{span_context.trace_id:032x}", f"{span_context.span_id:016x}"


def test_a_reconcile_is_a_new_trace_linked_to_the_objects_writer(recorder):
    seen = []

    @reconciler("pod-reporter", tracer_provider=recorder.provider)
    def reconcile(pod, extra):
        seen.append(trace.get_current_span().get_span_context())
        return ("done", extra)

    assert reconcile(_pod(), extra=7) == ("done", 7)
    (span,) = recorder.spans()
    assert span.name == "pod-reporter reconcile" and span.kind is SpanKind.INTERNAL
    assert span.parent is None and _ids(span.context)[0] != WRITER_TRACE
    assert [_ids(link.context) for link in span.links] == [(WRITER_TRACE, WRITER_SPAN)]
    assert dict(span.attributes) == {
        "k8s.controller.name": "pod-reporter",
        "k8s.object.kind": "Pod",
        "k8s.object.name": "web",
        "k8s.namespace.name": "default",
        "k8s.object.uid": "u-1",
    }
    assert seen == [span.context]  # the reconcile's own span is current while it runs
    assert span.status.status_code is StatusCode.UNSET


def test_trusted_objects_continue_the_writers_trace_and_may_force_it(make_recorder):
    recorder = make_recorder(ParentBased(ALWAYS_OFF))
    reconcile = reconciler("c", trust_policy=TRUST_ALL, tracer_provider=recorder.provider)(lambda pod: None)
    unsampled = f"00-{WRITER_TRACE}-{WRITER_SPAN}-00"

    reconcile(_pod(**{"kubetrace.io/traceparent": unsampled}))
    assert recorder.spans() == []  # an unsampled writer, a parent-based sampler: not sampled
    reconcile(_pod(**{"kubetrace.io/traceparent": unsampled, "kubetrace.io/kubetrace-force-trace": "1"}))
    (span,) = recorder.spans()
    assert _ids(span.context)[0] == WRITER_TRACE and f"{span.parent.span_id:016x}" == WRITER_SPAN
    assert span.attributes["kubetrace.sampling.forced"] is True


def test_a_trust_predicate_reads_the_objects_annotations(recorder):
    trusted = trust_callers(lambda caller: caller.header("example.io/trusted-writer") == "kubectl")
    reconcile = reconciler("c", trust_policy=trusted, tracer_provider=recorder.provider)(lambda pod: None)
    reconcile(_pod("a", **{"example.io/trusted-writer": "kubectl"}))
    reconcile(_pod("b"))
    parents = {s.attributes["k8s.object.name"]: s.parent for s in recorder.spans()}
    assert f"{parents['a'].span_id:016x}" == WRITER_SPAN and parents["b"] is None


def test_an_exception_is_recorded_and_raised_unchanged(recorder):
    error = RuntimeError("conflict")

    @reconciler("c", tracer_provider=recorder.provider)
    def reconcile(pod):
        raise error

    with pytest.raises(RuntimeError) as raised:
        reconcile(_pod())
    assert raised.value is error
    (span,) = recorder.spans()
    assert span.status.status_code is StatusCode.ERROR and span.status.description == "RuntimeError: conflict"
    assert span.attributes["error.type"] == "RuntimeError"
    assert [e.attributes["exception.type"] for e in span.events] == ["RuntimeError"]


def test_async_reconcilers_and_kubernetes_client_models(recorder):
    @reconciler("c", tracer_provider=recorder.provider)
    async def reconcile(pod):
        await asyncio.sleep(0)
        return pod.metadata.name

    model = client.V1Pod(
        metadata=client.V1ObjectMeta(
            name="db",
            namespace="prod",
            annotations={"kubetrace.io/traceparent": f"00-{WRITER_TRACE}-{WRITER_SPAN}-01"},
        )
    )
    assert asyncio.run(reconcile(model)) == "db"
    (span,) = recorder.spans()
    assert span.attributes["k8s.object.kind"] == "V1Pod" and span.attributes["k8s.namespace.name"] == "prod"
    assert [_ids(link.context) for link in span.links] == [(WRITER_TRACE, WRITER_SPAN)]


def test_objects_without_trace_context_or_metadata_are_reconciled_as_roots(recorder):
    reconcile = reconciler("c", tracer_provider=recorder.provider)(lambda obj: obj)
    assert reconcile({"kind": "ConfigMap"}) == {"kind": "ConfigMap"}
    assert reconcile(None) is None
    spans = recorder.spans()
    assert [(s.parent, list(s.links)) for s in spans] == [(None, []), (None, [])]


def test_the_example_controller_traces_each_reconcile_against_the_example_apiserver(tmp_path, otlp_receiver):
    env = {
        **os.environ,
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://{otlp_receiver.grpc_endpoint}",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
        "OTEL_TRACES_SAMPLER": "parentbased_always_on",
        "OTEL_BSP_SCHEDULE_DELAY": "50",
        "KUBETRACE_SHUTDOWN_TIMEOUT_MS": "3000",
    }
    stack = Stack(EXAMPLES, env, tmp_path)
    try:
        deadline = time.monotonic() + 30
        storage = stack.start("storage", STORAGE_LISTEN="127.0.0.1:0").expect("LISTENING ", deadline)
        apiserver = stack.start("apiserver", APISERVER_LISTEN="127.0.0.1:0", STORAGE_ADDRESS=storage)
        url = "http://" + apiserver.expect("LISTENING ", deadline)
        controller = stack.start("controller", APISERVER_URL=url)
        controller.expect("WATCHING pods", deadline)
        pod = _pod("nginx")
        pod["spec"] = {"nodeName": "node-1", "containers": [{"name": "nginx", "image": "nginx"}]}
        created = httpx.post(f"{url}/api/v1/namespaces/default/pods", json=pod, timeout=10)
        assert created.status_code == 201
        assert controller.expect("RECONCILED default/nginx", deadline) == "Pending"
    finally:
        stack.stop(first=("controller",))

    spans = otlp_receiver.wait_for(4, timeout=10)
    (reconcile,) = [s for s in spans if s.name == "pod-reporter reconcile"]
    assert reconcile.service == "controller" and reconcile.links == ((WRITER_TRACE, WRITER_SPAN),)
    own = [
        s for s in otlp_receiver.wait_for(4, trace_id=reconcile.trace_id) if s.span_id != reconcile.span_id
    ]
    get = [s for s in own if s.kind == "CLIENT" and s.parent_span_id == reconcile.span_id]
    assert [s.name for s in get] == ["GET /api/v1/namespaces/{:namespace}/pods/{:name}"]
    assert any(s.service == "apiserver" and s.parent_span_id == get[0].span_id for s in own)
