"""kube-apiserver's request semantics on HTTP spans: request-info names and attributes, and audit-id.

They apply to Kubernetes API requests: paths under /api and /apis, what kube-apiserver and aggregated
API servers serve. Span names follow k8s.io/apiserver/pkg/endpoints/filters/traces.go
(`GET /api/v1/namespaces/{:namespace}/pods/{:name}` for a resource request); the request info is
recorded under `k8s.request.*` (empty fields left out); the audit ID comes from the Audit-Id request
header or is generated, is echoed in the response, and is recorded as kube-apiserver records it, as
`audit-id` (truncated to 64 characters).
"""

from __future__ import annotations

from random import getrandbits

from ..k8s import RequestInfo

VERB = "k8s.request.verb"
API_GROUP = "k8s.request.api_group"
API_VERSION = "k8s.request.api_version"
RESOURCE = "k8s.request.resource"
SUBRESOURCE = "k8s.request.subresource"
NAMESPACE = "k8s.request.namespace"
NAME = "k8s.request.name"
AUDIT_ID = "audit-id"
AUDIT_ID_HEADER = "Audit-Id"  # as Go's http.Header canonicalises kube-apiserver's "Audit-ID"
_MAX_AUDIT_ID = 64  # audit.GetAuditIDTruncated
_API_ROOTS = frozenset({"/api", "/apis", "/api/", "/apis/"})
_API_PREFIXES = ("/api/", "/apis/")
# uuid4 layout: version nibble 4, variant bits 10.
_UUID4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_UUID4_SET = (0x4000 << 64) | (0x8000 << 48)


def is_api_request(path: str) -> bool:
    return path.startswith(_API_PREFIXES) or path in _API_ROOTS


def put_request_info(attributes: dict[str, object], info: RequestInfo) -> None:
    """The request info as `k8s.request.*` attributes; fields the path does not have are left out."""
    attributes[VERB] = info.verb
    attributes[API_VERSION] = info.api_version
    attributes[RESOURCE] = info.resource
    if info.api_group:
        attributes[API_GROUP] = info.api_group
    if info.subresource:
        attributes[SUBRESOURCE] = info.subresource
    if info.namespace:
        attributes[NAMESPACE] = info.namespace
    if info.name:
        attributes[NAME] = info.name


def new_audit_id() -> str:
    """A random (version 4) UUID, as kube-apiserver generates one for a request that brings none.

    Audit IDs correlate, they do not protect anything: the SDK's own id source is good enough, and
    a fraction of the cost of uuid.uuid4() on every request.
    """
    n = getrandbits(128) & _UUID4_CLEAR | _UUID4_SET
    h = f"{n:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def audit_attribute(audit_id: str) -> str:
    return audit_id[:_MAX_AUDIT_ID]
