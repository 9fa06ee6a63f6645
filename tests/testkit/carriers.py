"""The same trace-context fields through every carrier kubetrace reads context from.

Each carrier takes the fields as (name, value) pairs (a name may repeat) and returns the context the
configured propagators extract. Carriers that hold one value per name get repeated fields joined by
", ", as an HTTP server hands them over.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from opentelemetry.context import Context

from tracing.propagation import (
    ANNOTATION_PREFIX,
    HEADERS_GETTER,
    METADATA_GETTER,
    context_from_environment,
    extract,
    extract_from_object,
    extract_metadata,
)
from tracing.propagation._environment import variable_name

Fields = Sequence[tuple[str, object]]


def _joined(fields: Fields, name: Callable[[str], str] = str) -> dict[str, object]:
    joined: dict[str, object] = {}
    for key, value in fields:
        key = name(key)
        if key in joined and isinstance(joined[key], str) and isinstance(value, str):
            joined[key] = f"{joined[key]}, {value}"
        else:
            joined.setdefault(key, value)
    return joined


def http_headers(fields: Fields) -> Context:
    return extract(_joined(fields), HEADERS_GETTER)


def grpc_metadata(fields: Fields) -> Context:
    """Through the one-pass read gRPC servers use (which defers to the propagators when it must)."""
    return extract_metadata(list(fields))


def grpc_metadata_generic(fields: Fields) -> Context:
    return extract(list(fields), METADATA_GETTER)


def k8s_annotations(fields: Fields) -> Context:
    annotations = _joined(fields, lambda key: ANNOTATION_PREFIX + key)
    return extract_from_object({"metadata": {"annotations": annotations}})


def environment(fields: Fields) -> Context:
    return context_from_environment(_joined(fields, variable_name))


CARRIERS: dict[str, Callable[[Fields], Context]] = {
    "http headers": http_headers,
    "grpc metadata": grpc_metadata,
    "grpc metadata, generic": grpc_metadata_generic,
    "k8s annotations": k8s_annotations,
    "environment": environment,
}
