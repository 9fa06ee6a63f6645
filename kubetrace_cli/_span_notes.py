"""What a span's attributes say at a glance, in a few words: the tools' one reader of semantic conventions.

The library records HTTP, gRPC and Kubernetes attributes; this module turns them back into short
notes for a person ("GET 200", "grpc NOT_FOUND", "pod default/nginx"). It knows the attribute names
of the stable HTTP conventions and the older ones Go peers on older otelhttp still send, the RPC
conventions' gRPC status code, and the k8s.* resource attributes; the waterfall only lays notes out.
"""

from __future__ import annotations

import grpc

from .receiver import ReceivedSpan

# The stable HTTP names first, then the older ones.
_HTTP_METHOD = ("http.request.method", "http.method")
_HTTP_STATUS = ("http.response.status_code", "http.status_code")
_GRPC_STATUS = "rpc.grpc.status_code"
_K8S = ("k8s.pod.name", "k8s.namespace.name")
_GRPC_NAMES = {code.value[0]: code.name for code in grpc.StatusCode}


def attribute_notes(span: ReceivedSpan, entered: bool) -> list[str]:
    """The notes `span`'s attributes give, in reading order, empty ones left out.

    `entered`: the span is where the trace enters its process (a root, or a hop from another
    service), so the process's own pod is worth naming when the span names none."""
    attrs = span.attributes
    notes = (_http(attrs), _grpc(attrs), _k8s(span, entered), _error_type(attrs))
    return [note for note in notes if note]


def _http(attrs: dict[str, object]) -> str:
    parts = (_first(attrs, _HTTP_METHOD), _first(attrs, _HTTP_STATUS))
    return " ".join(str(part) for part in parts if part is not None)


def _grpc(attrs: dict[str, object]) -> str:
    # OK is what no error mark already says; any other code is worth a glance even when the span is
    # not an error (a server's NOT_FOUND is the caller's problem, per the semantic conventions).
    code = attrs.get(_GRPC_STATUS)
    return "" if code is None or code == 0 else f"grpc {_grpc_name(code)}"


def _k8s(span: ReceivedSpan, entered: bool) -> str:
    """Where the work ran: the pod the span names, else its process's pod where the trace enters it."""
    if any(key in span.attributes for key in _K8S):
        source = span.attributes
    else:
        source = span.resource if entered else {}
    pod, namespace = source.get("k8s.pod.name"), source.get("k8s.namespace.name")
    if pod is not None:
        return f"pod {namespace}/{pod}" if namespace is not None else f"pod {pod}"
    return "" if namespace is None else f"ns {namespace}"


def _error_type(attrs: dict[str, object]) -> str:
    # error.type often repeats the status already noted ("NOT_FOUND", "500"): say it only when new.
    value = attrs.get("error.type")
    echoes = {_grpc_name(attrs.get(_GRPC_STATUS)), str(_first(attrs, _HTTP_STATUS))}
    return "" if value is None or str(value) in echoes else f"error.type {value}"


def _first(attrs: dict[str, object], keys: tuple[str, ...]) -> object:
    return next((attrs[k] for k in keys if attrs.get(k) is not None), None)


def _grpc_name(code: object) -> str:
    return _GRPC_NAMES.get(code, str(code)) if isinstance(code, int) else str(code)
