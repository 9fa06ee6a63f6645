"""How a finished HTTP call is recorded on its span: status code, error.type and span status, as the
Outcome the core records (describe_server, describe_client).

Servers fail on 5xx only (a 4xx is the caller's mistake); clients fail on 4xx and 5xx (the call did
not get what it asked for). An exception always fails the call, recorded with its class name and an
exception event whose message and stack trace have credentials redacted: urllib3 and requests put
the request's path and query in their messages ("Max retries exceeded with url: /o?X-Amz-Signature=").
"""

from __future__ import annotations

import traceback
from collections.abc import Callable

from tracing.instrumentation import Outcome

from ._redact import redact_text
from ._semconv import ERROR_TYPE, EXCEPTION_MESSAGE, EXCEPTION_STACKTRACE, STATUS_CODE

SERVER_ERROR_FROM = 500
CLIENT_ERROR_FROM = 400
_NO_STATUS = Outcome(False)
_MAX_CACHED = 1000  # status codes are three digits; anything else is not cached


def _describe(error_from: int) -> Callable[[int | None, str | None, BaseException | None], Outcome]:
    by_status: dict[int, Outcome] = {}

    def describe(status: int | None, details: str | None, exception: BaseException | None) -> Outcome:
        if exception is not None:
            error = type(exception).__qualname__
            attributes = {ERROR_TYPE: error} if status is None else {ERROR_TYPE: error, STATUS_CODE: status}
            return Outcome(True, error, exception, attributes, _redacted_exception(exception))
        if status is None:
            return _NO_STATUS
        outcome = by_status.get(status)
        if outcome is None:
            if status >= error_from:
                outcome = Outcome(True, str(status), None, {ERROR_TYPE: str(status), STATUS_CODE: status})
            else:
                outcome = Outcome(False, None, None, {STATUS_CODE: status})
            if 0 <= status < _MAX_CACHED:
                by_status[status] = outcome
        return outcome

    return describe


describe_server = _describe(SERVER_ERROR_FROM)
describe_client = _describe(CLIENT_ERROR_FROM)


def _redacted_exception(exc: BaseException) -> dict[str, str]:
    """The exception event's message and stack trace as the SDK writes them, redacted (they replace its own)."""
    return {
        EXCEPTION_MESSAGE: redact_text(str(exc)),
        EXCEPTION_STACKTRACE: redact_text("".join(traceback.format_exception(exc))),
    }
