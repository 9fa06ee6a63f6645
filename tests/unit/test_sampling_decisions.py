"""Sampling decisions: deterministic by trace id, rate limited by an injected clock, per operation, with Jaeger's tags."""

from __future__ import annotations

import random

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.sdk.trace.sampling import Decision, TraceIdRatioBased
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, TraceState

from tracing.sampling import OperationSampling, ParentBasedJaegerSampler, Strategy
from tracing.sampling._rate_limiter import RateLimiter
from tracing.sampling._strategy_sampler import StrategySampler

HIGH = 0xABCDEF << 64  # the high 64 bits never matter
HALF = 1 << 63  # the bound for probability 0.5


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _sampler(
    strategy: Strategy, clock: FakeClock | None = None, max_operations: int = 2000
) -> StrategySampler:
    return StrategySampler(strategy, clock=clock or FakeClock(), max_operations=max_operations)


def _sampled(sampler, trace_id: int, name: str = "op", parent=None) -> bool:
    return sampler.should_sample(parent, trace_id, name).decision is Decision.RECORD_AND_SAMPLE


def _parent(sampled: bool = True, state: TraceState | None = None):
    flags = TraceFlags(TraceFlags.SAMPLED if sampled else TraceFlags.DEFAULT)
    context = SpanContext(0x1234, 0x5678, is_remote=True, trace_flags=flags, trace_state=state)
    return trace.set_span_in_context(NonRecordingSpan(context))


@pytest.mark.parametrize(
    ("low_bits", "sampled"),
    [(0, True), (HALF - 1, True), (HALF, False), ((1 << 64) - 1, False)],
    ids=["lowest", "just-below-bound", "at-bound", "highest"],
)
def test_probabilistic_decision_compares_the_low_64_bits_with_the_bound(low_bits, sampled):
    assert _sampled(_sampler(Strategy("probabilistic", 0.5)), HIGH | low_bits) is sampled


@pytest.mark.parametrize("probability", [0.0, 0.001, 0.1, 0.5, 0.999, 1.0])
def test_probabilistic_decisions_equal_the_sdks_trace_id_ratio_based(probability):
    rng = random.Random(probability)
    trace_ids = [rng.getrandbits(128) for _ in range(2000)]
    ours, sdk = _sampler(Strategy("probabilistic", probability)), TraceIdRatioBased(probability)
    assert [_sampled(ours, t) for t in trace_ids] == [_sampled(sdk, t) for t in trace_ids]


def test_sampled_root_spans_carry_jaeger_and_adaptive_sampling_tags_next_to_their_attributes():
    result = _sampler(Strategy("probabilistic", 0.5)).should_sample(None, HIGH, "op", attributes={"k": "v"})
    assert dict(result.attributes) == {
        "k": "v",
        "jaeger.sampler.type": "probabilistic",
        "jaeger.sampler.param": 0.5,
        "sampler.type": "probabilistic",
        "sampler.param": 0.5,
    }
    assert result.trace_state is None


def test_dropped_spans_carry_no_attributes():
    result = _sampler(Strategy("probabilistic", 0.5)).should_sample(
        None, HIGH | HALF, "op", attributes={"k": "v"}
    )
    assert result.decision is Decision.DROP
    assert dict(result.attributes) == {}


def test_child_spans_keep_their_attributes_get_no_tags_and_keep_the_parents_trace_state():
    state = TraceState([("vendor", "value")])
    result = _sampler(Strategy("probabilistic", 1.0)).should_sample(
        _parent(state=state), HIGH, "op", attributes={"k": "v"}
    )
    assert result.decision is Decision.RECORD_AND_SAMPLE
    assert dict(result.attributes) == {"k": "v"}
    assert result.trace_state is state


def test_a_dropped_child_keeps_the_parents_trace_state():
    state = TraceState([("vendor", "value")])
    result = _sampler(Strategy("probabilistic", 0.0)).should_sample(_parent(state=state), HIGH, "op")
    assert result.decision is Decision.DROP
    assert result.trace_state is state


def test_rate_limiting_allows_a_full_bucket_then_refills_with_time():
    clock = FakeClock()
    sampler = _sampler(Strategy("ratelimiting", 2.0), clock)
    assert [_sampled(sampler, HIGH) for _ in range(3)] == [True, True, False]
    clock.now += 0.5
    assert [_sampled(sampler, HIGH) for _ in range(2)] == [True, False]
    clock.now += 10  # idle: the balance is capped at max(rate, 1), not 10 s worth
    assert [_sampled(sampler, HIGH) for _ in range(3)] == [True, True, False]


def test_rate_limited_spans_are_tagged_ratelimiting_with_the_rate():
    result = _sampler(Strategy("ratelimiting", 100.0)).should_sample(None, HIGH, "op")
    assert result.attributes["jaeger.sampler.type"] == "ratelimiting"
    assert result.attributes["sampler.param"] == 100.0


def test_rate_limiting_below_one_per_second_saves_up_to_one_trace():
    clock = FakeClock()
    sampler = _sampler(Strategy("ratelimiting", 0.5), clock)
    assert [_sampled(sampler, HIGH) for _ in range(2)] == [True, False]
    clock.now += 1.9
    assert not _sampled(sampler, HIGH)
    clock.now += 0.1
    assert _sampled(sampler, HIGH)


def test_rate_limiting_zero_never_samples():
    assert not any(_sampled(_sampler(Strategy("ratelimiting", 0.0)), HIGH) for _ in range(3))


def test_rate_limiter_does_not_let_a_burst_after_idle_through_twice():
    clock = FakeClock()
    limiter = RateLimiter(10.0, clock)
    clock.now += 5
    assert sum(limiter.check_credit() for _ in range(25)) == 10


PER_OPERATION = Strategy(
    "probabilistic", 0.5, OperationSampling(0.5, 0.0, (("always", 1.0), ("never", 0.0), ("half", 0.5)))
)


@pytest.mark.parametrize(
    ("name", "low_bits", "sampled", "param"),
    [
        ("always", (1 << 64) - 1, True, 1.0),
        ("never", 0, False, None),
        ("half", HALF - 1, True, 0.5),
        ("half", HALF, False, None),
        ("unlisted", HALF - 1, True, 0.5),
        ("unlisted", HALF, False, None),
    ],
)
def test_per_operation_probabilities_are_chosen_by_span_name(name, low_bits, sampled, param):
    result = _sampler(PER_OPERATION).should_sample(None, HIGH | low_bits, name)
    assert (result.decision is Decision.RECORD_AND_SAMPLE) is sampled
    assert result.attributes.get("sampler.param") == param


def test_lower_bound_samples_an_operation_the_probability_would_drop_and_tags_it_lowerbound():
    clock = FakeClock()
    strategy = Strategy("probabilistic", 0.0, OperationSampling(0.0, 1.0, (("listed", 0.0),)))
    sampler = _sampler(strategy, clock)
    first = sampler.should_sample(None, HIGH, "listed")
    assert first.decision is Decision.RECORD_AND_SAMPLE
    assert (first.attributes["sampler.type"], first.attributes["sampler.param"]) == ("lowerbound", 0.0)
    assert not _sampled(sampler, HIGH, "listed")
    assert _sampled(sampler, HIGH, "unlisted")  # every operation gets its own lower bound
    clock.now += 1.0
    assert _sampled(sampler, HIGH, "listed")


def test_spans_sampled_by_probability_count_towards_the_lower_bound():
    strategy = Strategy("probabilistic", 0.5, OperationSampling(0.5, 1.0, (("op", 0.5),)))
    sampler = _sampler(strategy)
    assert sampler.should_sample(None, HIGH, "op").attributes["sampler.type"] == "probabilistic"
    assert not _sampled(sampler, HIGH | HALF, "op")  # the credit went to the probabilistic sample


def test_operations_beyond_the_cap_get_the_default_probability_without_a_lower_bound():
    strategy = Strategy("probabilistic", 0.0, OperationSampling(0.0, 1.0, ()))
    sampler = _sampler(strategy, max_operations=2)
    assert _sampled(sampler, HIGH, "a")
    assert _sampled(sampler, HIGH, "b")
    assert not _sampled(sampler, HIGH, "c")


def test_rate_limiting_type_with_operation_sampling_samples_per_operation_as_jaegers_clients():
    strategy = Strategy("ratelimiting", 1000.0, OperationSampling(0.0, 0.0, (("op", 1.0),)))
    sampler = _sampler(strategy)
    assert _sampled(sampler, HIGH, "op")
    assert not _sampled(sampler, HIGH, "other")


def test_a_new_strategy_keeps_lower_bound_limiters_of_operations_it_still_lists():
    clock = FakeClock()
    sampler = _sampler(Strategy("probabilistic", 0.0, OperationSampling(0.0, 1.0, (("op", 0.0),))), clock)
    assert _sampled(sampler, HIGH, "op")  # spends the op's credit
    assert sampler._apply(Strategy("probabilistic", 0.0, OperationSampling(0.1, 1.0, (("op", 0.0),))))
    assert not _sampled(sampler, HIGH | HALF, "op")  # no fresh credit from the update


def test_applying_the_strategy_in_force_changes_nothing():
    sampler = _sampler(PER_OPERATION)
    assert not sampler._apply(PER_OPERATION)
    assert sampler._apply(Strategy("probabilistic", 0.25))
    assert sampler.strategy == Strategy("probabilistic", 0.25)


class _FixedIds(IdGenerator):
    def generate_span_id(self) -> int:
        return random.getrandbits(64) or 1

    def generate_trace_id(self) -> int:
        return HIGH  # low 64 bits 0: sampled at any probability above 0


def test_with_the_sdk_only_root_spans_carry_the_sampler_tags():
    exporter = InMemorySpanExporter()
    provider = TracerProvider(
        sampler=ParentBasedJaegerSampler(_sampler(Strategy("probabilistic", 0.01))), id_generator=_FixedIds()
    )
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("root", attributes={"k": "v"}), tracer.start_as_current_span("child"):
        pass
    spans = {span.name: dict(span.attributes) for span in exporter.get_finished_spans()}
    assert spans["root"] == {
        "k": "v",
        "jaeger.sampler.type": "probabilistic",
        "jaeger.sampler.param": 0.01,
        "sampler.type": "probabilistic",
        "sampler.param": 0.01,
    }
    assert spans["child"] == {}
    provider.shutdown()
