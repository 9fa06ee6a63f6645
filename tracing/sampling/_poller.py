"""Run a task on a daemon thread, again and again, until stopped: the samplers' only source of IO.

File reads and HTTP requests happen here, never in should_sample, so starting a span never waits on
a disk or a network. The task returns how long to wait before its next run; stop() wakes the wait at
once. A forked child (gunicorn --preload and the like) inherits no threads, so the poller restarts
itself there.
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from collections.abc import Callable

_logger = logging.getLogger("kubetrace.sampling")


class Poller:
    def __init__(self, name: str, task: Callable[[], float], *, first_delay: float, fallback_delay: float):
        self._name = name
        self._task = task
        self._first_delay = first_delay
        self._fallback_delay = fallback_delay  # after a task that raised, which it should never do
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._stopped = False
        self._fork_hook_registered = False

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, args=(self._wake,), name=self._name, daemon=True)
        self._thread.start()
        if not self._fork_hook_registered and hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=_restarter(weakref.ref(self)))
            self._fork_hook_registered = True

    def stop(self, timeout: float = 1.0) -> None:
        """Wake the wait and end the thread; waits at most `timeout` for a task in progress (an HTTP request)."""
        self._stopped = True
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _run(self, wake: threading.Event) -> None:
        delay = self._first_delay
        while not wake.wait(delay):
            try:
                delay = self._task()
            except Exception:
                _logger.exception(
                    "kubetrace: %s failed; trying again in %gs", self._name, self._fallback_delay
                )
                delay = self._fallback_delay

    def _after_fork_in_child(self) -> None:
        if self._thread is not None and not self._stopped:
            self._wake = threading.Event()  # the parent's may be held by a thread that does not exist here
            self.start()


def _restarter(ref: weakref.ref[Poller]) -> Callable[[], None]:
    # A weak reference: a poller (and its sampler) that is gone must not be kept alive by the hook.
    def restart() -> None:
        poller = ref()
        if poller is not None:
            poller._after_fork_in_child()

    return restart
