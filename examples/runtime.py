"""runtime: a CRI container runtime over gRPC (runtime.v1.RuntimeService, a subset of CRI v1).

    RUNTIME_LISTEN=127.0.0.1:50051 python examples/runtime.py

Serves what a kubelet calls to start a pod: RunPodSandbox, CreateContainer, StartContainer,
ListContainers and ContainerStatus, with CRI's IDs, states and nanosecond timestamps. It only
pretends to run containers: they live in memory, and each step takes a few milliseconds, as a
real runtime's would. Prints `LISTENING host:port` once it serves (port 0 picks a free port).

Tracing takes two lines: tracing.setup(), and the server interceptor with the CRI extractor. Every
call becomes a SERVER span named like containerd's (`runtime.v1.RuntimeService/RunPodSandbox`);
the calls whose request names a pod carry k8s.pod.name, k8s.namespace.name and k8s.pod.uid, and
container calls their container.id, so a pod's runtime work is easy to find in a trace.
"""

from __future__ import annotations

import os
import secrets
import signal
import threading
import time
from concurrent import futures

import grpc
from _generated import cri_pb2, cri_pb2_grpc

import tracing
from interceptors import grpc as kgrpc
from interceptors.k8s import cri_attributes

# What the real work costs (pause container and network namespace, create, start), in seconds.
PRETEND = {"RunPodSandbox": 0.030, "CreateContainer": 0.010, "StartContainer": 0.015}


class RuntimeService(cri_pb2_grpc.RuntimeServiceServicer):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sandboxes: dict[str, cri_pb2.PodSandboxConfig] = {}
        self._containers: dict[str, cri_pb2.ContainerStatus] = {}
        self._sandbox_of: dict[str, str] = {}  # container ID -> pod sandbox ID

    def RunPodSandbox(self, request, context):
        pod = request.config.metadata
        if not (pod.name and pod.namespace and pod.uid):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "config.metadata needs name, namespace and uid")
        time.sleep(PRETEND["RunPodSandbox"])
        sandbox_id = secrets.token_hex(32)
        with self._lock:
            self._sandboxes[sandbox_id] = request.config
        return cri_pb2.RunPodSandboxResponse(pod_sandbox_id=sandbox_id)

    def CreateContainer(self, request, context):
        with self._lock:
            known = request.pod_sandbox_id in self._sandboxes
        if not known:
            context.abort(grpc.StatusCode.NOT_FOUND, f"pod sandbox {request.pod_sandbox_id!r} not found")
        config = request.config
        time.sleep(PRETEND["CreateContainer"])
        container_id = secrets.token_hex(32)
        status = cri_pb2.ContainerStatus(
            id=container_id,
            metadata=config.metadata,
            state=cri_pb2.CONTAINER_CREATED,
            created_at=time.time_ns(),
            image=config.image,
            image_ref=config.image.image,
            labels=config.labels,
            annotations=config.annotations,
        )
        with self._lock:
            self._containers[container_id] = status
            self._sandbox_of[container_id] = request.pod_sandbox_id
        return cri_pb2.CreateContainerResponse(container_id=container_id)

    def StartContainer(self, request, context):
        status = self._status(request.container_id, context)
        if status.state != cri_pb2.CONTAINER_CREATED:
            state = cri_pb2.ContainerState.Name(status.state)
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, f"container is in {state} state")
        time.sleep(PRETEND["StartContainer"])
        with self._lock:
            status.state, status.started_at = cri_pb2.CONTAINER_RUNNING, time.time_ns()
        return cri_pb2.StartContainerResponse()

    def ListContainers(self, request, context):
        wanted = request.filter
        with self._lock:
            found = [
                self._container(status)
                for status in self._containers.values()
                if (not wanted.id or status.id == wanted.id)
                and (not wanted.HasField("state") or status.state == wanted.state.state)
                and (not wanted.pod_sandbox_id or self._sandbox_of[status.id] == wanted.pod_sandbox_id)
                and all(status.labels.get(k) == v for k, v in wanted.label_selector.items())
            ]
        return cri_pb2.ListContainersResponse(containers=found)

    def ContainerStatus(self, request, context):
        status = self._status(request.container_id, context)
        with self._lock:
            return cri_pb2.ContainerStatusResponse(status=status)

    def _status(self, container_id: str, context: grpc.ServicerContext) -> cri_pb2.ContainerStatus:
        with self._lock:
            status = self._containers.get(container_id)
        if status is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"container {container_id!r} not found")
        return status

    def _container(self, status: cri_pb2.ContainerStatus) -> cri_pb2.Container:
        return cri_pb2.Container(
            id=status.id,
            pod_sandbox_id=self._sandbox_of[status.id],
            metadata=status.metadata,
            image=status.image,
            image_ref=status.image_ref,
            state=status.state,
            created_at=status.created_at,
            labels=status.labels,
            annotations=status.annotations,
        )


def main() -> None:
    os.environ.setdefault("OTEL_SERVICE_NAME", "runtime")
    tracing.setup()
    server = kgrpc.instrument_server(
        grpc.server(futures.ThreadPoolExecutor(max_workers=8)), request_attributes=cri_attributes
    )
    cri_pb2_grpc.add_RuntimeServiceServicer_to_server(RuntimeService(), server)
    host, _, port = os.environ.get("RUNTIME_LISTEN", "127.0.0.1:50051").rpartition(":")
    port = server.add_insecure_port(f"{host}:{port}")
    server.start()
    print(f"LISTENING {host}:{port}", flush=True)

    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stop on SIGTERM as on Ctrl-C
    try:
        server.wait_for_termination()
    except KeyboardInterrupt:
        server.stop(grace=1).wait()
    finally:
        tracing.shutdown()  # export the spans still queued


if __name__ == "__main__":
    main()
