"""Our Jaeger remote sampler follows the strategies real Jaeger's remote_sampling extension serves."""

from __future__ import annotations

import pytest
from backends import run_jaeger
from opentelemetry import trace
from opentelemetry.sdk._configuration import _get_sampler, _import_sampler
from opentelemetry.sdk.trace.sampling import Decision

import tracing
from tracing.sampling import JaegerRemoteSampler

pytestmark = pytest.mark.e2e

# Trace ids whose low 64 bits sit at the two ends of the range: a probability strictly between
# 0 and 1 samples the first and never the second; 1.0 samples both, 0.0 neither.
LOW_ID = 0x0000_0000_0000_0000_0000_0000_0000_0001
HIGH_ID = 0x0000_0000_0000_0000_FFFF_FFFF_FFFF_FFF0


@pytest.fixture(scope="module")
def jaeger(jaeger_bin):
    with run_jaeger(binary=jaeger_bin) as j:
        yield j


def _decide(sampler, name: str, trace_id: int) -> bool:
    return sampler.should_sample(None, trace_id, name).decision == Decision.RECORD_AND_SAMPLE


def test_remote_sampler_applies_the_service_and_operation_strategies_jaeger_serves(jaeger):
    sampler = JaegerRemoteSampler(
        "apiserver", jaeger.sampling_url, background=False, initial_sampling_rate=0.0
    )
    try:
        assert not _decide(sampler, "LIST pods", LOW_ID)  # initial rate 0 until the first answer
        assert sampler.poll(), "Jaeger's sampling endpoint did not answer"
        assert _decide(sampler, "LIST pods", HIGH_ID)  # apiserver: probabilistic 1.0
        assert not _decide(sampler, "GET /healthz", HIGH_ID)  # per-operation 0.0 (lower bound spent)
    finally:
        sampler.shutdown()


def test_remote_sampler_for_an_unknown_service_gets_the_default_strategy(jaeger):
    sampler = JaegerRemoteSampler("not-in-the-file", jaeger.sampling_url, background=False)
    try:
        assert sampler.poll()
        decisions = {_decide(sampler, "anything", tid) for tid in (LOW_ID, HIGH_ID)}
        assert decisions == {True, False}  # default: probabilistic 0.5
    finally:
        sampler.shutdown()


def test_entry_point_route_resolves_the_remote_sampler_like_the_sdk_does(jaeger, monkeypatch):
    monkeypatch.setenv("OTEL_SERVICE_NAME", "kubectl")
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "parentbased_jaeger_remote")
    monkeypatch.setenv("OTEL_TRACES_SAMPLER_ARG", f"endpoint={jaeger.sampling_url},pollingIntervalMs=60000")
    sampler = _import_sampler(_get_sampler())
    try:
        root = sampler.root
        assert root.poll()
        assert _decide(sampler, "kubectl apply", HIGH_ID)  # kubectl: probabilistic 1.0
    finally:
        sampler.shutdown()


def test_setup_with_the_remote_sampler_exports_what_jaeger_says_to_sample(jaeger, otlp_receiver):
    handle = tracing.setup(
        service_name="apiserver",
        endpoint=otlp_receiver.grpc_endpoint,
        insecure=True,
        sampler="parentbased_jaeger_remote",
        sampler_arg=f"endpoint={jaeger.sampling_url},initialSamplingRate=0",
    )
    try:
        assert handle.settings.sampler.source == "argument"
        tracer = trace.get_tracer("e2e")
        root = handle.provider.sampler.root if hasattr(handle.provider.sampler, "root") else None
        assert root is not None and root.poll()
        tracer.start_span("LIST pods").end()
        tracer.start_span("GET /healthz").end()
        handle.force_flush()
        names = {s.name for s in otlp_receiver.wait_for(1)}
        assert "LIST pods" in names
    finally:
        handle.shutdown()
        tracing.shutdown()
