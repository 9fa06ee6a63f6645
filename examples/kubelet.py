"""kubelet: runs the pods bound to its node through a CRI runtime, and reports them Running.

    APISERVER_URL=http://127.0.0.1:8080 RUNTIME_ADDRESS=127.0.0.1:50051 NODE_NAME=node-1 \\
        python examples/kubelet.py

Lists, then watches, the pods whose spec.nodeName is NODE_NAME with the official kubernetes client.
For each pod not running yet it runs syncPod: RunPodSandbox, then CreateContainer, StartContainer
and ContainerStatus per container on the runtime (CRI v1 over gRPC), and finally a status update
that sets the pod Running. Prints `WATCHING node-1` once it watches.

Tracing takes four lines: tracing.setup(); instrument_pool_manager on the kubernetes client, which
makes each API call (the watch too) a CLIENT span; the gRPC client interceptor with the CRI
extractor on the runtime channel, so CRI calls carry k8s.pod.* as kubelet's do; and the syncPod
span, with kubelet's own attributes. NODE_NAME also sets the resource attribute k8s.node.name.
Its log goes to stderr as JSON lines in Kubernetes' format (tracing.JsonFormatter); a line logged
inside the syncPod span carries that span's trace_id and span_id.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from datetime import datetime, timezone

import grpc
from _generated import cri_pb2, cri_pb2_grpc
from kubernetes import client, watch
from opentelemetry import trace

import tracing
from interceptors import grpc as kgrpc
from interceptors.http import instrument_pool_manager
from interceptors.k8s import cri_attributes
from tracing.propagation import extract_from_object

tracer = trace.get_tracer("kubelet")
log = logging.getLogger("kubelet")


class Kubelet:
    def __init__(self, core: client.CoreV1Api, runtime: cri_pb2_grpc.RuntimeServiceStub, node: str):
        self.core, self.runtime, self.node = core, runtime, node
        self.started: set[str] = set()  # UIDs of the pods whose containers run here

    def run(self) -> None:
        """List and sync the node's pods, then watch for more, like kubelet's pod config source."""
        running = self.runtime.ListContainers(cri_pb2.ListContainersRequest()).containers
        self.started = {c.labels.get("io.kubernetes.pod.uid") for c in running}
        selector = f"spec.nodeName={self.node}"
        pods = self.core.list_pod_for_all_namespaces(field_selector=selector)
        for pod in pods.items:
            self.sync(pod)
        print(f"WATCHING {self.node}", flush=True)
        changes = watch.Watch().stream(
            self.core.list_pod_for_all_namespaces,
            field_selector=selector,
            resource_version=pods.metadata.resource_version,
        )
        for event in changes:
            self.sync(event["object"])

    def sync(self, pod: client.V1Pod) -> None:
        if pod.metadata.uid in self.started:
            return
        self.started.add(pod.metadata.uid)
        # The pod's trace crosses the watch here. kubectl wrote its trace context into the pod's
        # kubetrace.io/traceparent annotation when it created the pod, and syncPod continues that
        # trace: `kubectl apply`, the apiserver and storage calls it caused, and the kubelet and
        # runtime work that made the pod run are one trace, one picture of the pod's journey.
        # A parent rather than a link, because this first sync is the very work the apply asked
        # for. For work that only observes an object (periodic resyncs, a controller reconciling
        # many objects, objects written by callers you do not trust to pick your traces' parents),
        # start a new trace with a link instead: links=[link_from_object(pod)].
        meta = pod.metadata
        attributes = {  # what kubelet's syncPod span carries
            "k8s.pod.uid": meta.uid,
            "k8s.pod": f"{meta.namespace}/{meta.name}",
            "k8s.pod.name": meta.name,
            "k8s.pod.update_type": "create",
            "k8s.namespace.name": meta.namespace,
        }
        try:
            with tracer.start_as_current_span(
                "syncPod", context=extract_from_object(pod), attributes=attributes
            ):
                self.report_running(pod, self.start_containers(pod))
                log.info("Pod is running", extra={"pod": f"{meta.namespace}/{meta.name}"})
        except (client.ApiException, grpc.RpcError) as err:  # recorded on the span; retried on the next event
            self.started.discard(meta.uid)
            print(f"syncPod {meta.namespace}/{meta.name} failed: {err}", file=sys.stderr)

    def report_running(self, pod: client.V1Pod, containers: list[client.V1ContainerStatus]) -> None:
        """Update the pod's status subresource, as kubelet's status manager does."""
        now = datetime.now(timezone.utc)
        pod.status.phase, pod.status.host_ip, pod.status.start_time = "Running", "127.0.0.1", now
        pod.status.container_statuses = containers
        pod.status.conditions = [
            client.V1PodCondition(type=kind, status="True", last_transition_time=now)
            for kind in ("Initialized", "ContainersReady", "Ready", "PodScheduled")
        ]
        self.core.replace_namespaced_pod_status(pod.metadata.name, pod.metadata.namespace, pod)

    def start_containers(self, pod: client.V1Pod) -> list[client.V1ContainerStatus]:
        meta = pod.metadata
        labels = {
            "io.kubernetes.pod.name": meta.name,
            "io.kubernetes.pod.namespace": meta.namespace,
            "io.kubernetes.pod.uid": meta.uid,
        }
        sandbox = cri_pb2.PodSandboxConfig(
            metadata=cri_pb2.PodSandboxMetadata(name=meta.name, uid=meta.uid, namespace=meta.namespace),
            hostname=meta.name,
            log_directory=f"/var/log/pods/{meta.namespace}_{meta.name}_{meta.uid}",
            labels=labels,
        )
        sandbox_id = self.runtime.RunPodSandbox(cri_pb2.RunPodSandboxRequest(config=sandbox)).pod_sandbox_id
        statuses = []
        for container in pod.spec.containers:
            config = cri_pb2.ContainerConfig(
                metadata=cri_pb2.ContainerMetadata(name=container.name),
                image=cri_pb2.ImageSpec(image=container.image),
                labels={**labels, "io.kubernetes.container.name": container.name},
                log_path=f"{container.name}/0.log",
            )
            request = cri_pb2.CreateContainerRequest(
                pod_sandbox_id=sandbox_id, config=config, sandbox_config=sandbox
            )
            container_id = self.runtime.CreateContainer(request).container_id
            self.runtime.StartContainer(cri_pb2.StartContainerRequest(container_id=container_id))
            status = self.runtime.ContainerStatus(cri_pb2.ContainerStatusRequest(container_id=container_id))
            statuses.append(_container_status(status.status))
        return statuses


def _container_status(status: cri_pb2.ContainerStatus) -> client.V1ContainerStatus:
    started = datetime.fromtimestamp(status.started_at / 1e9, timezone.utc)
    return client.V1ContainerStatus(
        name=status.metadata.name,
        container_id=f"kubetrace://{status.id}",
        image=status.image.image,
        image_id=status.image_ref,
        ready=True,
        started=True,
        restart_count=0,
        state=client.V1ContainerState(running=client.V1ContainerStateRunning(started_at=started)),
    )


def main() -> None:
    os.environ.setdefault("OTEL_SERVICE_NAME", "kubelet")
    tracing.setup()
    handler = logging.StreamHandler()  # stderr, as Kubernetes components log
    handler.setFormatter(tracing.JsonFormatter())
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    api = client.ApiClient(
        client.Configuration(host=os.environ.get("APISERVER_URL", "http://127.0.0.1:8080"))
    )
    instrument_pool_manager(api.rest_client.pool_manager)
    target = os.environ.get("RUNTIME_ADDRESS", "127.0.0.1:50051")
    channel = kgrpc.instrument_channel(grpc.insecure_channel(target), request_attributes=cri_attributes)
    kubelet = Kubelet(
        client.CoreV1Api(api), cri_pb2_grpc.RuntimeServiceStub(channel), os.environ.get("NODE_NAME", "node-1")
    )

    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stop on SIGTERM as on Ctrl-C
    try:
        kubelet.run()
    except KeyboardInterrupt:
        pass  # leaving the watch closes it, which ends its span
    finally:
        channel.close()
        tracing.shutdown()  # export the spans still queued


if __name__ == "__main__":
    main()
