"""Kubernetes object annotations carry trace context from a writer to a watcher."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from opentelemetry import baggage, propagate, trace
from opentelemetry.trace import Link

import tracing
from tracing.propagation import (
    ANNOTATIONS_GETTER,
    extract_from_object,
    inject_into_object,
    link_from_object,
)

VALID = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def _pod(**metadata) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web", "namespace": "default", **metadata},
    }


def _span_context(context):
    return trace.get_current_span(context).get_span_context()


def test_injection_writes_prefixed_annotations_and_creates_missing_maps(recorder):
    obj: dict = {"kind": "Pod"}
    with recorder.provider.get_tracer("t").start_as_current_span("create") as span:
        inject_into_object(obj)
    sc = span.get_span_context()
    assert list(obj["metadata"]["annotations"]) == ["kubetrace.io/traceparent"]
    assert obj["metadata"]["annotations"]["kubetrace.io/traceparent"].startswith(
        f"00-{sc.trace_id:032x}-{sc.span_id:016x}-"
    )


def test_a_watcher_continues_the_trace_after_a_json_round_trip(recorder):
    tracer = recorder.provider.get_tracer("t")
    obj = _pod(annotations={"owner": "team-a"})
    with tracer.start_as_current_span("apiserver.create") as writer:
        inject_into_object(obj, context=baggage.set_baggage("tenant", "acme"))
    watched = json.loads(json.dumps(obj))  # what a watch event delivers
    with tracer.start_as_current_span("reconcile", context=extract_from_object(watched)) as reconcile:
        pass
    assert reconcile.parent.span_id == writer.get_span_context().span_id
    assert reconcile.get_span_context().trace_id == writer.get_span_context().trace_id
    assert baggage.get_baggage("tenant", extract_from_object(watched)) == "acme"
    assert watched["metadata"]["annotations"]["owner"] == "team-a"


def test_a_watcher_can_link_instead_of_continuing(recorder):
    tracer = recorder.provider.get_tracer("t")
    obj = _pod()
    with tracer.start_as_current_span("apiserver.update") as writer:
        inject_into_object(obj)
    link = link_from_object(json.loads(json.dumps(obj)), {"k8s.event": "MODIFIED"})
    assert isinstance(link, Link)
    assert link.context.span_id == writer.get_span_context().span_id
    assert link.context.is_remote
    assert dict(link.attributes) == {"k8s.event": "MODIFIED"}
    with tracer.start_as_current_span(
        "reconcile", context=trace.set_span_in_context(trace.INVALID_SPAN), links=[link]
    ) as own:
        pass
    assert own.parent is None and own.get_span_context().trace_id != writer.get_span_context().trace_id


def test_client_model_objects_are_supported_by_duck_typing(recorder):
    model = SimpleNamespace(metadata=SimpleNamespace(name="web", annotations=None))
    with recorder.provider.get_tracer("t").start_as_current_span("create") as span:
        inject_into_object(model)
    assert isinstance(model.metadata.annotations, dict)
    assert _span_context(extract_from_object(model)).span_id == span.get_span_context().span_id


def test_an_earlier_injection_is_replaced_so_no_stale_state_survives():
    obj = _pod(
        annotations={"kubetrace.io/traceparent": VALID, "kubetrace.io/tracestate": "old=1", "keep": "me"}
    )
    context = tracing.propagation.extract(
        {"traceparent": VALID.replace("00f067aa0ba902b7", "1111111111111111")},
        tracing.propagation.HEADERS_GETTER,
    )
    inject_into_object(obj, context=context)
    assert obj["metadata"]["annotations"] == {
        "keep": "me",
        "kubetrace.io/traceparent": VALID.replace("00f067aa0ba902b7", "1111111111111111"),
    }
    inject_into_object(obj, context=trace.set_span_in_context(trace.INVALID_SPAN))
    assert obj["metadata"]["annotations"] == {"keep": "me"}


def test_other_propagators_write_their_own_keys_under_the_prefix(recorder):
    propagate.set_global_textmap(tracing.build_propagator(("b3multi",)))
    obj = _pod()
    with recorder.provider.get_tracer("t").start_as_current_span("create") as span:
        inject_into_object(obj)
    assert sorted(obj["metadata"]["annotations"]) == [
        "kubetrace.io/x-b3-sampled",
        "kubetrace.io/x-b3-spanid",
        "kubetrace.io/x-b3-traceid",
    ]
    assert sorted(ANNOTATIONS_GETTER.keys(obj["metadata"]["annotations"])) == [
        "x-b3-sampled",
        "x-b3-spanid",
        "x-b3-traceid",
    ]
    assert _span_context(extract_from_object(obj)).span_id == span.get_span_context().span_id


HOSTILE = [
    None,
    "a string",
    42,
    [],
    {"metadata": "not a map"},
    {"metadata": ["list"]},
    {"metadata": {"annotations": "not a map"}},
    {"metadata": {"annotations": ["kubetrace.io/traceparent", VALID]}},
    {"metadata": {"annotations": {"kubetrace.io/traceparent": 12345}}},
    {"metadata": {"annotations": {"kubetrace.io/traceparent": [VALID]}}},
    {"metadata": {"annotations": {"kubetrace.io/traceparent": None}}},
    {"metadata": {"annotations": {"kubetrace.io/traceparent": "garbage"}}},
    {"metadata": {"annotations": {"kubetrace.io/traceparent": VALID + " " * 10_000}}},
    {"metadata": {"annotations": {7: VALID, None: VALID}}},
    SimpleNamespace(metadata="nope"),
    SimpleNamespace(metadata=SimpleNamespace(annotations=3)),
]


@pytest.mark.parametrize("obj", HOSTILE, ids=lambda o: repr(o)[:60])
def test_hostile_objects_never_raise_and_carry_no_context(obj):
    assert not _span_context(extract_from_object(obj)).is_valid
    assert link_from_object(obj) is None


def test_an_oversize_annotation_is_ignored_without_losing_the_valid_ones():
    obj = _pod(annotations={"kubetrace.io/traceparent": VALID, "kubetrace.io/baggage": "k=" + "v" * 100_000})
    context = extract_from_object(obj)
    assert _span_context(context).span_id == 0x00F067AA0BA902B7
    assert dict(baggage.get_all(context)) == {}


@pytest.mark.parametrize("obj", HOSTILE[:8] + HOSTILE[-2:], ids=lambda o: repr(o)[:60])
def test_injecting_into_an_object_that_cannot_hold_annotations_leaves_it_unchanged(recorder, obj):
    before = repr(obj)
    with recorder.provider.get_tracer("t").start_as_current_span("create"):
        inject_into_object(obj)
    assert repr(obj) == before


def test_missing_metadata_is_created_on_a_dict_but_never_invented_on_a_model():
    model = SimpleNamespace(metadata=None)
    inject_into_object(
        model, context=tracing.propagation.extract({"traceparent": VALID}, tracing.propagation.HEADERS_GETTER)
    )
    assert model.metadata is None
    obj = {"metadata": None}
    inject_into_object(
        obj, context=tracing.propagation.extract({"traceparent": VALID}, tracing.propagation.HEADERS_GETTER)
    )
    assert obj == {"metadata": {"annotations": {"kubetrace.io/traceparent": VALID}}}
