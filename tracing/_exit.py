"""Flush on SIGTERM: stopping a pod the way Kubernetes does must not lose the spans still queued.

SIGTERM's default action ends the process at once, before any atexit hook, so the bounded flush at
exit never runs and every queued span is lost. A server that stops gracefully does not help by itself:
uvicorn, after its shutdown, raises SIGTERM again with the handler it found when it started, the
default one. So when setup() finds the default action, it installs a handler that runs the bounded
shutdown exit would (KUBETRACE_SHUTDOWN_TIMEOUT_MS), restores the default and raises SIGTERM again:
the process still ends killed by SIGTERM, the status its supervisor expects. A handler someone else
installed is never replaced (it decides how the process ends; its exit runs the atexit flush).
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any


def flush_on_sigterm(handle: Any) -> None:
    """Install the handler for `handle`, a new setup()'s, if the settings allow and nobody has one."""
    if not handle.settings["flush_on_sigterm"] or handle.provider is None:
        return  # switched off, or OTEL_SDK_DISABLED: nothing would ever be queued
    if threading.current_thread() is not threading.main_thread():
        return  # only the main thread may set handlers
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return
    signal.signal(signal.SIGTERM, _flush_then_die)
    handle._closers.append(_restore_default)


def _flush_then_die(signum: int, frame: FrameType | None) -> None:
    from ._provider import shutdown  # here: _provider imports this module

    try:
        shutdown()  # bounded; a no-op when tracing was shut down already
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.raise_signal(signal.SIGTERM)


def _restore_default() -> None:
    """At shutdown(): give SIGTERM its default back, unless someone replaced our handler since (theirs
    stays) or this is not the main thread (ours stays: without tracing it only re-raises)."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is _flush_then_die:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
