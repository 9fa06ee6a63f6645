"""The export pipeline: records in, OTLP out, on one worker thread, never blocking the request path.

A request thread's whole share is put(), which is SpanQueue.offer() (a lock, an append). The worker takes batches of
OTEL_BSP_MAX_EXPORT_BATCH_SIZE records when that many are queued, or whatever is queued every
OTEL_BSP_SCHEDULE_DELAY and on force_flush(); encodes each batch to one OTLP request; sends it,
retrying by the OTLP rules (see _retry) for at most OTEL_BSP_EXPORT_TIMEOUT per batch, each attempt
waiting at most OTEL_EXPORTER_OTLP_TIMEOUT; and settles the batch in the queue's ledger.

shutdown(timeout) lets the worker export what is queued until the timeout, cutting any backoff or
call in flight short at that moment; then whatever is left is counted dropped_shutdown, and the
totals are logged. The worker is a daemon thread, so process exit never waits for it.

After os.fork() the child gets an empty queue, zero counts, its own connection and a new worker:
the records queued before the fork are the parent's to export, so none is lost or sent twice.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import Protocol

from opentelemetry import context as context_api

from .._otel_private import SUPPRESS_INSTRUMENTATION_KEY
from ._encoder import Encoder
from ._queue import Batch, ExportStats, SpanQueue
from ._retry import Backoff, Outcome

_log = logging.getLogger("kubetrace")
_SUPPRESS_INSTRUMENTATION = SUPPRESS_INSTRUMENTATION_KEY


class Sender(Protocol):
    describe: str

    def send(self, body: bytes, timeout_s: float) -> Outcome: ...
    def cancel(self) -> None: ...
    def close(self) -> None: ...
    def forget(self) -> None: ...


@dataclass(frozen=True)
class PipelineOptions:
    """How the pipeline queues, batches and retries (from OTEL_BSP_*, OTEL_EXPORTER_OTLP_TIMEOUT and
    KUBETRACE_EXPORT_QUEUE_BYTES)."""

    queue_bytes: int
    max_queue_spans: int | None  # only when OTEL_BSP_MAX_QUEUE_SIZE is set explicitly
    batch_size: int
    schedule_delay_s: float
    export_timeout_s: float  # one batch, all its attempts and backoffs
    request_timeout_s: float  # one attempt
    backoff: Backoff = field(default_factory=Backoff)
    report_interval_s: float = 30.0  # at most one "spans dropped" warning per interval


class ExportPipeline:
    """Queue, batch, encode and send span records; see the module docstring."""

    def __init__(self, sender: Sender, options: PipelineOptions):
        self.sender = sender
        self.options = options
        self.queue = SpanQueue(
            options.queue_bytes, options.max_queue_spans, options.batch_size, self._on_batch
        )
        # A request thread's whole share: queue.offer() (a lock and an append; _on_batch when a batch is full).
        self.put = self.queue.offer
        self._encoder = Encoder()
        self._stopped = False
        self._start_worker()
        _forget_queue_in_children(self)

    def _on_batch(self) -> None:
        self._wake.set()

    # -- any thread -----------------------------------------------------------------------------

    def force_flush(self, timeout_s: float) -> bool:
        """Export every record queued before this call; False if that took longer than `timeout_s`."""
        if self._stopped:
            return True
        target = self.queue.accepted
        with self._settled:
            self._flush_target = max(self._flush_target, target)
            self._wake.set()
            return self._settled.wait_for(lambda: self.queue.settled >= target, timeout_s)

    def shutdown(self, timeout_s: float) -> bool:
        """Export what is queued within `timeout_s`, then stop; False if spans were dropped for lack of
        time. Later calls return True at once."""
        if self._stopped:
            return True
        self._stopped = True
        dropped_before = self.queue.stats().dropped_shutdown
        self._deadline = time.monotonic() + timeout_s
        self._stopping.set()
        self._wake.set()
        self._worker.join(timeout_s)
        self.queue.close()  # before cancel(): a cancelled call is dropped_shutdown, not export failed
        if self._worker.is_alive():
            self.sender.cancel()  # the worker returns from a call in flight and finds the queue closed
        else:
            self.sender.close()
        self._log_totals(timeout_s)
        return self.queue.stats().dropped_shutdown == dropped_before

    def stats(self) -> ExportStats:
        return self.queue.stats()

    # -- the worker -----------------------------------------------------------------------------

    def _start_worker(self) -> None:
        self._batch_size = self.options.batch_size
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._settled = threading.Condition(threading.Lock())
        self._flush_target = 0
        self._deadline: float | None = None
        self._reported = (0, 0.0)  # (dropped count, monotonic time) of the last drop report
        self._last_failure = ""
        self._worker = threading.Thread(target=self._run, name="kubetrace-export", daemon=True)
        self._worker.start()

    def _run(self) -> None:
        # Export with instrumentation suppressed, the OpenTelemetry convention: an instrumented gRPC
        # channel or HTTP client would otherwise trace each export, and export that, for ever.
        context_api.attach(context_api.set_value(_SUPPRESS_INSTRUMENTATION, True))
        delay = self.options.schedule_delay_s
        next_timer = time.monotonic() + delay
        while True:
            if not self._stopping.is_set():
                self._wake.wait(max(next_timer - time.monotonic(), 0))
            self._wake.clear()
            timer = time.monotonic() >= next_timer
            if timer:
                next_timer = time.monotonic() + delay
            while True:
                stopping = self._stopping.is_set()
                urgent = timer or stopping or self.queue.settled < self._flush_target
                if not urgent and len(self.queue) < self._batch_size:
                    break
                batch = self.queue.take(self._batch_size)
                if batch is None:
                    break
                self._export(batch)
                with self._settled:
                    self._settled.notify_all()
                if self.queue.closed:
                    return
            if self._stopping.is_set():
                if len(self.queue) == 0 or self.queue.closed:
                    return  # shutdown() logs the totals; a worker it outlived stays silent
            else:
                self._report_drops()

    def _export(self, batch: Batch) -> None:
        try:
            body = self._encoder.encode(batch)
        except Exception:  # a bug, not a state of the collector: say so once per batch, keep going
            _log.exception("kubetrace: could not encode %d spans; they are dropped", len(batch))
            self.queue.settle(batch, "dropped_export_failed")
            return
        outcome, cause = self._send(body)
        if outcome.ok:
            if (outcome.rejected or outcome.detail) and not self.queue.closed:
                _log.warning(
                    "kubetrace: %s rejected %d of %d spans: %s",
                    self.sender.describe,
                    outcome.rejected,
                    len(batch),
                    outcome.detail,
                )
            self.queue.settle(batch, "exported", outcome.rejected)
            return
        self._last_failure = outcome.detail
        self.queue.settle(batch, cause)

    def _send(self, body: bytes) -> tuple[Outcome, str]:
        """Send with retries; the outcome, and the cause to count the batch under if it failed."""
        options = self.options
        batch_deadline = time.monotonic() + options.export_timeout_s
        attempt = 0
        while True:
            limit = self._limit(batch_deadline)
            remaining = limit - time.monotonic()
            if remaining <= 0:
                return Outcome.failure("out of time", False), self._cause_at(limit, batch_deadline)
            try:
                outcome = self.sender.send(body, min(options.request_timeout_s, remaining))
            except Exception as err:  # the transport refused the request itself: no retry can help
                outcome = Outcome.failure(f"{type(err).__name__}: {err}", retryable=False)
            if outcome.ok or not outcome.retryable:
                return outcome, "dropped_export_failed"
            pause = options.backoff.delay(attempt, outcome)
            attempt += 1
            if not self._pause(pause, batch_deadline):
                limit = self._limit(batch_deadline)
                return outcome, self._cause_at(limit, batch_deadline)

    def _limit(self, batch_deadline: float) -> float:
        deadline = self._deadline
        return batch_deadline if deadline is None else min(batch_deadline, deadline)

    def _cause_at(self, limit: float, batch_deadline: float) -> str:
        """Which deadline ended the retries: shutdown's, or the batch's own."""
        return "dropped_shutdown" if limit < batch_deadline else "dropped_export_failed"

    def _pause(self, seconds: float, batch_deadline: float) -> bool:
        """Wait before a retry; False (at once) when the retry would come after a deadline. A shutdown
        starting during the wait ends it early if its deadline comes first."""
        wake_at = time.monotonic() + seconds
        if wake_at >= self._limit(batch_deadline):
            return False
        self._stopping.wait(seconds)
        if wake_at >= self._limit(batch_deadline):
            return False
        left = wake_at - time.monotonic()
        if left > 0:
            time.sleep(left)  # shutdown started but leaves time for this retry
        return True

    # -- reporting ------------------------------------------------------------------------------

    def _report_drops(self) -> None:
        """At most one warning per report interval, when spans were dropped since the last one."""
        stats = self.queue.stats()
        last_count, last_time = self._reported
        now = time.monotonic()
        if stats.dropped == last_count or (last_time and now - last_time < self.options.report_interval_s):
            return
        self._reported = (stats.dropped, now)
        failure = f"; last export error: {self._last_failure}" if self._last_failure else ""
        _log.warning("kubetrace: %s%s", _summary(stats), failure)

    def _log_totals(self, timeout_s: float) -> None:
        stats = self.queue.stats()
        if stats.dropped:
            failure = f"; last export error: {self._last_failure}" if self._last_failure else ""
            _log.warning("kubetrace: at shutdown (%.0f ms): %s%s", timeout_s * 1000, _summary(stats), failure)
        else:
            _log.info("kubetrace: at shutdown: %d spans exported, none dropped", stats.exported)

    # -- fork -----------------------------------------------------------------------------------

    def _after_fork_in_child(self) -> None:
        self.queue.reset()
        self.sender.forget()
        if not self._stopped:
            self._start_worker()


def _summary(stats: ExportStats) -> str:
    return (
        f"{stats.dropped} spans dropped so far (queue full {stats.dropped_queue_full}, "
        f"export failed {stats.dropped_export_failed}, shutdown {stats.dropped_shutdown}, "
        f"rejected by the receiver {stats.rejected}); {stats.exported} exported"
    )


def _forget_queue_in_children(pipeline: ExportPipeline) -> None:
    """Register the child's reset without keeping the pipeline alive (fork handlers cannot be removed)."""
    if not hasattr(os, "register_at_fork"):
        return
    ref = weakref.ref(pipeline)

    def after_in_child() -> None:
        alive = ref()
        if alive is not None:
            alive._after_fork_in_child()

    os.register_at_fork(after_in_child=after_in_child)
