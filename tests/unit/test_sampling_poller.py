"""The samplers' background thread: runs its task until stopped, survives a failing task, restarts after fork."""

from __future__ import annotations

import threading
import time

from tracing.sampling._poller import Poller


def test_stop_wakes_the_wait_at_once():
    poller = Poller("test-poller", lambda: 3600, first_delay=3600, fallback_delay=3600)
    poller.start()
    started = time.monotonic()
    poller.stop()
    assert time.monotonic() - started < 1
    assert not poller._thread.is_alive()


def test_the_task_chooses_the_next_delay():
    delays = iter([0.001, 0.001, 3600])
    runs = threading.Semaphore(0)

    def task() -> float:
        runs.release()
        return next(delays)

    poller = Poller("test-poller", task, first_delay=0, fallback_delay=3600)
    poller.start()
    assert all(runs.acquire(timeout=5) for _ in range(3))
    assert not runs.acquire(timeout=0.02)
    poller.stop()


def test_a_poller_restarts_its_thread_in_a_forked_child():
    runs = threading.Semaphore(0)

    def task() -> float:
        runs.release()
        return 3600

    poller = Poller("test-poller", task, first_delay=0, fallback_delay=3600)
    poller.start()
    assert runs.acquire(timeout=5)
    parent_thread = poller._thread
    parent_thread_dies_in_fork = poller._wake
    parent_thread_dies_in_fork.set()
    parent_thread.join(5)
    poller._after_fork_in_child()  # what os.register_at_fork runs in the child
    assert runs.acquire(timeout=5)
    assert poller._thread is not parent_thread and poller._thread.is_alive()
    poller.stop()
    assert not poller._thread.is_alive()


def test_a_stopped_poller_stays_stopped_in_a_forked_child():
    poller = Poller("test-poller", lambda: 3600, first_delay=3600, fallback_delay=3600)
    poller.start()
    poller.stop()
    thread = poller._thread
    poller._after_fork_in_child()
    assert poller._thread is thread and not thread.is_alive()


def test_a_task_that_raises_is_logged_and_retried(caplog):
    calls = threading.Semaphore(0)

    def task() -> float:
        calls.release()
        raise RuntimeError("boom")

    poller = Poller("test-poller", task, first_delay=0, fallback_delay=0.001)
    poller.start()
    assert calls.acquire(timeout=5) and calls.acquire(timeout=5)
    poller.stop()
    assert any("test-poller failed" in m for m in caplog.messages)
