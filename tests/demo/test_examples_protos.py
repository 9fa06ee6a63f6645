"""The committed gRPC modules of examples/ are what examples/regenerate.sh makes from the protos."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
GENERATED = EXAMPLES / "_generated"
_DESCRIPTOR = re.compile(r"AddSerializedFile\((b'.*?')\)", re.DOTALL)
_METHOD = re.compile(r"'(/[\w.]+/\w+)'")
_IMPORT = re.compile(r"^(from \. )?import (\w+_pb2) as ", re.MULTILINE)


def _descriptor(pb2: Path) -> bytes:
    """The serialized FileDescriptorProto a *_pb2.py module registers: independent of protoc's version."""
    return ast.literal_eval(_DESCRIPTOR.search(pb2.read_text()).group(1))


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory) -> Path:
    """examples/regenerate.sh run on a copy of examples/protos; the _generated directory it fills."""
    copy = tmp_path_factory.mktemp("examples") / "examples"
    shutil.copytree(EXAMPLES / "protos", copy / "protos")
    shutil.copy2(EXAMPLES / "regenerate.sh", copy / "regenerate.sh")
    (copy / "_generated").mkdir()
    proc = subprocess.run(["bash", str(copy / "regenerate.sh")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return copy / "_generated"


@pytest.mark.parametrize("proto", ["storage", "cri"])
def test_committed_modules_match_the_protos(regenerated, proto):
    assert _descriptor(GENERATED / f"{proto}_pb2.py") == _descriptor(regenerated / f"{proto}_pb2.py"), (
        f"examples/_generated/{proto}_pb2.py is stale: run examples/regenerate.sh"
    )
    committed = (GENERATED / f"{proto}_pb2_grpc.py").read_text()
    fresh = (regenerated / f"{proto}_pb2_grpc.py").read_text()
    assert _METHOD.findall(committed) == _METHOD.findall(fresh)
    # Package-relative, so `from _generated import ...` works from any script in examples/.
    assert _IMPORT.findall(committed) == [("from . ", f"{proto}_pb2")] == _IMPORT.findall(fresh)


def test_cri_subset_keeps_the_cri_v1_names_and_numbers():
    from google.protobuf import descriptor_pb2

    proto = descriptor_pb2.FileDescriptorProto.FromString(_descriptor(GENERATED / "cri_pb2.py"))
    assert proto.package == "runtime.v1"
    (service,) = proto.service
    assert service.name == "RuntimeService"
    assert [m.name for m in service.method] == [
        "RunPodSandbox",
        "CreateContainer",
        "StartContainer",
        "ListContainers",
        "ContainerStatus",
    ]
    fields = {(m.name, f.name): f.number for m in proto.message_type for f in m.field}
    # k8s.io/cri-api pkg/apis/runtime/v1/api.proto: what interceptors.k8s.cri_attributes reads.
    for field, number in {
        ("PodSandboxMetadata", "name"): 1,
        ("PodSandboxMetadata", "uid"): 2,
        ("PodSandboxMetadata", "namespace"): 3,
        ("PodSandboxMetadata", "attempt"): 4,
        ("PodSandboxConfig", "metadata"): 1,
        ("PodSandboxConfig", "labels"): 6,
        ("RunPodSandboxRequest", "config"): 1,
        ("RunPodSandboxRequest", "runtime_handler"): 2,
        ("CreateContainerRequest", "pod_sandbox_id"): 1,
        ("CreateContainerRequest", "config"): 2,
        ("CreateContainerRequest", "sandbox_config"): 3,
        ("ContainerConfig", "metadata"): 1,
        ("ContainerConfig", "image"): 2,
        ("ContainerConfig", "labels"): 9,
        ("StartContainerRequest", "container_id"): 1,
        ("ListContainersRequest", "filter"): 1,
        ("ContainerStatusRequest", "container_id"): 1,
        ("ContainerStatusRequest", "verbose"): 2,
        ("ContainerStatus", "started_at"): 5,
    }.items():
        assert fields[field] == number, field
