"""kubectl: applies a pod and waits until it runs (`kubectl apply`, then `kubectl wait`).

    APISERVER_URL=http://127.0.0.1:8080 KUBECTL_POD=default/nginx KUBECTL_IMAGE=nginx:1.27 \\
        KUBECTL_NODE=node-1 python examples/kubectl.py

Creates the pod bound to KUBECTL_NODE (there is no scheduler), then watches it until its phase is
Running, for at most KUBECTL_TIMEOUT seconds (default 30). Prints what happened, then
`TRACE_ID=<32 hex digits>`, the trace to look at; exits 0 when the pod runs, 1 otherwise.

Tracing takes three lines and one decision: tracing.setup(); an httpx client with TracingTransport,
which makes each request a CLIENT span and sends its context in the traceparent header; a root span
around the whole command, marked for a collector's tail sampling to keep; and inject_into_object(pod), which writes that context into the pod's
annotations, so the kubelet that later picks the pod up from its watch can continue this trace.
"""

from __future__ import annotations

import json
import os
import sys
import time

import httpx
from opentelemetry import trace

import tracing
from interceptors.http import TracingTransport
from tracing.propagation import inject_into_object

tracer = trace.get_tracer("kubectl")


def pod_manifest(namespace: str, name: str, image: str, node: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": name}},
        "spec": {"nodeName": node, "containers": [{"name": name, "image": image}]},
    }


def apply_and_wait(api: httpx.Client, pod: dict, timeout: float) -> bool:
    namespace, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
    pods = f"/api/v1/namespaces/{namespace}/pods"
    started = time.monotonic()
    inject_into_object(pod)  # the kubelet continues this trace from the pod's annotations
    created = api.post(pods, json=pod)
    if created.status_code != 201:
        print(f"Error from server ({created.json().get('reason')}): {created.json().get('message')}")
        return False
    print(f"pod/{name} created")
    watch = {
        "watch": "true",
        "fieldSelector": f"metadata.name={name}",
        "resourceVersion": created.json()["metadata"]["resourceVersion"],
        "timeoutSeconds": str(int(timeout)),
    }
    with api.stream("GET", pods, params=watch, timeout=timeout + 5) as events:
        for line in events.iter_lines():
            phase = json.loads(line)["object"]["status"].get("phase") if line else None
            if phase == "Running":
                print(f"pod/{name} Running after {time.monotonic() - started:.3f}s")
                return True
    print(f"error: timed out after {timeout:.0f}s waiting for pod/{name} to be Running")
    return False


def main() -> int:
    os.environ.setdefault("OTEL_SERVICE_NAME", "kubectl")
    tracing.setup()
    namespace, _, name = os.environ.get("KUBECTL_POD", "default/nginx").rpartition("/")
    namespace = namespace or "default"
    image, node = os.environ.get("KUBECTL_IMAGE", "nginx:1.27"), os.environ.get("KUBECTL_NODE", "node-1")
    timeout = float(os.environ.get("KUBECTL_TIMEOUT", "30"))
    base_url = os.environ.get("APISERVER_URL", "http://127.0.0.1:8080")
    # kubectl runs once, by hand, and its trace is the one you came to see: the forced-trace mark asks
    # a collector's tail sampling to keep it whatever share of other traces it keeps
    # (collector-config's policies keep every trace with a span marked so).
    attributes = {"k8s.pod.name": name, "k8s.namespace.name": namespace, "kubetrace.sampling.forced": True}
    pod = pod_manifest(namespace, name, image, node)
    with (
        httpx.Client(base_url=base_url, transport=TracingTransport()) as api,
        tracer.start_as_current_span("kubectl apply", attributes=attributes) as span,
    ):
        try:
            running = apply_and_wait(api, pod, timeout)
        except httpx.HTTPError as err:
            print(f"error: {err}")
            running = False
        if not running:
            span.set_status(trace.StatusCode.ERROR, "the pod is not Running")
    print(f"TRACE_ID={trace.format_trace_id(span.get_span_context().trace_id)}", flush=True)
    tracing.shutdown()  # export this process's spans before it exits
    return 0 if running else 1


if __name__ == "__main__":
    sys.exit(main())
