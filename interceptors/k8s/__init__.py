"""Kubernetes semantics: API-server request info (verb, resource, namespace, name, subresource),
kubelet/CRI attribute extraction from gRPC requests, and a span per controller reconcile."""

from ._cri import cri_attributes
from ._reconcile import reconciler
from ._requestinfo import RequestInfo, parse_request_info

__all__ = ["RequestInfo", "cri_attributes", "parse_request_info", "reconciler"]
