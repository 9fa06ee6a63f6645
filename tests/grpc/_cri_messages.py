"""Real protobuf messages shaped like CRI v1 (k8s.io/cri-api runtime/v1 api.proto), built at import
from a descriptor: the field names and numbers the extractor relies on, no generated code to keep."""

from __future__ import annotations

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_F = descriptor_pb2.FieldDescriptorProto
_STRING, _UINT32, _MESSAGE = _F.TYPE_STRING, _F.TYPE_UINT32, _F.TYPE_MESSAGE
_MAP = "map"

# message -> [(field, number, type, message type or None)]
_MESSAGES = {
    "PodSandboxMetadata": [
        ("name", 1, _STRING),
        ("uid", 2, _STRING),
        ("namespace", 3, _STRING),
        ("attempt", 4, _UINT32),
    ],
    "PodSandboxConfig": [
        ("metadata", 1, "PodSandboxMetadata"),
        ("hostname", 2, _STRING),
        ("labels", 6, _MAP),
    ],
    "RunPodSandboxRequest": [("config", 1, "PodSandboxConfig"), ("runtime_handler", 2, _STRING)],
    "RunPodSandboxResponse": [("pod_sandbox_id", 1, _STRING)],
    "ContainerMetadata": [("name", 1, _STRING), ("attempt", 2, _UINT32)],
    "ImageSpec": [("image", 1, _STRING)],
    "ContainerConfig": [("metadata", 1, "ContainerMetadata"), ("image", 2, "ImageSpec"), ("labels", 9, _MAP)],
    "CreateContainerRequest": [
        ("pod_sandbox_id", 1, _STRING),
        ("config", 2, "ContainerConfig"),
        ("sandbox_config", 3, "PodSandboxConfig"),
    ],
    "StartContainerRequest": [("container_id", 1, _STRING)],
    "PullImageRequest": [("image", 1, "ImageSpec"), ("sandbox_config", 3, "PodSandboxConfig")],
}


def _add_field(message: descriptor_pb2.DescriptorProto, name: str, number: int, kind) -> None:
    if kind == _MAP:
        entry = message.nested_type.add(name=f"{name.title()}Entry")
        entry.options.map_entry = True
        entry.field.add(name="key", number=1, type=_STRING, label=_F.LABEL_OPTIONAL)
        entry.field.add(name="value", number=2, type=_STRING, label=_F.LABEL_OPTIONAL)
        type_name = f".runtime.v1.{message.name}.{entry.name}"
        message.field.add(
            name=name, number=number, type=_MESSAGE, label=_F.LABEL_REPEATED, type_name=type_name
        )
    elif isinstance(kind, str):
        message.field.add(
            name=name, number=number, type=_MESSAGE, label=_F.LABEL_OPTIONAL, type_name=f".runtime.v1.{kind}"
        )
    else:
        message.field.add(name=name, number=number, type=kind, label=_F.LABEL_OPTIONAL)


def _build() -> dict[str, type]:
    proto = descriptor_pb2.FileDescriptorProto(
        name="kubetrace_test_cri.proto", package="runtime.v1", syntax="proto3"
    )
    for name, fields in _MESSAGES.items():
        message = proto.message_type.add(name=name)
        for field in fields:
            _add_field(message, *field)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    return {
        name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"runtime.v1.{name}"))
        for name in _MESSAGES
    }


CRI = _build()
