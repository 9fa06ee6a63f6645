"""Pod and container identity from CRI v1 requests, as span attributes (kubelet's syncPod keys).

Duck-typed over the field names of k8s.io/cri-api runtime/v1 api.proto, so it works on generated
protobuf messages without importing them: RunPodSandboxRequest.config.metadata, CreateContainer's
config.metadata and sandbox_config, PullImage's sandbox_config, and the io.kubernetes.* labels
kubelet puts on every sandbox and container config.
"""

from __future__ import annotations

_CRI_SERVICES = frozenset({"runtime.v1.RuntimeService", "runtime.v1.ImageService"})

_POD_METADATA = (("k8s.pod.name", "name"), ("k8s.namespace.name", "namespace"), ("k8s.pod.uid", "uid"))
_CONTAINER_METADATA = (("k8s.container.name", "name"),)
# kubelet's labels on sandbox and container configs (pkg/kubelet/types/labels.go).
_LABELS = (
    ("k8s.pod.name", "io.kubernetes.pod.name"),
    ("k8s.namespace.name", "io.kubernetes.pod.namespace"),
    ("k8s.pod.uid", "io.kubernetes.pod.uid"),
    ("k8s.container.name", "io.kubernetes.container.name"),
)


def cri_attributes(method_full_name: str, request) -> dict[str, str]:
    """k8s.pod.name, k8s.namespace.name, k8s.pod.uid, k8s.container.name (and container.id) for a
    CRI RuntimeService / ImageService request, as far as it carries them; {} for anything else.

    `method_full_name` is "/runtime.v1.RuntimeService/CreateContainer"; a CallMeta works too, so this
    plugs straight into the gRPC interceptors' request_attributes option.
    """
    full_method = getattr(method_full_name, "full_method", method_full_name)
    service, _, method = full_method.lstrip("/").partition("/")
    if service not in _CRI_SERVICES:
        return {}
    sandbox = _field(request, "config" if method == "RunPodSandbox" else "sandbox_config")
    container = _field(request, "config") if method == "CreateContainer" else None
    found: dict[str, str] = {}
    _copy(found, _field(sandbox, "metadata"), _POD_METADATA)
    _copy(found, _field(container, "metadata"), _CONTAINER_METADATA)
    for config in (container, sandbox):
        _copy(found, _field(config, "labels"), _LABELS, lookup=_label)
    container_id = _field(request, "container_id")
    if isinstance(container_id, str) and container_id:
        found["container.id"] = container_id
    return found


def _field(message, name: str):
    # An unset protobuf submessage reads as an empty one; a field the message lacks raises.
    return getattr(message, name, None) if message is not None else None


def _label(labels, key: str):
    get = getattr(labels, "get", None)
    return get(key) if get is not None else None


def _copy(found: dict[str, str], source, keys, lookup=_field) -> None:
    """Fill attributes not found yet from `source`, skipping empty values (proto3 defaults)."""
    if source is None:
        return
    for attribute, key in keys:
        value = lookup(source, key)
        if attribute not in found and isinstance(value, str) and value:
            found[attribute] = value
