"""Carry trace context across the wire and decide whether incoming context is trusted."""

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
from ._trust import TRUST_ALL, TRUST_NONE, Caller, TrustPolicy, trust_callers, trust_policy_named
from ._wire import extract, inject

__all__ = [
    "HEADERS_GETTER",
    "HEADERS_SETTER",
    "METADATA_GETTER",
    "METADATA_SETTER",
    "TRUST_ALL",
    "TRUST_NONE",
    "Caller",
    "HeadersGetter",
    "HeadersSetter",
    "MetadataGetter",
    "MetadataSetter",
    "TrustPolicy",
    "extract",
    "inject",
    "trust_callers",
    "trust_policy_named",
]
