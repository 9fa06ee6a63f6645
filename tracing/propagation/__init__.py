"""Carry trace context across the wire, processes, threads and Kubernetes objects, and decide whether
incoming context is trusted."""

from ._annotations import (
    ANNOTATION_PREFIX,
    ANNOTATIONS_GETTER,
    ANNOTATIONS_SETTER,
    extract_from_object,
    inject_into_object,
    link_from_object,
    object_annotations,
)
from ._baggage import baggage_items, get_baggage, set_baggage
from ._carriers import (
    HEADERS_GETTER,
    HEADERS_SETTER,
    METADATA_GETTER,
    METADATA_SETTER,
    HeadersGetter,
    HeadersSetter,
    MetadataGetter,
    MetadataSetter,
)
from ._environment import (
    ENVIRONMENT_GETTER,
    ENVIRONMENT_SETTER,
    context_from_environment,
    environment_for_child,
)
from ._executors import ContextExecutor, context_thread, run_in_executor, wrap
from ._metadata_w3c import extract_metadata
from ._textmap import extract, inject
from ._trust import (
    CONFIGURED_TRUST,
    TRUST_ALL,
    TRUST_NONE,
    Caller,
    TrustPolicy,
    trust_callers,
    trust_policy_named,
)

__all__ = [
    "ANNOTATIONS_GETTER",
    "ANNOTATIONS_SETTER",
    "ANNOTATION_PREFIX",
    "CONFIGURED_TRUST",
    "ENVIRONMENT_GETTER",
    "ENVIRONMENT_SETTER",
    "HEADERS_GETTER",
    "HEADERS_SETTER",
    "METADATA_GETTER",
    "METADATA_SETTER",
    "TRUST_ALL",
    "TRUST_NONE",
    "Caller",
    "ContextExecutor",
    "HeadersGetter",
    "HeadersSetter",
    "MetadataGetter",
    "MetadataSetter",
    "TrustPolicy",
    "baggage_items",
    "context_from_environment",
    "context_thread",
    "environment_for_child",
    "extract",
    "extract_from_object",
    "extract_metadata",
    "get_baggage",
    "inject",
    "inject_into_object",
    "link_from_object",
    "object_annotations",
    "run_in_executor",
    "set_baggage",
    "trust_callers",
    "trust_policy_named",
    "wrap",
]
