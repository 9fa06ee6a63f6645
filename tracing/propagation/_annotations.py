"""Kubernetes object annotations as a trace-context carrier.

A client that creates or updates an object writes its context into the object's annotations
(`kubetrace.io/traceparent`, `kubetrace.io/tracestate`, `kubetrace.io/baggage`, or whatever keys the
configured propagators use); a controller or kubelet that later picks the object up from a watch
reads it back, to continue that trace or, more often, to link its own new trace to it.

Objects are plain dicts (JSON/YAML as the API server returns them) or kubernetes-client models
(`obj.metadata.annotations`). Anyone who can write the object can write these annotations, so
whatever is found there is treated like a network header: malformed, oversize or mistyped values
are ignored, never raised.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, MutableMapping

from opentelemetry import trace as trace_api
from opentelemetry.context import Context
from opentelemetry.propagators.textmap import Getter, Setter
from opentelemetry.trace import Link
from opentelemetry.util.types import Attributes

from ._textmap import extract, inject

ANNOTATION_PREFIX = "kubetrace.io/"
# W3C Baggage's whole-header limit, the largest legitimate value any propagator writes; anything
# longer is someone else's data or an attack, and is not worth parsing.
_MAX_VALUE_LENGTH = 8192

_log = logging.getLogger("kubetrace.propagation")
_EMPTY = Context()


class AnnotationsGetter(Getter[Mapping[str, object]]):
    """Reads propagator key `k` from annotation `kubetrace.io/k`."""

    def get(self, carrier: Mapping[str, object], key: str) -> list[str] | None:
        value = carrier.get(ANNOTATION_PREFIX + key)
        if isinstance(value, str) and len(value) <= _MAX_VALUE_LENGTH:
            return [value]
        return None

    def keys(self, carrier: Mapping[str, object]) -> list[str]:
        return [k[len(ANNOTATION_PREFIX) :] for k in carrier if _is_ours(k)]


class AnnotationsSetter(Setter[MutableMapping[str, str]]):
    def set(self, carrier: MutableMapping[str, str], key: str, value: str) -> None:
        carrier[ANNOTATION_PREFIX + key] = value


ANNOTATIONS_GETTER = AnnotationsGetter()
ANNOTATIONS_SETTER = AnnotationsSetter()


def inject_into_object(obj: object, context: Context | None = None) -> None:
    """Write the current (or given) trace context into a Kubernetes object's annotations.

    Creates `metadata` and `metadata.annotations` in a dict object when missing. Annotations from an
    earlier injection are replaced, so an updated object never carries a stale trace state.
    An object whose metadata cannot hold annotations is left unchanged.
    """
    annotations = _annotations(obj, create=True)
    if not isinstance(annotations, MutableMapping):
        _log.debug(
            "kubetrace: %s has no writable metadata.annotations; trace context not injected", type(obj)
        )
        return
    for key in [k for k in annotations if _is_ours(k)]:
        del annotations[key]
    inject(annotations, ANNOTATIONS_SETTER, context)


def object_annotations(obj: object) -> Mapping[str, object]:
    """A Kubernetes object's annotations, the carrier ANNOTATIONS_GETTER reads ({} when it has none)."""
    annotations = _annotations(obj, create=False)
    return annotations if isinstance(annotations, Mapping) else {}


def extract_from_object(obj: object, context: Context | None = None) -> Context:
    """The trace context in a Kubernetes object's annotations, or `context` (default: empty) if none."""
    annotations = _annotations(obj, create=False)
    if not isinstance(annotations, Mapping):
        return _EMPTY if context is None else context
    return extract(annotations, ANNOTATIONS_GETTER, context)


def link_from_object(obj: object, attributes: Attributes = None) -> Link | None:
    """A span link to the trace recorded on the object, or None.

    For a controller, the object's writer is usually not the parent of its reconcile: a link keeps
    each reconcile its own trace while still leading to the request that changed the object.
    """
    span_context = trace_api.get_current_span(extract_from_object(obj)).get_span_context()
    return Link(span_context, attributes) if span_context.is_valid else None


def _annotations(obj: object, create: bool) -> object:
    if isinstance(obj, Mapping):
        metadata = obj.get("metadata")
        if metadata is None and create and isinstance(obj, MutableMapping):
            metadata = obj["metadata"] = {}
    else:
        # A model object's metadata is a typed V1ObjectMeta; we never invent one.
        metadata = getattr(obj, "metadata", None)
    if isinstance(metadata, Mapping):
        annotations = metadata.get("annotations")
        if annotations is None and create and isinstance(metadata, MutableMapping):
            annotations = metadata["annotations"] = {}
    else:
        annotations = getattr(metadata, "annotations", None)
        if annotations is None and create and metadata is not None and hasattr(metadata, "annotations"):
            annotations = {}
            metadata.annotations = annotations
    return annotations


def _is_ours(key: object) -> bool:
    return isinstance(key, str) and key.startswith(ANNOTATION_PREFIX)
