"""The export queue and its ledger: every span offered is accepted or counted as dropped, and every
span accepted leaves exactly once, exported or dropped for one cause.

The queue is bounded by memory (each record is charged its estimated_bytes against a budget), and
also by count when OTEL_BSP_MAX_QUEUE_SIZE is set explicitly. Every transition (offer, take a batch,
settle it, abandon what is left at shutdown) happens under one lock, so the counts add up exactly
however the request threads, the export worker and shutdown() interleave:

    offered  = accepted + dropped_queue_full + dropped_shutdown_closed
    accepted = exported + rejected + dropped_export_failed + dropped_shutdown_pending + queued + in flight
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

from ._record import ATTRIBUTES, EVENTS, ITEM_BYTES, LINKS, RECORD_BYTES, estimated_bytes


@dataclass(frozen=True)
class ExportStats:
    """What became of the spans handed to the export pipeline, by cause."""

    exported: int = 0  # delivered; the receiver accepted them
    rejected: int = 0  # delivered, but the receiver said it rejected them (OTLP partial success)
    dropped_queue_full: int = 0  # the memory budget (or OTEL_BSP_MAX_QUEUE_SIZE) was reached
    dropped_export_failed: int = 0  # a non-retryable error, or retries ran out of time
    dropped_shutdown: int = 0  # still queued or in flight when shutdown's time ran out, or ended after it
    queued: int = 0  # waiting, or being sent, right now
    queued_bytes: int = 0  # their estimated memory

    @property
    def dropped(self) -> int:
        """Every span that did not reach the receiver (rejected ones included)."""
        return self.rejected + self.dropped_queue_full + self.dropped_export_failed + self.dropped_shutdown


class Batch(list):
    """Records taken from the queue for one export request; settled exactly once."""

    __slots__ = ("bytes", "settled")


class SpanQueue:
    """Records waiting for export, and the ledger of what became of every one."""

    def __init__(
        self, budget_bytes: int, max_spans: int | None = None, batch_size: int = 0, on_batch=lambda: None
    ):
        self.budget_bytes = budget_bytes
        self.max_spans = max_spans if max_spans is not None else 1 << 62
        self.batch_size = batch_size
        self.on_batch = on_batch
        self.reset()

    def reset(self) -> None:
        """Empty, with zero counts and a new lock: a forked child's queue starts here (what was queued
        belongs to the parent, which exports it)."""
        self.lock = threading.Lock()
        self._items: deque[tuple] = deque()
        self._sizes: deque[int] = deque()  # each queued record's estimated_bytes, in the same order
        self._bytes = 0
        self._in_flight: Batch | None = None
        self._closed = False
        # Monotonic totals for force_flush: the worker settles records in the order they were accepted,
        # so every record accepted before a flush is settled once `settled` reaches that flush's `accepted`.
        self.accepted = 0
        self.settled = 0
        self._counts = dict.fromkeys(
            ("exported", "rejected", "dropped_queue_full", "dropped_export_failed", "dropped_shutdown"), 0
        )

    def __len__(self) -> int:
        return len(self._items)

    @property
    def closed(self) -> bool:
        return self._closed

    def offer(self, record: tuple) -> None:
        """Queue `record` unless the budget or shutdown says no (then it is counted dropped); call
        `on_batch` when the queue reaches a batch. This is a request thread's whole share of export."""
        if record[EVENTS] or record[LINKS]:
            size = estimated_bytes(record)
        else:  # estimated_bytes() of the common record, without the call
            attributes = record[ATTRIBUTES]
            size = RECORD_BYTES + ITEM_BYTES * len(attributes) if attributes else RECORD_BYTES
        with self.lock:
            items = self._items
            if self._closed:
                self._counts["dropped_shutdown"] += 1
                return
            if self._bytes + size > self.budget_bytes or len(items) >= self.max_spans:
                self._counts["dropped_queue_full"] += 1
                return
            self._bytes += size
            self.accepted += 1
            items.append(record)
            self._sizes.append(size)
            full = len(items) == self.batch_size
        if full:
            self.on_batch()

    def take(self, limit: int) -> Batch | None:
        """Up to `limit` records, oldest first, now in flight until settle(); None when empty."""
        with self.lock:
            items = self._items
            if not items or self._closed:
                return None
            count = min(limit, len(items))
            batch = Batch(items.popleft() for _ in range(count))
            batch.bytes = sum(self._sizes.popleft() for _ in range(count))
            batch.settled = False
            self._bytes -= batch.bytes
            self._in_flight = batch
            return batch

    def settle(self, batch: Batch, cause: str, rejected: int = 0) -> bool:
        """Record what became of `batch`: "exported" (less `rejected` the receiver refused),
        "dropped_export_failed" or "dropped_shutdown". False if close() already counted it."""
        with self.lock:
            if self._in_flight is batch:
                self._in_flight = None
            if batch.settled:
                return False
            batch.settled = True
            self.settled += len(batch)
            if cause == "exported":
                rejected = min(max(rejected, 0), len(batch))
                self._counts["exported"] += len(batch) - rejected
                self._counts["rejected"] += rejected
            else:
                self._counts[cause] += len(batch)
            return True

    def close(self) -> int:
        """Accept nothing more; drop what is still queued or in flight as dropped_shutdown. Returns
        how many that was."""
        with self.lock:
            self._closed = True
            dropped = len(self._items)
            self._items.clear()
            self._sizes.clear()
            self._bytes = 0
            batch, self._in_flight = self._in_flight, None
            if batch is not None and not batch.settled:
                batch.settled = True
                dropped += len(batch)
            self._counts["dropped_shutdown"] += dropped
            self.settled += dropped
            return dropped

    def stats(self) -> ExportStats:
        with self.lock:
            in_flight = self._in_flight
            pending = len(self._items) + (len(in_flight) if in_flight is not None else 0)
            pending_bytes = self._bytes + (in_flight.bytes if in_flight is not None else 0)
            return ExportStats(**self._counts, queued=pending, queued_bytes=pending_bytes)
