"""SpanStarter decides before building a span; what it returns must equal what the SDK would build."""

from __future__ import annotations

import pytest
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    ALWAYS_ON,
    Decision,
    ParentBased,
    ParentBasedTraceIdRatio,
    Sampler,
    SamplingResult,
    StaticSampler,
    TraceIdRatioBased,
)
from opentelemetry.trace import (
    INVALID_SPAN_CONTEXT,
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    TraceFlags,
    TraceState,
)
from testkit.ids import CountingIds

from tracing._decisions import LOW_64, bound_for, sampler_bounds
from tracing._starter import SpanStarter


class _RecordOnly(Sampler):
    """RECORD_ONLY with extra attributes and a trace state edit, to cover every field of a decision."""

    def should_sample(
        self, parent_context, trace_id, name, kind=None, attributes=None, links=None, trace_state=None
    ):
        state = trace.get_current_span(parent_context).get_span_context().trace_state.add("k8s", "1")
        return SamplingResult(Decision.RECORD_ONLY, {"sampler.type": "test"}, state)

    def get_description(self) -> str:
        return "record-only"


SAMPLERS = {
    "always_on": ALWAYS_ON,
    "always_off": ALWAYS_OFF,
    "ratio_half": TraceIdRatioBased(0.5),
    "parentbased_ratio_0": ParentBased(TraceIdRatioBased(0.0)),
    "parentbased_always_on": ParentBased(ALWAYS_ON),
    "record_only": _RecordOnly(),
    "parentbased_traceidratio_0.3": ParentBasedTraceIdRatio(0.3),
    "parentbased_inverted": ParentBased(
        TraceIdRatioBased(0.7),
        remote_parent_sampled=ALWAYS_OFF,
        remote_parent_not_sampled=TraceIdRatioBased(0.5),
        local_parent_sampled=ALWAYS_OFF,
        local_parent_not_sampled=ALWAYS_ON,
    ),
    "parentbased_custom_root": ParentBased(_RecordOnly()),
}
PARENTS = {
    "root": None,
    "sampled_remote": SpanContext(0xABC, 0xDEF, True, TraceFlags(1), TraceState([("vendor", "x")])),
    "unsampled_remote": SpanContext(0xABC, 0xDEF, True, TraceFlags(0)),
    "sampled_local": SpanContext(0xABC, 0xDEF, False, TraceFlags(1)),
    "unsampled_local_with_state": SpanContext(0xABC, 0xDEF, False, TraceFlags(0), TraceState([("a", "1")])),
    "random_flag_remote": SpanContext(0x1234_5678_9ABC_DEF0_FEDC_BA98, 0xDEF, True, TraceFlags(3)),
    "invalid": SpanContext(0, 0, True, TraceFlags(1)),
}


def _view(span):
    ctx = span.get_span_context()
    attrs = dict(span.attributes) if span.is_recording() else None
    return (ctx.trace_id, ctx.span_id, int(ctx.trace_flags), str(ctx.trace_state), span.is_recording(), attrs)


@pytest.mark.parametrize("parent", sorted(PARENTS))
@pytest.mark.parametrize("sampler", sorted(SAMPLERS))
def test_starter_builds_exactly_what_the_sdk_builds(sampler, parent):
    sdk = TracerProvider(sampler=SAMPLERS[sampler], id_generator=CountingIds(), shutdown_on_exit=False)
    ours = TracerProvider(sampler=SAMPLERS[sampler], id_generator=CountingIds(), shutdown_on_exit=False)
    parent_ctx = trace.set_span_in_context(NonRecordingSpan(PARENTS[parent])) if PARENTS[parent] else None
    starter = SpanStarter("kubetrace-test", tracer_provider=ours)
    for _ in range(20):  # enough roots for the ratio sampler to go both ways
        expected = sdk.get_tracer("kubetrace-test").start_span("op", parent_ctx, SpanKind.SERVER, {"a": 1})
        got = starter.start("op", parent_ctx, SpanKind.SERVER, {"a": 1})
        assert _view(got) == _view(expected)
        expected.end()
        got.end()


def test_unsampled_spans_are_not_sdk_spans():
    provider = TracerProvider(sampler=ALWAYS_OFF, shutdown_on_exit=False)
    span = SpanStarter("t", tracer_provider=provider).start("op", None, SpanKind.CLIENT)
    assert type(span) is NonRecordingSpan
    assert span.get_span_context().is_valid


def test_the_sampler_is_asked_once_per_span():
    calls = []

    class Counting(Sampler):
        def should_sample(self, *args, **kwargs):
            calls.append(args[2])
            return ALWAYS_ON.should_sample(*args, **kwargs)

        def get_description(self):
            return "counting"

    provider = TracerProvider(sampler=Counting(), shutdown_on_exit=False)
    SpanStarter("t", tracer_provider=provider).start("op", None, SpanKind.SERVER).end()
    assert calls == ["op"]


def test_other_tracers_of_the_same_provider_are_unaffected():
    provider = TracerProvider(sampler=ALWAYS_ON, shutdown_on_exit=False)
    SpanStarter("kubetrace", tracer_provider=provider).start("op", None, SpanKind.SERVER).end()
    other = provider.get_tracer("someone-else").start_span("theirs")
    assert other.is_recording()
    other.end()


def test_follows_the_global_provider_when_it_changes(monkeypatch):
    first = TracerProvider(sampler=ALWAYS_OFF, shutdown_on_exit=False)
    second = TracerProvider(sampler=ALWAYS_ON, shutdown_on_exit=False)
    starter = SpanStarter("t")
    # The global as set_tracer_provider() sets it (set once per process, so set here directly), which
    # get_tracer_provider() returns and the starter reads on every call.
    monkeypatch.setattr(trace, "_TRACER_PROVIDER", None)
    assert starter.decide(INVALID_SPAN_CONTEXT) is None  # the API's proxy provider: nothing to decide
    monkeypatch.setattr(trace, "_TRACER_PROVIDER", first)
    assert not starter.start("op", None, SpanKind.SERVER).is_recording()
    assert starter.decide(INVALID_SPAN_CONTEXT).__class__ is SpanContext
    monkeypatch.setattr(trace, "_TRACER_PROVIDER", second)
    assert starter.start("op", None, SpanKind.SERVER).is_recording()
    assert isinstance(starter.decide(INVALID_SPAN_CONTEXT), int)


@pytest.mark.parametrize("parent", sorted(p for p in PARENTS if PARENTS[p]))
def test_the_current_span_is_the_parent_when_none_is_given(parent):
    sdk = TracerProvider(sampler=ParentBased(ALWAYS_OFF), id_generator=CountingIds(), shutdown_on_exit=False)
    ours = TracerProvider(sampler=ParentBased(ALWAYS_OFF), id_generator=CountingIds(), shutdown_on_exit=False)
    starter = SpanStarter("kubetrace-test", tracer_provider=ours)
    with trace.use_span(NonRecordingSpan(PARENTS[parent])):
        expected = sdk.get_tracer("kubetrace-test").start_span("op", None, SpanKind.CLIENT)
        got = starter.start("op", None, SpanKind.CLIENT)
    assert _view(got) == _view(expected)


class _RatioSubclass(TraceIdRatioBased):
    def should_sample(self, *args, **kwargs):
        return ALWAYS_ON.should_sample(*args, **kwargs)


@pytest.mark.parametrize(
    "sampler",
    [
        _RecordOnly(),
        _RatioSubclass(0.0),
        StaticSampler(Decision.RECORD_ONLY),
        ParentBased(_RecordOnly()),
        ParentBased(ALWAYS_ON, ALWAYS_ON, _RecordOnly()),
        ParentBased(ParentBased(ALWAYS_ON)),
    ],
    ids=[
        "custom",
        "subclass",
        "static_record_only",
        "parentbased_custom_root",
        "parentbased_custom_delegate",
        "nested",
    ],
)
def test_only_the_sdks_own_samplers_are_reduced_to_bounds(sampler):
    assert sampler_bounds(sampler) is None


@pytest.mark.parametrize("sampler", sorted(s for s in SAMPLERS if sampler_bounds(SAMPLERS[s]) is not None))
@pytest.mark.parametrize("parent", sorted(PARENTS))
def test_bounds_decide_as_should_sample_does(sampler, parent):
    bounds = sampler_bounds(SAMPLERS[sampler])
    parent_ctx = trace.set_span_in_context(NonRecordingSpan(PARENTS[parent])) if PARENTS[parent] else None
    parent_span = trace.get_current_span(parent_ctx).get_span_context()
    for trace_id in (
        1,
        2**63 - 1,
        2**63,
        2**64 - 1,
        0xABC,
        2**127 + 5,
        *range(10**18, 10**18 + 2**60, 2**56),
    ):
        expected = SAMPLERS[sampler].should_sample(parent_ctx, trace_id, "op").decision
        sampled = trace_id & LOW_64 < bound_for(bounds, parent_span)
        assert (Decision.RECORD_AND_SAMPLE if sampled else Decision.DROP) is expected


@pytest.mark.parametrize("parent", sorted(PARENTS))
@pytest.mark.parametrize("sampler", sorted(SAMPLERS))
def test_decide_then_start_builds_exactly_what_the_sdk_builds(sampler, parent):
    """The interceptors' path: decide() first, NonRecordingSpan(its answer) when not sampled, else
    start() with the trace id it decided on. Same spans as the SDK's, same ids in the same order."""
    sdk = TracerProvider(sampler=SAMPLERS[sampler], id_generator=CountingIds(), shutdown_on_exit=False)
    ours = TracerProvider(sampler=SAMPLERS[sampler], id_generator=CountingIds(), shutdown_on_exit=False)
    parent_span = NonRecordingSpan(PARENTS[parent]) if PARENTS[parent] else None
    parent_ctx = trace.set_span_in_context(parent_span) if parent_span else None
    starter = SpanStarter("kubetrace-test", tracer_provider=ours)
    answers = set()
    for _ in range(20):
        expected = sdk.get_tracer("kubetrace-test").start_span("op", parent_ctx, SpanKind.SERVER, {"a": 1})
        decided = starter.decide(trace.get_current_span(parent_ctx).get_span_context())
        answers.add(type(decided))
        if isinstance(decided, SpanContext):
            got = NonRecordingSpan(decided)
        else:
            got = starter.start("op", parent_ctx, SpanKind.SERVER, {"a": 1}, trace_id=decided)
        assert _view(got) == _view(expected)
        expected.end()
        got.end()
    if sampler_bounds(SAMPLERS[sampler]) is not None:  # decided here
        assert answers <= {SpanContext, int}
    else:  # left to start(), which asks the sampler
        assert answers == {type(None)}


def test_decide_answers_for_a_root_once():
    """A sampled root's trace id goes to start(): the decision is not made again on a new id."""
    provider = TracerProvider(sampler=TraceIdRatioBased(0.5), shutdown_on_exit=False)
    starter = SpanStarter("t", tracer_provider=provider)
    sampled = 0
    for _ in range(400):
        decided = starter.decide(trace.INVALID_SPAN_CONTEXT)
        if isinstance(decided, int):
            span = starter.start("op", None, SpanKind.CLIENT, trace_id=decided)
            assert span.is_recording() and span.get_span_context().trace_id == decided
            span.end()
            sampled += 1
    assert 140 < sampled < 260  # half of 400, within 6 standard deviations


def test_decide_leaves_other_providers_to_start():
    starter = SpanStarter("t", tracer_provider=trace.NoOpTracerProvider())
    assert starter.decide(trace.INVALID_SPAN_CONTEXT) is None


@pytest.mark.parametrize("parent", sorted(PARENTS))
@pytest.mark.parametrize("sampler", sorted(s for s in SAMPLERS if sampler_bounds(SAMPLERS[s]) is not None))
def test_decide_reads_a_context_as_its_spans_context(sampler, parent):
    """decide(context) is decide(the span context of context's span): the client's one call."""
    by_context = SpanStarter(
        "t",
        tracer_provider=TracerProvider(
            sampler=SAMPLERS[sampler], id_generator=CountingIds(), shutdown_on_exit=False
        ),
    )
    by_span = SpanStarter(
        "t",
        tracer_provider=TracerProvider(
            sampler=SAMPLERS[sampler], id_generator=CountingIds(), shutdown_on_exit=False
        ),
    )
    context = trace.set_span_in_context(NonRecordingSpan(PARENTS[parent])) if PARENTS[parent] else Context()
    for _ in range(10):
        assert by_context.decide(context) == by_span.decide(
            trace.get_current_span(context).get_span_context()
        )
