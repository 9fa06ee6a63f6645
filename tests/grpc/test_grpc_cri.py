"""The CRI extractor: kubelet's pod and container keys from CRI v1 requests, on real protobuf messages,
and end to end as the interceptors' request_attributes hook."""

from __future__ import annotations

from types import SimpleNamespace

import grpc
import pytest
from _cri_messages import CRI
from _grpc_chain import sync_channel, sync_server
from _grpc_spans import wait_for_spans
from opentelemetry.trace import SpanKind

from interceptors.k8s import cri_attributes

RUNTIME = "/runtime.v1.RuntimeService"
POD = {"k8s.pod.name": "web-0", "k8s.namespace.name": "shop", "k8s.pod.uid": "3c1f-77"}
POD_LABELS = {
    "io.kubernetes.pod.name": "web-0",
    "io.kubernetes.pod.namespace": "shop",
    "io.kubernetes.pod.uid": "3c1f-77",
}


def _sandbox():
    return CRI["PodSandboxConfig"](
        metadata=CRI["PodSandboxMetadata"](name="web-0", namespace="shop", uid="3c1f-77", attempt=1)
    )


CASES = {
    "run pod sandbox": (f"{RUNTIME}/RunPodSandbox", CRI["RunPodSandboxRequest"](config=_sandbox()), POD),
    "create container": (
        f"{RUNTIME}/CreateContainer",
        CRI["CreateContainerRequest"](
            pod_sandbox_id="sb1",
            config=CRI["ContainerConfig"](metadata=CRI["ContainerMetadata"](name="nginx")),
            sandbox_config=_sandbox(),
        ),
        {**POD, "k8s.container.name": "nginx"},
    ),
    "create container, identity only in kubelet's labels": (
        f"{RUNTIME}/CreateContainer",
        CRI["CreateContainerRequest"](
            config=CRI["ContainerConfig"](labels={**POD_LABELS, "io.kubernetes.container.name": "nginx"})
        ),
        {**POD, "k8s.container.name": "nginx"},
    ),
    "pull image for a pod": (
        "/runtime.v1.ImageService/PullImage",
        CRI["PullImageRequest"](image=CRI["ImageSpec"](image="nginx:1"), sandbox_config=_sandbox()),
        POD,
    ),
    "start container carries only its id": (
        f"{RUNTIME}/StartContainer",
        CRI["StartContainerRequest"](container_id="c0ffee"),
        {"container.id": "c0ffee"},
    ),
    "empty request": (f"{RUNTIME}/RunPodSandbox", CRI["RunPodSandboxRequest"](), {}),
    "not a CRI v1 service": (
        "/runtime.v1alpha2.RuntimeService/RunPodSandbox",
        CRI["RunPodSandboxRequest"](config=_sandbox()),
        {},
    ),
    "duck-typed request": (
        f"{RUNTIME}/RunPodSandbox",
        SimpleNamespace(
            config=SimpleNamespace(metadata=SimpleNamespace(name="web-0", namespace="shop", uid="3c1f-77"))
        ),
        POD,
    ),
    "request without the fields": (f"{RUNTIME}/RunPodSandbox", b"opaque", {}),
}


@pytest.mark.parametrize(("method", "request_message", "expected"), CASES.values(), ids=CASES.keys())
def test_cri_attributes(method, request_message, expected):
    assert cri_attributes(method, request_message) == expected


def test_cri_attributes_as_request_attributes_hook_on_client_and_server(recorder):
    request_type, response_type = CRI["RunPodSandboxRequest"], CRI["RunPodSandboxResponse"]
    handler = grpc.unary_unary_rpc_method_handler(
        lambda request, context: response_type(pod_sandbox_id="sb-" + request.config.metadata.name),
        request_deserializer=request_type.FromString,
        response_serializer=response_type.SerializeToString,
    )
    handlers = [grpc.method_handlers_generic_handler("runtime.v1.RuntimeService", {"RunPodSandbox": handler})]
    options = {"request_attributes": cri_attributes}
    with (
        sync_server(handlers, recorder.provider, **options) as target,
        sync_channel(target, recorder.provider, **options) as channel,
    ):
        stub = channel.unary_unary(
            f"{RUNTIME}/RunPodSandbox",
            request_serializer=request_type.SerializeToString,
            response_deserializer=response_type.FromString,
        )
        assert stub(request_type(config=_sandbox())).pod_sandbox_id == "sb-web-0"
    for span in wait_for_spans(recorder, 2):
        assert span.name == "runtime.v1.RuntimeService/RunPodSandbox"
        assert span.kind in (SpanKind.CLIENT, SpanKind.SERVER)
        assert POD.items() <= span.attributes.items()
