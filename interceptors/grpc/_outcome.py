"""How a gRPC call ended: the status code each side reports, which codes make a span an error, and
the Outcome the core records for them (describe_server, describe_client)."""

from __future__ import annotations

import asyncio

import grpc

from tracing.instrumentation import Outcome

from ._semconv import STATUS_CODE

_C = grpc.StatusCode

# Semantic conventions for RPC: a server span is an error only for codes that mean the server failed;
# a caller's mistake (NOT_FOUND, INVALID_ARGUMENT, ...) is the client's error, not the server's.
# A tuple, not a set: hashing an Enum runs Python code, scanning six identities does not.
_SERVER_ERRORS = (
    _C.UNKNOWN,
    _C.DEADLINE_EXCEEDED,
    _C.UNIMPLEMENTED,
    _C.INTERNAL,
    _C.UNAVAILABLE,
    _C.DATA_LOSS,
)

# Control flow, not failures: the call was cancelled or its response stream was closed.
_CONTROL_FLOW = (GeneratorExit, asyncio.CancelledError)
_ABORT_ERRORS = (grpc.aio.AbortError,)
_DEADLINE_SKEW_S = 0.05


def is_error(code: grpc.StatusCode, server: bool) -> bool:
    return code in _SERVER_ERRORS if server else code is not _C.OK


def _plain(server: bool) -> dict[int, Outcome]:
    """The outcome of each code without details or exception, built once, keyed by the code's id():
    hashing an Enum member runs Python code, on every call."""
    return {
        id(code): Outcome(is_error(code, server), code.name, None, {STATUS_CODE: code.value[0]})
        for code in _C
    }


_PLAIN_SERVER, _PLAIN_CLIENT = _plain(True), _plain(False)


def _describe(plain: dict[int, Outcome], server: bool):
    def describe(
        code: grpc.StatusCode | None, details: str | None, exception: BaseException | None
    ) -> Outcome:
        if code is None:  # an exception ended the call before grpc gave it a status
            if isinstance(exception, asyncio.CancelledError):  # the caller cancelled: not a failure
                return plain[id(_C.CANCELLED)]
            code = _C.UNKNOWN
        if details is None and exception is None:
            return plain[id(code)]
        return Outcome(is_error(code, server), details or code.name, exception, plain[id(code)].attributes)

    return describe


describe_server = _describe(_PLAIN_SERVER, True)
describe_client = _describe(_PLAIN_CLIENT, False)


def server_outcome(
    context, exc: BaseException | None
) -> tuple[grpc.StatusCode, str | None, BaseException | None]:
    """The code and details the client will see, and the exception worth recording (if any).

    Read from the servicer context after the handler is done, so set_code(), abort() and
    abort_with_status() are all reflected however the handler reached them.
    """
    if _peer_gone(context, exc):
        code = _C.DEADLINE_EXCEEDED if _deadline_passed(context) else _C.CANCELLED
        # The request iterator raises RpcError once the client is gone; that is not the handler failing.
        return code, None, None if isinstance(exc, (*_CONTROL_FLOW, grpc.RpcError)) else exc
    code = context.code()
    if exc is None and code in (None, _C.OK):
        return _C.OK, None, None
    details = text(context.details())
    if exc is None:
        return code, details, None
    if _is_abort(exc, code) or isinstance(exc, _CONTROL_FLOW):
        return code or _C.UNKNOWN, details, None
    # grpc answers an unhandled exception with UNKNOWN unless the handler set a code before raising.
    return code or _C.UNKNOWN, details or f"{type(exc).__name__}: {exc}", exc


def text(details: str | bytes | None) -> str | None:
    """Details as text: the sync server keeps them as bytes."""
    if isinstance(details, bytes):
        return details.decode("utf-8", "replace")
    return details or None


def _is_abort(exc: BaseException, code: grpc.StatusCode | None) -> bool:
    # Sync abort() sets the code and raises a bare Exception(); grpc.aio raises AbortError.
    return isinstance(exc, _ABORT_ERRORS) or (type(exc) is Exception and not exc.args and code is not None)


def _peer_gone(context, exc: BaseException | None) -> bool:
    if isinstance(exc, _CONTROL_FLOW):
        # grpc.aio cancels the handler's task, and grpc closes a response stream it stops reading,
        # only when the client went away (cancelled, deadline passed) or the server is stopping.
        return True
    is_active = getattr(context, "is_active", None)  # sync servers
    if is_active is not None:
        return not is_active()
    cancelled = getattr(context, "cancelled", None)  # grpc.aio; its sync-handler context has neither
    return cancelled is not None and cancelled()


def _deadline_passed(context) -> bool:
    remaining = context.time_remaining()
    # When a deadline passes, the client's cancel can reach the server a moment before the server's
    # own timer fires (its deadline starts when the request arrives); both mean the deadline.
    return remaining is not None and remaining <= _DEADLINE_SKEW_S
