"""Retries follow the OTLP specification, against a receiver scripted to fail in each way it can."""

from __future__ import annotations

import itertools
import logging
import time

import grpc
import pytest
from _export_support import options, pipeline_to, record, sender_for
from testkit import blackholed_endpoint, dead_endpoint
from testkit.otlp import CaptureReceiver, Reply

from tracing.export._grpc_sender import GrpcSender, GrpcTarget
from tracing.export._pipeline import ExportPipeline
from tracing.export._retry import Backoff, Outcome

RETRYABLE_CODES = [
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.CANCELLED,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.ABORTED,
    grpc.StatusCode.OUT_OF_RANGE,
    grpc.StatusCode.DATA_LOSS,
]
FINAL_CODES = [
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.UNAUTHENTICATED,
    grpc.StatusCode.PERMISSION_DENIED,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.UNIMPLEMENTED,
    grpc.StatusCode.INTERNAL,
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.RESOURCE_EXHAUSTED,  # without RetryInfo
]


@pytest.fixture
def receiver():
    with CaptureReceiver() as rx:
        yield rx


def _send(pipeline, count: int) -> None:
    for i in range(count):
        pipeline.put(record(i))


@pytest.mark.parametrize("code", RETRYABLE_CODES, ids=lambda c: c.name)
def test_retryable_grpc_codes_are_retried_until_delivered(receiver, code):
    receiver.script(Reply(grpc_code=code), Reply(grpc_code=code))
    with pipeline_to(receiver.grpc_endpoint) as pipeline:
        _send(pipeline, 10)
        assert pipeline.force_flush(5)
        stats = pipeline.stats()
    assert len(receiver.attempts) == 3
    assert len(receiver.spans()) == 10 and stats.exported == 10 and stats.dropped == 0


@pytest.mark.parametrize("code", FINAL_CODES, ids=lambda c: c.name)
def test_other_grpc_codes_are_never_retried(receiver, code):
    receiver.script(Reply(grpc_code=code))
    with pipeline_to(receiver.grpc_endpoint) as pipeline:
        _send(pipeline, 10)
        assert pipeline.force_flush(5)
        stats = pipeline.stats()
    assert len(receiver.attempts) == 1
    assert stats.dropped_export_failed == 10 and stats.exported == 0


def test_resource_exhausted_with_retry_info_waits_the_delay_given(receiver):
    receiver.script(Reply(grpc_code=grpc.StatusCode.RESOURCE_EXHAUSTED, retry_delay_s=0.4))
    with pipeline_to(receiver.grpc_endpoint) as pipeline:
        _send(pipeline, 5)
        assert pipeline.force_flush(5)
        assert pipeline.stats().exported == 5
    (_, first), (_, second) = receiver.attempts
    assert second - first >= 0.4


def test_retry_info_overrides_the_backoff(receiver):
    receiver.script(Reply(grpc_code=grpc.StatusCode.UNAVAILABLE, retry_delay_s=0.5))
    with pipeline_to(receiver.grpc_endpoint, backoff=Backoff(base_s=0.01, cap_s=0.01)) as pipeline:
        _send(pipeline, 5)
        assert pipeline.force_flush(5)
    (_, first), (_, second) = receiver.attempts
    assert second - first >= 0.5


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_retryable_http_statuses_are_retried_after_retry_after(receiver, status):
    receiver.script(Reply(http_status=status, retry_after="1"))
    with pipeline_to(receiver.http_endpoint, "http") as pipeline:
        _send(pipeline, 5)
        assert pipeline.force_flush(5)
        assert pipeline.stats().exported == 5
    (_, first), (_, second) = receiver.attempts
    assert second - first >= 1.0


@pytest.mark.parametrize("status", [400, 401, 403, 404, 413, 500])
def test_other_http_statuses_are_never_retried(receiver, status):
    receiver.script(Reply(http_status=status))
    with pipeline_to(receiver.http_endpoint, "http") as pipeline:
        _send(pipeline, 5)
        assert pipeline.force_flush(5)
        assert pipeline.stats().dropped_export_failed == 5
    assert len(receiver.attempts) == 1


def test_backoff_grows_exponentially_with_jitter_between_attempts(receiver):
    receiver.script(*[Reply(grpc_code=grpc.StatusCode.UNAVAILABLE)] * 4)
    with pipeline_to(receiver.grpc_endpoint, backoff=Backoff(base_s=0.1, cap_s=10)) as pipeline:
        _send(pipeline, 3)
        assert pipeline.force_flush(10)
    times = [at for _, at in receiver.attempts]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(gaps) == 4
    for attempt, gap in enumerate(gaps):
        assert 0.1 * 2**attempt * 0.5 <= gap, gaps  # the jitter factor is in [0.5, 1]
    assert gaps[3] > gaps[0]


def test_the_backoff_delay_is_jittered_within_its_bounds():
    backoff = Backoff(base_s=1, cap_s=8)
    delays = [backoff.delay(attempt, Outcome.failure("x", True)) for attempt in range(6) for _ in range(50)]
    for index, delay in enumerate(delays):
        expected = min(8, 2 ** (index // 50))
        assert expected * 0.5 <= delay <= expected
    assert len(set(delays)) > 250  # jittered, not fixed steps
    assert backoff.delay(3, Outcome.failure("x", True, retry_after=0.25)) == 0.25


def test_a_partial_success_is_counted_as_rejected_and_logged(receiver, caplog):
    receiver.script(Reply(rejected=3, message="3 spans had no name"))
    with caplog.at_level(logging.WARNING, "kubetrace"), pipeline_to(receiver.grpc_endpoint) as pipeline:
        _send(pipeline, 10)
        assert pipeline.force_flush(5)
        stats = pipeline.stats()
    assert (stats.exported, stats.rejected, stats.dropped) == (7, 3, 3)
    assert "rejected 3 of 10 spans: 3 spans had no name" in caplog.text


def test_retries_stop_when_the_batch_export_timeout_is_spent():
    with dead_endpoint() as endpoint, pipeline_to(endpoint, export_timeout_s=0.5) as pipeline:
        _send(pipeline, 5)
        started = time.monotonic()
        assert pipeline.force_flush(5)
        assert time.monotonic() - started < 2.0
        assert pipeline.stats().dropped_export_failed == 5


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_shutdown_cuts_a_long_retry_delay_short(receiver, protocol):
    if protocol == "grpc":
        receiver.script(Reply(grpc_code=grpc.StatusCode.UNAVAILABLE, retry_delay_s=60))
        endpoint = receiver.grpc_endpoint
    else:
        receiver.script(Reply(http_status=503, retry_after="60"))
        endpoint = receiver.http_endpoint
    with pipeline_to(endpoint, protocol, export_timeout_s=120) as pipeline:
        _send(pipeline, 20)
        pipeline.force_flush(0.5)  # the first attempt failed; the worker now waits 60 s
        started = time.monotonic()
        assert not pipeline.shutdown(0.5)
        elapsed = time.monotonic() - started
        stats = pipeline.stats()
    assert elapsed < 1.0, elapsed
    assert stats.dropped_shutdown == 20 and stats.dropped == 20
    assert len(receiver.attempts) == 1


def test_shutdown_retries_in_the_time_it_has(receiver):
    receiver.script(Reply(grpc_code=grpc.StatusCode.UNAVAILABLE, retry_delay_s=0.3))
    with pipeline_to(receiver.grpc_endpoint) as pipeline:
        _send(pipeline, 20)
        assert pipeline.shutdown(3)
        assert pipeline.stats().exported == 20
    assert len(receiver.spans()) == 20


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_shutdown_returns_in_time_from_a_blackholed_receiver(protocol):
    with blackholed_endpoint() as endpoint, pipeline_to(endpoint, protocol, request_timeout_s=30) as pipeline:
        _send(pipeline, 1000)
        time.sleep(0.2)  # an export is now in flight, waiting on the hole
        started = time.monotonic()
        assert not pipeline.shutdown(0.5)
        elapsed = time.monotonic() - started
        stats = pipeline.stats()
    assert elapsed < 1.0, elapsed
    assert stats.dropped_shutdown == 1000 and stats.exported == 0


def test_a_header_the_transport_refuses_is_a_final_failure_that_is_reported(receiver, caplog):
    sender = GrpcSender(GrpcTarget(receiver.grpc_endpoint, None, (("bad key", "v"),), False, "t"))
    pipeline = ExportPipeline(sender, options(report_interval_s=0))
    with caplog.at_level(logging.WARNING, "kubetrace"):
        _send(pipeline, 4)
        assert pipeline.force_flush(5)
        pipeline.shutdown(1)
    assert pipeline.stats().dropped_export_failed == 4
    assert "last export error: INTERNAL: Invalid metadata" in caplog.text


def test_the_worker_survives_a_sender_that_raises(receiver):
    real = sender_for(receiver.grpc_endpoint)
    calls = []

    class Flaky:
        describe = "flaky"

        def send(self, body, timeout_s):
            calls.append(1)
            if len(calls) == 1:
                raise TypeError("a bug in a transport")
            return real.send(body, timeout_s)

        def cancel(self):
            real.cancel()

        def close(self):
            real.close()

        def forget(self):
            real.forget()

    pipeline = ExportPipeline(Flaky(), options())
    _send(pipeline, 3)
    assert pipeline.force_flush(5)
    _send(pipeline, 2)
    assert pipeline.force_flush(5)
    pipeline.shutdown(1)
    stats = pipeline.stats()
    assert (stats.dropped_export_failed, stats.exported) == (3, 2)


def test_a_worker_that_outlives_shutdown_logs_nothing_afterwards(caplog):
    """shutdown() logs the totals; a worker still blocked on a slow request must not speak later
    (its words would land in whatever the process logs next)."""
    with blackholed_endpoint() as endpoint:
        pipeline = ExportPipeline(
            sender_for(endpoint, "http"), options(request_timeout_s=1.0, report_interval_s=0)
        )
        _send(pipeline, 10)
        time.sleep(0.2)  # the worker now waits on the hole, for up to a second
        with caplog.at_level(logging.INFO, "kubetrace"):
            assert not pipeline.shutdown(0.2)
            caplog.clear()
            time.sleep(1.5)  # the blocked request times out meanwhile
        assert caplog.messages == []
        assert pipeline.stats().dropped_shutdown == 10
