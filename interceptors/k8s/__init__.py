"""Kubernetes semantics: API-server request info (verb, resource, namespace, name, subresource)
and kubelet/CRI attribute extraction from gRPC requests."""

from ._cri import cri_attributes
from ._requestinfo import RequestInfo, parse_request_info

__all__ = ["RequestInfo", "cri_attributes", "parse_request_info"]
