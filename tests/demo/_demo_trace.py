"""The shape of the demo's trace, asserted the same way whether its spans came from the embedded
receiver (the demo's --spans-json) or from Jaeger's query API.

    kubectl apply                                         kubectl
      POST /api/v1/namespaces/{:namespace}/pods           kubectl CLIENT -> apiserver SERVER
        storage.v1.KV/Put                                 apiserver CLIENT -> storage SERVER
      GET ...pods (watch)                                 kubectl CLIENT -> apiserver SERVER
      syncPod                                             kubelet, continued from the pod's annotation
        runtime.v1.RuntimeService/RunPodSandbox, ...      kubelet CLIENT -> runtime SERVER, k8s.pod.*
        PUT /api/v1/namespaces/{:namespace}/pods/{:name}/status -> storage Get, Put
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from kubetrace_cli.receiver import ReceivedSpan

POD_NAME, NAMESPACE = "nginx", "default"
CREATE = "POST /api/v1/namespaces/{:namespace}/pods"
STATUS = "PUT /api/v1/namespaces/{:namespace}/pods/{:name}/status"
RUNTIME = "runtime.v1.RuntimeService"
CRI_CALLS = ("RunPodSandbox", "CreateContainer", "StartContainer", "ContainerStatus")
SERVICES = {"kubectl", "apiserver", "storage", "kubelet", "runtime"}


class Trace:
    """One trace's spans, with the lookups the assertions need."""

    def __init__(self, spans: Sequence[ReceivedSpan]):
        self.spans = list(spans)
        self.by_id = {s.span_id: s for s in self.spans}

    def only(self, service: str, name: str, kind: str | None = None) -> ReceivedSpan:
        found = [s for s in self.spans if s.service == service and s.name == name and kind in (None, s.kind)]
        assert len(found) == 1, (
            f"want one {kind or ''} span {service}: {name}, got {len(found)}: {self.names()}"
        )
        return found[0]

    def children(self, parent: ReceivedSpan, service: str | None = None) -> list[ReceivedSpan]:
        return [s for s in self.spans if s.parent_span_id == parent.span_id and service in (None, s.service)]

    def child(self, parent: ReceivedSpan, service: str, name: str, kind: str) -> ReceivedSpan:
        found = [s for s in self.children(parent, service) if s.name == name and s.kind == kind]
        assert len(found) == 1, (
            f"want one {kind} {service}: {name} under {parent.service}: {parent.name}, got "
            f"{[(s.service, s.name, s.kind) for s in self.children(parent)]}"
        )
        return found[0]

    def names(self) -> list[tuple[str, str, str]]:
        return sorted((s.service, s.name, s.kind) for s in self.spans)


def pod_attributes(span: ReceivedSpan) -> dict[str, object]:
    return {k: span.attributes.get(k) for k in ("k8s.pod.uid", "k8s.pod.name", "k8s.namespace.name")}


def assert_hop(trace: Trace, parent: ReceivedSpan, caller: str, callee: str, name: str) -> ReceivedSpan:
    """`caller` made a CLIENT call `name` under `parent`, and `callee` served it: the SERVER span."""
    client = trace.child(parent, caller, name, "CLIENT")
    return trace.child(client, callee, name, "SERVER")


def assert_pod_journey(spans: Iterable[ReceivedSpan], trace_id: str) -> Trace:
    """Everything the demo promises about its trace; returns it for further checks."""
    trace = Trace(spans)
    assert trace.spans, f"no spans in trace {trace_id}"
    assert {s.trace_id for s in trace.spans} == {trace_id}
    assert {s.service for s in trace.spans} == SERVICES
    assert not [s.name for s in trace.spans if s.status == "ERROR"], "no span failed"

    root = trace.only("kubectl", "kubectl apply")
    assert root.parent_span_id == "", "kubectl apply starts the trace"
    assert root.attributes.get("kubetrace.sampling.forced") is True, "tail sampling is asked to keep it"

    # kubectl -> apiserver -> storage: the create.
    create = assert_hop(trace, root, "kubectl", "apiserver", CREATE)
    assert create.attributes["k8s.request.verb"] == "create"
    assert create.attributes.get("audit-id"), "the apiserver records each request's audit ID"
    assert_hop(trace, create, "apiserver", "storage", "storage.v1.KV/Put")

    # kubectl waits on a watch, served by the apiserver until kubectl leaves.
    waits = [s for s in trace.children(root, "kubectl") if s.attributes.get("k8s.request.verb") == "watch"]
    assert len(waits) == 1, trace.names()
    watch_server = trace.child(waits[0], "apiserver", waits[0].name, "SERVER")
    assert watch_server.end_ns <= root.end_ns + 500_000_000, "the apiserver saw kubectl leave the watch"

    # The pod's journey is connected across the watch: the kubelet continued kubectl's trace.
    sync = trace.only("kubelet", "syncPod")
    assert sync.parent_span_id == root.span_id, "syncPod continues the trace kubectl wrote into the pod"
    pod = pod_attributes(sync)
    assert pod["k8s.pod.name"] == POD_NAME and pod["k8s.namespace.name"] == NAMESPACE
    assert pod["k8s.pod.uid"], "syncPod carries the pod's UID"
    assert sync.attributes["k8s.pod"] == f"{NAMESPACE}/{POD_NAME}"

    # kubelet -> runtime over CRI, the calls that name the pod carrying its identity on both sides.
    for method in CRI_CALLS:
        server = assert_hop(trace, sync, "kubelet", "runtime", f"{RUNTIME}/{method}")
        client = trace.by_id[server.parent_span_id]
        assert server.attributes["rpc.system"] == "grpc" and server.attributes["rpc.method"] == method
        if method in ("RunPodSandbox", "CreateContainer"):
            assert pod_attributes(client) == pod, f"{method} client span carries k8s.pod.*"
            assert pod_attributes(server) == pod, f"{method} server span carries k8s.pod.*"
        else:
            assert server.attributes.get("container.id"), f"{method} names its container"

    # kubelet -> apiserver -> storage: the pod reported Running.
    status = assert_hop(trace, sync, "kubelet", "apiserver", STATUS)
    assert status.attributes["k8s.request.subresource"] == "status"
    assert_hop(trace, status, "apiserver", "storage", "storage.v1.KV/Get")
    assert_hop(trace, status, "apiserver", "storage", "storage.v1.KV/Put")
    return trace
