"""Log correlation: stdlib logging records made inside a span carry its ids, for any formatter.

setup() (or correlate_logs(), for a tracer provider of your own) installs a log record factory (logging.setLogRecordFactory, the hook the standard library
offers for adding record attributes) that gives every record these attributes:

    trace_id      32 lower-case hex digits of the current span's trace, "" outside a span
    span_id       16 hex digits of the current span, "" outside a span
    trace_flags   2 hex digits of its W3C trace flags ("01": sampled), "" outside a span
    service_name  this process's service.name

so `%(trace_id)s` works in any format string, also for records made outside a span (and after
shutdown(), when the factory stays to fill the blanks). The attributes are set when the record is
made, in the thread or task that logs, so a QueueHandler's records keep the ids of the code that made
them. Outside a span the factory reads the current context once and sets four constants (see
_CorrelatedRecord); benchmarks/log_correlation.py measures what that costs. JsonFormatter writes records as JSON lines
with Kubernetes' field names.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

from opentelemetry import trace as trace_api
from opentelemetry.sdk.resources import SERVICE_NAME

from ._otel_private import SPAN_KEY, current

FIELDS = ("trace_id", "span_id", "trace_flags", "service_name")
_lock = threading.Lock()


class _Correlation:
    """What records get; `active` is False between shutdown() and the next setup(), when they get
    only the blanks, so a format naming %(trace_id)s keeps working."""

    def __init__(self) -> None:
        self.active = False
        self.service_name = ""

    def ids(self, span: Any) -> tuple[str, str, str]:
        """(trace_id, span_id, trace_flags) of `span` (the current one, or None), or blanks."""
        if span is not None and self.active:
            context = span.get_span_context()
            if context.is_valid:
                return f"{context.trace_id:032x}", f"{context.span_id:016x}", f"{context.trace_flags:02x}"
        return _BLANK


_BLANK = ("", "", "")
_correlation = _Correlation()
_installed = False  # the factory stays for good once installed: other factories may have wrapped it
_init_record = logging.LogRecord.__init__


class _CorrelatedRecord(logging.LogRecord):
    """The record factory when logging's own is in place (the usual case).

    Outside a span a record costs what it must and no more: one frame, one read of the current
    Context (the ContextVar itself, through _otel_private.current) and four attribute stores
    (benchmarks/log_correlation.py; the stores cannot go: formatters read record.__dict__, which
    class attributes are not in). The parameters are LogRecord's, named, and passed on as they are:
    forwarding *args/**kwargs cost more than everything else together. LogRecord takes **kwargs
    and ignores them, so they are not passed on. The attributes are set first, always in the same
    order, so every record's __dict__ keeps sharing one key table: added after LogRecord's own they
    cost a dict conversion per record, three times as much."""

    def __init__(
        self,
        name: str,
        level: int,
        pathname: str,
        lineno: int,
        msg: object,
        args: Any,
        exc_info: Any,
        func: str | None = None,
        sinfo: str | None = None,
        **kwargs: Any,
    ) -> None:
        span = current().get(SPAN_KEY)
        if span is None:  # the common case, inline: no call to ids()
            self.trace_id = self.span_id = self.trace_flags = ""
        else:
            self.trace_id, self.span_id, self.trace_flags = _correlation.ids(span)
        self.service_name = _correlation.service_name
        _init_record(self, name, level, pathname, lineno, msg, args, exc_info, func, sinfo)


def _wrapping(wrapped: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    """The record factory over a factory of someone else's."""
    state = _correlation

    def correlated_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = wrapped(*args, **kwargs)
        record.trace_id, record.span_id, record.trace_flags = state.ids(current().get(SPAN_KEY))
        record.service_name = state.service_name
        return record

    return correlated_record


def correlate_logs(service_name: str | None = None) -> Callable[[], None]:
    """Give every logging record made from now on the ids of the span current where it is made.

    setup() does this unless log correlation is off; call it yourself when you build your own SDK
    tracer provider. `service_name` defaults to the service.name of the global tracer provider's
    resource (set it first), else "". Returns the function that stops it: records made after it get
    blank ids, so a format naming %(trace_id)s keeps working."""
    if service_name is None:
        resource = getattr(trace_api.get_tracer_provider(), "resource", None)
        service_name = str(resource.attributes.get(SERVICE_NAME, "")) if resource is not None else ""
    global _installed
    with _lock:
        _correlation.service_name, _correlation.active = service_name, True
        if not _installed:
            current_factory = logging.getLogRecordFactory()
            own = current_factory is logging.LogRecord
            logging.setLogRecordFactory(_CorrelatedRecord if own else _wrapping(current_factory))
            _installed = True

    def uninstall() -> None:
        with _lock:
            _correlation.active = False

    return uninstall


# Attributes every LogRecord has (and what Formatter.format adds): the rest are the caller's `extra`.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}
_OURS = frozenset(FIELDS)
_DEBUG_VERBOSITY = 4  # Kubernetes' logging conventions: V(4) is debug-level verbosity


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the field names of Kubernetes' JSON log format
    (k8s.io/component-base/logs/json), so Kubernetes' log tooling reads Python services' logs too:

        ts          milliseconds since the Unix epoch (a float), as Kubernetes writes it
        caller      file:line of the logging call
        logger      the logger's name (not for the root logger)
        msg         the message, %-arguments applied
        v           verbosity, for records below ERROR: 0, or 4 for DEBUG and below
        err         for ERROR and above with an exception: its message; its traceback in stacktrace
        trace_id, span_id, trace_flags, service.name   inside a span (log correlation, see setup())
        ...         then the record's `extra` fields, as Kubernetes writes key/value pairs

        handler.setFormatter(tracing.JsonFormatter())
    """

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": record.created * 1000,
            "caller": f"{record.filename}:{record.lineno}",
        }
        if record.name != "root":
            doc["logger"] = record.name
        doc["msg"] = record.getMessage()
        if record.levelno < logging.ERROR:
            doc["v"] = 0 if record.levelno >= logging.INFO else _DEBUG_VERBOSITY
        elif record.exc_info and record.exc_info[1] is not None:
            doc["err"] = str(record.exc_info[1]) or type(record.exc_info[1]).__name__
            doc["stacktrace"] = self.formatException(record.exc_info)
        if getattr(record, "trace_id", ""):
            doc["trace_id"], doc["span_id"] = record.trace_id, record.span_id  # type: ignore[attr-defined]
            doc["trace_flags"] = record.trace_flags  # type: ignore[attr-defined]
            doc["service.name"] = record.service_name  # type: ignore[attr-defined]
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key not in _OURS and key not in doc:
                doc[key] = value
        return json.dumps(doc, ensure_ascii=False, default=str)
