"""Every sampled span is accounted for: exported, or dropped for exactly one cause, with no races,
readable from Tracing and reported in the log."""

from __future__ import annotations

import gc
import logging
import threading
import time
import tracemalloc

import pytest
from _export_support import options, pipeline_to, record
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace.sampling import ALWAYS_ON
from opentelemetry.trace import SpanKind
from testkit import blackholed_endpoint, dead_endpoint
from testkit.otlp import CaptureReceiver

import tracing
from tracing._exporter import pipeline_options
from tracing._lean import LeanTracerProvider
from tracing.config import resolve
from tracing.export._record import estimated_bytes

pytestmark = pytest.mark.usefixtures("no_setup_leaks")


def _spans(count: int, name: str = "op") -> None:
    tracer = trace.get_tracer("accounting")
    for i in range(count):
        tracer.start_span(name, attributes={"i": i}).end()


def test_spans_discarded_when_shutdown_runs_out_of_time_are_counted():
    with blackholed_endpoint() as endpoint:
        handle = tracing.setup(endpoint=endpoint, insecure=True, timeout_ms=30000, shutdown_timeout_ms=500)
        _spans(20_000)
        assert not handle.shutdown()
    stats = handle.export_stats
    assert (stats.exported, stats.dropped_shutdown, stats.queued) == (0, 20_000, 0)
    assert handle.dropped_spans == 20_000


def test_counts_add_up_exactly_while_threads_race_the_export_worker():
    threads, per_thread = 8, 2_000
    with CaptureReceiver() as receiver:
        handle = tracing.setup(
            endpoint=receiver.grpc_endpoint,
            insecure=True,
            export_queue_bytes=100 * estimated_bytes(record(0)),  # about 100 spans: the queue fills
            bsp_max_export_batch_size=64,
            bsp_schedule_delay_ms=5,
        )
        workers = [threading.Thread(target=_spans, args=(per_thread,)) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        assert handle.shutdown(10_000)
        received = len(receiver.spans())
    stats = handle.export_stats
    assert stats.dropped_queue_full > 0
    assert stats.exported == received
    assert stats.exported + stats.dropped == threads * per_thread
    assert stats.queued == 0


def test_a_burst_at_default_settings_is_delivered_whole():
    with CaptureReceiver() as receiver:
        handle = tracing.setup(endpoint=receiver.grpc_endpoint, insecure=True)
        _spans(50_000)
        assert handle.shutdown(60_000)
        assert len(receiver.wait_for_spans(50_000)) == 50_000
    assert handle.export_stats.exported == 50_000 and handle.dropped_spans == 0


def test_the_queue_is_bounded_by_its_memory_budget():
    size = estimated_bytes(record(0))
    with (
        blackholed_endpoint() as endpoint,
        pipeline_to(endpoint, queue_bytes=10 * size, batch_size=4) as pipeline,
    ):
        pipeline.put(record(0))
        pipeline.force_flush(0.3)  # the worker has taken a batch and waits on the hole
        for i in range(1, 100):
            pipeline.put(record(i))
        stats = pipeline.stats()
    assert stats.queued == 11 and stats.queued_bytes == 11 * size  # 10 queued and 1 in flight
    assert stats.dropped_queue_full == 89


def test_a_record_is_charged_for_its_attributes_events_and_links():
    plain = estimated_bytes(record(0, {}))
    assert estimated_bytes(record(0, {"a": 1, "b": 2})) > plain
    with_event = (*record(0, {})[:10], (("e", 1, {"k": "v"}, 0),), *record(0, {})[11:])
    assert estimated_bytes(with_event) > plain


def test_an_explicit_otel_bsp_max_queue_size_also_bounds_the_queue_by_count(monkeypatch):
    assert pipeline_options(resolve({}).settings).max_queue_spans is None
    monkeypatch.setenv("OTEL_BSP_MAX_QUEUE_SIZE", "50")
    assert pipeline_options(resolve({}).settings).max_queue_spans == 50
    with (
        blackholed_endpoint() as endpoint,
        pipeline_to(endpoint, max_queue_spans=5, batch_size=1) as pipeline,
    ):
        pipeline.put(record(0))
        pipeline.force_flush(0.3)
        for i in range(1, 20):
            pipeline.put(record(i))
        assert pipeline.stats().dropped_queue_full == 14


def test_the_memory_budget_is_a_setting(monkeypatch):
    assert resolve({}).settings["export_queue_bytes"] == 64 * 1024 * 1024
    monkeypatch.setenv("KUBETRACE_EXPORT_QUEUE_BYTES", "1048576")
    settings = resolve({}).settings
    assert settings.export_queue_bytes.source == "env:KUBETRACE_EXPORT_QUEUE_BYTES"
    assert pipeline_options(settings).queue_bytes == 1 << 20
    monkeypatch.setenv("KUBETRACE_EXPORT_QUEUE_BYTES", "64Mi")
    resolved = resolve({})
    assert resolved.settings["export_queue_bytes"] == 64 * 1024 * 1024
    assert any(
        w.startswith("KUBETRACE_EXPORT_QUEUE_BYTES: must be a whole number") for w in resolved.warnings
    )


def test_drops_are_reported_at_most_once_per_interval(caplog):
    with (
        caplog.at_level(logging.WARNING, "kubetrace"),
        dead_endpoint() as endpoint,
        pipeline_to(endpoint, report_interval_s=0.3, export_timeout_s=0.01, batch_size=1) as pipeline,
    ):
        started = time.monotonic()
        while time.monotonic() - started < 1.5:
            pipeline.put(record(0))
            time.sleep(0.01)
        dropped = pipeline.stats().dropped
    reports = [
        r
        for r in caplog.records
        if "spans dropped so far" in r.getMessage() and "at shutdown" not in r.getMessage()
    ]
    assert 2 <= len(reports) <= 1.5 / 0.3 + 1
    assert "export failed" in reports[0].getMessage() and "last export error" in reports[0].getMessage()
    assert dropped > len(reports)


def test_totals_are_logged_at_shutdown(caplog):
    with (
        CaptureReceiver() as receiver,
        caplog.at_level(logging.INFO, "kubetrace"),
        pipeline_to(receiver.grpc_endpoint) as pipeline,
    ):
        for i in range(7):
            pipeline.put(record(i))
    assert "at shutdown: 7 spans exported, none dropped" in caplog.text
    caplog.clear()
    with (
        caplog.at_level(logging.INFO, "kubetrace"),
        blackholed_endpoint() as endpoint,
        pipeline_to(endpoint, shutdown_s=0.3) as pipeline,
    ):
        for i in range(7):
            pipeline.put(record(i))
    [line] = [r.getMessage() for r in caplog.records if "at shutdown" in r.getMessage()]
    assert (
        "7 spans dropped so far (queue full 0, export failed 0, shutdown 7, rejected by the receiver 0)"
        in line
    )


def test_a_span_ended_after_shutdown_is_counted():
    with CaptureReceiver() as receiver:
        handle = tracing.setup(endpoint=receiver.grpc_endpoint, insecure=True)
        span = trace.get_tracer("late").start_span("late")
        assert handle.shutdown()
        span.end()
    assert handle.export_stats.dropped_shutdown == 1


def test_options_follow_the_settings():
    settings = resolve(
        {
            "bsp_schedule_delay_ms": 250,
            "timeout_ms": 1500,
            "bsp_export_timeout_ms": 9000,
            "bsp_max_export_batch_size": 7,
        }
    ).settings
    opts = pipeline_options(settings)
    assert (opts.schedule_delay_s, opts.request_timeout_s, opts.export_timeout_s, opts.batch_size) == (
        0.25,
        1.5,
        9,
        7,
    )
    assert options().batch_size == 512


@pytest.mark.parametrize("extra_attributes, events", [(0, 0), (20, 0), (40, 0), (0, 3)])
def test_the_memory_estimate_covers_what_a_queued_record_really_holds(extra_attributes, events):
    """tracemalloc's count of the memory lean records keep alive, against estimated_bytes()."""
    collected: list[tuple] = []

    class Collect:
        put = collected.append

    provider = LeanTracerProvider(Collect(), sampler=ALWAYS_ON, resource=Resource({}), shutdown_timeout_s=1)
    tracer = provider.get_tracer("memory")
    base = {
        "rpc.system": "grpc",
        "rpc.service": "helloworld.Greeter",
        "rpc.method": "SayHello",
        "server.port": 1,
    }
    keys = [f"extra.{i}" for i in range(extra_attributes)]
    count = 2000
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for _ in range(count):
        span = tracer.start_span("helloworld.Greeter/SayHello", None, SpanKind.SERVER, base)
        span.set_attribute("rpc.grpc.status_code", 0)
        for i, key in enumerate(keys):
            span.set_attribute(key, i)
        for i in range(events):
            span.add_event("message", {"message.type": "SENT", "message.id": i})
        span.end()
    gc.collect()
    measured = (
        sum(stat.size_diff for stat in tracemalloc.take_snapshot().compare_to(before, "filename")) / count
    )
    tracemalloc.stop()
    estimated = estimated_bytes(collected[0])
    assert measured <= estimated <= 1.6 * measured, (measured, estimated)
