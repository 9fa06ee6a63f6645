"""How a finished HTTP call is recorded on its span: status code, error.type and span status.

Servers fail on 5xx only (a 4xx is the caller's mistake); clients fail on 4xx and 5xx (the call did
not get what it asked for). An exception always fails the call, recorded with its class name and an
exception event whose message and stack trace have credentials redacted: urllib3 and requests put
the request's path and query in their messages ("Max retries exceeded with url: /o?X-Amz-Signature=").
"""

from __future__ import annotations

import traceback

from opentelemetry.trace import Span, Status, StatusCode

from ._redact import redact_text
from ._semconv import ERROR_TYPE, EXCEPTION_MESSAGE, EXCEPTION_STACKTRACE, STATUS_CODE

SERVER_ERROR_FROM = 500
CLIENT_ERROR_FROM = 400


def record_outcome(span: Span, status: int | None, exc: BaseException | None, error_from: int) -> None:
    """Set the final attributes and status of a recording span (the caller ends it)."""
    if exc is not None:
        error = type(exc).__qualname__
        span.record_exception(exc, _redacted_exception(exc), escaped=True)
    elif status is not None and status >= error_from:
        error = str(status)
    else:
        if status is not None:
            span.set_attribute(STATUS_CODE, status)
        return
    attributes: dict[str, object] = {ERROR_TYPE: error}
    if status is not None:
        attributes[STATUS_CODE] = status
    span.set_attributes(attributes)
    span.set_status(Status(StatusCode.ERROR, error))


def _redacted_exception(exc: BaseException) -> dict[str, str]:
    """The exception event's message and stack trace as the SDK writes them, redacted (they replace its own)."""
    return {
        EXCEPTION_MESSAGE: redact_text(str(exc)),
        EXCEPTION_STACKTRACE: redact_text("".join(traceback.format_exception(exc))),
    }
