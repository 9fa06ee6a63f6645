"""setup() and shutdown(): settings -> an installed TracerProvider, and a bounded way out."""

from __future__ import annotations

import atexit
import logging
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import context as context_api
from opentelemetry import propagate
from opentelemetry import trace as trace_api
from opentelemetry.context import Context
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

from ._exit import flush_on_sigterm
from ._exporter import build_pipeline
from ._lean import LeanTracerProvider
from ._logging import correlate_logs
from ._otel_private import rearm_global_tracer_provider
from ._resource import build_resource, one_instance_per_process
from ._sampler import build_sampler
from .config import Resolved, Settings, resolve
from .export import ExportStats
from .export._pipeline import ExportPipeline
from .propagation import CONFIGURED_TRUST, TRUST_ALL, TrustPolicy, trust_policy_named
from .propagation._named import build_propagator

_log = logging.getLogger("kubetrace")
_lock = threading.Lock()
_active: Tracing | None = None
_installed_by_us: trace_api.TracerProvider | None = None


@dataclass
class Tracing:
    """The handle setup() returns: what was installed, and how to flush and stop it."""

    settings: Settings
    provider: trace_api.TracerProvider | None  # None when OTEL_SDK_DISABLED: a no-op that still propagates
    warnings: tuple[str, ...] = ()
    trust_policy: TrustPolicy | None = None
    installed: bool = True
    _pipeline: ExportPipeline | None = field(default=None, repr=False)
    _closers: list[Callable[[], Any]] = field(default_factory=list, repr=False)
    _stopped: bool = field(default=False, repr=False)
    # The context adopted from TRACEPARENT at setup(); attach it in threads not started from the setup
    # thread's context (see _adopt_parent_from_environment).
    parent_context: Context | None = None

    @property
    def dropped_spans(self) -> int:
        """Sampled spans that did not reach the collector, whatever the cause (see export_stats)."""
        return self.export_stats.dropped

    @property
    def export_stats(self) -> ExportStats:
        """What became of the sampled spans so far: exported, and dropped by cause (queue full, export
        failed, shutdown out of time, rejected by the receiver), and how many wait in the queue."""
        return self._pipeline.stats() if self._pipeline else ExportStats()

    def force_flush(self, timeout_ms: int | None = None) -> bool:
        """Export what is queued; returns False if that did not finish within the timeout."""
        if self.provider is None or self._stopped:
            return True
        # Through the provider, so a user's own span processors are flushed too; bounded, because theirs
        # might wait on a collector far longer than asked.
        budget = timeout_ms or self.settings["shutdown_timeout_ms"]
        return _bounded(lambda: self.provider.force_flush(budget), budget)

    def shutdown(self, timeout_ms: int | None = None) -> bool:
        """Flush and stop exporting. Returns within `timeout_ms` (default: the configured shutdown
        timeout) even if the collector is unreachable; False means spans may have been lost."""
        global _active
        with _lock:
            if self._stopped:
                return True
            self._stopped = True
            if _active is self:
                _active = None
                CONFIGURED_TRUST.policy = TRUST_ALL
        for close in self._closers:
            close()
        if self.provider is None:
            return True
        budget_ms = timeout_ms or self.settings["shutdown_timeout_ms"]
        started = time.monotonic()
        # The pipeline first, with the whole budget (it logs what it had to drop); then the provider,
        # for any span processor a user added, with what is left.
        done = self._pipeline.shutdown(budget_ms / 1000) if self._pipeline else True
        left_ms = max(budget_ms - (time.monotonic() - started) * 1000, 1)
        return _bounded(self.provider.shutdown, left_ms) and done


def _bounded(call: Callable[[], Any], timeout_ms: int) -> bool:
    """Run `call` on a daemon thread and wait at most timeout_ms: the SDK's flush and shutdown can
    wait for a blackholed collector far longer than any configured timeout."""
    worker = threading.Thread(target=call, name="kubetrace-flush", daemon=True)
    worker.start()
    worker.join(timeout_ms / 1000)
    return not worker.is_alive()


def setup(**arguments: Any) -> Tracing:
    """Configure and install tracing for this process; see the README's configuration reference.

    Keyword arguments override environment variables, which override the TracingConfiguration file
    (KUBETRACE_CONFIG or config_file=...). Raises ConfigError for an unusable file.
    A second call returns the active handle unchanged and logs why; shutdown() first to reconfigure.
    """
    global _active
    with _lock:
        if _active is not None:
            _log.warning(
                "kubetrace: setup() called again; tracing is already set up, keeping the first setup"
            )
            return _active
        resolved = resolve(arguments)
        for warning in resolved.warnings:
            _log.warning("kubetrace: %s", warning)
        handle = _install(resolved)
        _active = handle
        CONFIGURED_TRUST.policy = handle.trust_policy or TRUST_ALL
    flush_on_sigterm(handle)  # outside the lock: its handler takes it, and runs on this thread
    return handle


def active() -> Tracing | None:
    """The handle of the current setup(), if any."""
    return _active


def shutdown(timeout_ms: int | None = None) -> bool:
    """Shut down the active setup() (no-op if none); bounded like Tracing.shutdown."""
    handle = _active
    return handle.shutdown(timeout_ms) if handle else True


def _install(resolved: Resolved) -> Tracing:
    settings = resolved.settings
    propagate.set_global_textmap(build_propagator(settings["propagators"]))
    trust = trust_policy_named(settings["trust_incoming"])
    # Adopted before the disabled check: a disabled SDK is a no-op that still propagates, so a
    # disabled process in the middle of a chain must not break its parent's trace.
    parent = _adopt_parent_from_environment(settings)
    if settings["disabled"]:
        if trace_api.get_tracer_provider() is _installed_by_us:
            _install_global(trace_api.NoOpTracerProvider())  # an earlier setup's provider must not linger
        return Tracing(settings, None, resolved.warnings, trust, parent_context=parent)
    sampler = build_sampler(settings)
    exporters = settings["traces_exporter"]
    resource = build_resource(settings)
    pipeline = build_pipeline(settings) if "otlp" in exporters else None
    if pipeline is not None:
        timeout_s = settings["shutdown_timeout_ms"] / 1000
        provider = LeanTracerProvider(
            pipeline,
            sampler=sampler,
            resource=resource,
            shutdown_timeout_s=timeout_s,
        )
    else:
        provider = TracerProvider(resource=resource, sampler=sampler, shutdown_on_exit=False)
    one_instance_per_process(provider, settings)
    if "console" in exporters:  # the SDK's exporter, fed SDK spans (the lean ones are for the pipeline)
        provider.add_span_processor(BatchSpanProcessor(_console_exporter()))
    handle = Tracing(
        settings,
        provider,
        resolved.warnings,
        trust,
        _install_global(provider),
        pipeline,
        parent_context=parent,
    )
    if hasattr(sampler, "shutdown"):
        handle._closers.append(sampler.shutdown)
    if settings["log_correlation"]:
        handle._closers.append(correlate_logs(settings["service_name"]))
    return handle


def _console_exporter() -> SpanExporter:
    """OTEL_TRACES_EXPORTER=console: each span as JSON on stdout (the SDK's exporter, fed SDK spans)."""
    from opentelemetry.sdk.trace.export import ConsoleSpanExporter

    return ConsoleSpanExporter(out=sys.stdout)  # this process's stdout now, not at the SDK's import


def _install_global(provider: trace_api.TracerProvider) -> bool:
    """Make `provider` the global one. The API allows one set per process; when the current global is
    the provider of an earlier, shut-down setup() of ours, re-arm it so setup -> shutdown -> setup works."""
    global _installed_by_us
    current = trace_api.get_tracer_provider()
    if current is _installed_by_us and current is not None:
        rearm_global_tracer_provider()
    elif not isinstance(current, trace_api.ProxyTracerProvider):
        _log.warning("kubetrace: another tracer provider is already installed; kubetrace's is not global")
        return False
    trace_api.set_tracer_provider(provider)
    _installed_by_us = provider
    return True


def _adopt_parent_from_environment(settings: Settings) -> Context | None:
    """A child process started with TRACEPARENT (see propagation.environment_for_child) continues its
    parent's trace: the context (with TRACESTATE and BAGGAGE) is attached in the thread that called
    setup(), so root spans started there, and in tasks, context_thread()s and ContextExecutor work
    started from it, become children of the parent process's span. Returned for Tracing.parent_context."""
    if not settings["parent_from_env"] or not settings["parent_traceparent"]:
        return None
    from .propagation import context_from_environment

    variables = {
        "TRACEPARENT": settings["parent_traceparent"],
        "TRACESTATE": settings["parent_tracestate"],
        "BAGGAGE": settings["parent_baggage"],
    }
    extracted = context_from_environment({name: value for name, value in variables.items() if value})
    if not trace_api.get_current_span(extracted).get_span_context().is_valid:
        return None
    context_api.attach(extracted)
    return extracted


@atexit.register
def _shutdown_at_exit() -> None:
    handle = _active
    if handle is not None:
        handle.shutdown()
