"""The examples behave like what they imitate: the apiserver like kube-apiserver (status codes,
metav1.Status errors, resourceVersion, watch, audit IDs) and the runtime like a CRI runtime."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import time
from pathlib import Path

import grpc
import httpx
import pytest

from kubetrace_cli._demo_stack import Stack

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PODS = "/api/v1/namespaces/default/pods"


def _generated():
    """examples/_generated as a package of its own name, without putting examples/ on sys.path."""
    if "kubetrace_examples_generated" not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            "kubetrace_examples_generated", EXAMPLES / "_generated" / "__init__.py"
        )
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    return importlib.import_module("kubetrace_examples_generated.cri_pb2"), importlib.import_module(
        "kubetrace_examples_generated.cri_pb2_grpc"
    )


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """storage, runtime and apiserver on free loopback ports, tracing switched off."""
    env = {**os.environ, "OTEL_SDK_DISABLED": "true"}
    running = Stack(EXAMPLES, env, tmp_path_factory.mktemp("logs"))
    try:
        deadline = time.monotonic() + 30
        storage = running.start("storage", STORAGE_LISTEN="127.0.0.1:0").expect("LISTENING ", deadline)
        runtime = running.start("runtime", RUNTIME_LISTEN="127.0.0.1:0").expect("LISTENING ", deadline)
        apiserver = running.start("apiserver", APISERVER_LISTEN="127.0.0.1:0", STORAGE_ADDRESS=storage)
        yield {"apiserver": "http://" + apiserver.expect("LISTENING ", deadline), "runtime": runtime}
    finally:
        running.stop()


@pytest.fixture
def api(stack):
    with httpx.Client(base_url=stack["apiserver"], timeout=10) as client:
        yield client


def _pod(name: str, node: str = "node-a") -> dict:
    return {
        "metadata": {"name": name},
        "spec": {"nodeName": node, "containers": [{"name": "c", "image": "busybox"}]},
    }


def test_create_get_and_list_pods(api):
    created = api.post(PODS, json=_pod("web"))
    assert created.status_code == 201
    pod = created.json()
    assert pod["kind"] == "Pod" and pod["apiVersion"] == "v1"
    assert pod["metadata"]["namespace"] == "default" and pod["metadata"]["uid"]
    assert pod["metadata"]["resourceVersion"].isdigit() and pod["status"] == {"phase": "Pending"}
    assert api.get(f"{PODS}/web").json() == pod

    api.post(PODS, json=_pod("db", node="node-b"))
    on_a = api.get("/api/v1/pods", params={"fieldSelector": "spec.nodeName=node-a"}).json()
    assert on_a["kind"] == "PodList" and on_a["metadata"]["resourceVersion"].isdigit()
    assert "web" in [p["metadata"]["name"] for p in on_a["items"]]
    assert "db" not in [p["metadata"]["name"] for p in on_a["items"]]
    not_a = api.get(PODS, params={"fieldSelector": "spec.nodeName!=node-a"}).json()
    assert "db" in [p["metadata"]["name"] for p in not_a["items"]]


@pytest.mark.parametrize(
    ("method", "path", "body", "code", "reason"),
    [
        ("GET", f"{PODS}/missing", None, 404, "NotFound"),
        ("POST", PODS, {"metadata": {}}, 422, "Invalid"),
        ("POST", PODS, "not an object", 400, "BadRequest"),
        ("GET", "/api/v1/pods?fieldSelector=spec.hostIP%3Dx", None, 400, "BadRequest"),
        ("DELETE", f"{PODS}/web", None, 405, "MethodNotAllowed"),
        ("GET", "/api/v1/services", None, 404, "NotFound"),
        ("GET", "/api/v1/pods?fieldSelector=nonsense", None, 400, "BadRequest"),
        ("GET", "/api/v1/pods?watch=true&resourceVersion=abc", None, 400, "BadRequest"),
    ],
    ids=[
        "missing pod",
        "invalid pod",
        "not an object",
        "unsupported field",
        "delete",
        "other resource",
        "bad selector",
        "bad resourceVersion",
    ],
)
def test_errors_are_metav1_status_objects(api, method, path, body, code, reason):
    response = api.request(method, path, json=body)
    assert response.status_code == code
    status = response.json()
    assert (status["kind"], status["status"], status["code"], status["reason"]) == (
        "Status",
        "Failure",
        code,
        reason,
    )
    assert status["message"]


def test_a_second_create_is_already_exists(api):
    assert api.post(PODS, json=_pod("twice")).status_code == 201
    again = api.post(PODS, json=_pod("twice"))
    assert (again.status_code, again.json()["reason"]) == (409, "AlreadyExists")


def test_every_response_carries_an_audit_id(api):
    assert len(api.get(f"{PODS}/missing").headers["Audit-Id"]) == 36
    assert api.get(PODS, headers={"Audit-Id": "from-the-caller"}).headers["Audit-Id"] == "from-the-caller"


def test_status_update_changes_only_the_status_and_checks_resource_version(api):
    pod = api.post(PODS, json=_pod("status")).json()
    pod["status"] = {"phase": "Running"}
    pod["spec"]["nodeName"] = "elsewhere"
    stale = {**pod, "metadata": {**pod["metadata"], "resourceVersion": "1"}}
    conflict = api.put(f"{PODS}/status/status", json=stale)
    assert (conflict.status_code, conflict.json()["reason"]) == (409, "Conflict")

    updated = api.put(f"{PODS}/status/status", json=pod)
    assert updated.status_code == 200
    assert updated.json()["status"] == {"phase": "Running"}
    assert updated.json()["spec"]["nodeName"] == "node-a", "the status subresource changes nothing else"
    assert int(updated.json()["metadata"]["resourceVersion"]) > int(pod["metadata"]["resourceVersion"])


def test_watch_streams_events_from_a_resource_version_until_timeout(api):
    pod = api.post(PODS, json=_pod("watched")).json()
    since = pod["metadata"]["resourceVersion"]
    api.put(f"{PODS}/watched/status", json={**pod, "status": {"phase": "Running"}})
    params = {
        "watch": "1",
        "resourceVersion": since,
        "fieldSelector": "metadata.name=watched",
        "timeoutSeconds": "1",
    }
    started = time.monotonic()
    with api.stream("GET", PODS, params=params) as events:
        lines = [json.loads(line) for line in events.iter_lines() if line]
    assert 0.9 < time.monotonic() - started < 5, "the watch ended at timeoutSeconds"
    assert [(e["type"], e["object"]["status"]["phase"]) for e in lines] == [("MODIFIED", "Running")]


def test_watch_without_resource_version_starts_with_the_current_pods(api):
    api.post(PODS, json=_pod("present", node="node-w"))
    params = {"watch": "true", "fieldSelector": "spec.nodeName=node-w", "timeoutSeconds": "1"}
    with api.stream("GET", "/api/v1/pods", params=params) as events:
        lines = [json.loads(line) for line in events.iter_lines() if line]
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in lines] == [("ADDED", "present")]


def test_runtime_runs_a_pod_the_cri_way(stack):
    cri, cri_grpc = _generated()
    with grpc.insecure_channel(stack["runtime"]) as channel:
        runtime = cri_grpc.RuntimeServiceStub(channel)
        with pytest.raises(grpc.RpcError) as invalid:
            runtime.RunPodSandbox(cri.RunPodSandboxRequest())
        assert invalid.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        with pytest.raises(grpc.RpcError) as unknown:
            runtime.StartContainer(cri.StartContainerRequest(container_id="nope"))
        assert unknown.value.code() == grpc.StatusCode.NOT_FOUND

        sandbox = cri.PodSandboxConfig(metadata=cri.PodSandboxMetadata(name="p", uid="u1", namespace="n"))
        sandbox_id = runtime.RunPodSandbox(cri.RunPodSandboxRequest(config=sandbox)).pod_sandbox_id
        config = cri.ContainerConfig(
            metadata=cri.ContainerMetadata(name="c"),
            image=cri.ImageSpec(image="busybox"),
            labels={"app": "p"},
        )
        request = cri.CreateContainerRequest(pod_sandbox_id=sandbox_id, config=config, sandbox_config=sandbox)
        container_id = runtime.CreateContainer(request).container_id
        assert len(sandbox_id) == len(container_id) == 64
        runtime.StartContainer(cri.StartContainerRequest(container_id=container_id))
        with pytest.raises(grpc.RpcError) as twice:
            runtime.StartContainer(cri.StartContainerRequest(container_id=container_id))
        assert twice.value.code() == grpc.StatusCode.FAILED_PRECONDITION

        status = runtime.ContainerStatus(cri.ContainerStatusRequest(container_id=container_id)).status
        assert status.state == cri.CONTAINER_RUNNING and status.started_at >= status.created_at > 0
        running = cri.ContainerFilter(
            state=cri.ContainerStateValue(state=cri.CONTAINER_RUNNING), label_selector={"app": "p"}
        )
        listed = runtime.ListContainers(cri.ListContainersRequest(filter=running)).containers
        assert [(c.id, c.pod_sandbox_id, c.metadata.name) for c in listed] == [
            (container_id, sandbox_id, "c")
        ]
