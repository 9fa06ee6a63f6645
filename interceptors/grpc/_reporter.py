"""One call's span after it started: messages as they pass, and its status once, at the end."""

from __future__ import annotations

import threading

import grpc
from opentelemetry.context import Context
from opentelemetry.trace import Span, Status, StatusCode

from tracing._otel_private import attach, detach

from ._status import is_error, server_outcome

_STATUS_CODE = "rpc.grpc.status_code"


class Reporter:
    """What every adapter feeds: enter()/exit() around handler code, on_send/on_receive, end().

    The adapters call end() from wherever their call finishes (a done-callback, a generator's
    finally, an except clause); the first call wins, so a span can never be ended twice.
    """

    __slots__ = ("_ended", "_held", "_received", "_sent", "_server", "context", "events", "recording", "span")

    def __init__(
        self, span: Span, context: Context, server: bool, message_events: bool, recording: bool | None = None
    ):
        self.span, self.context, self._server = span, context, server
        self.recording = span.is_recording() if recording is None else recording
        self.events = message_events and self.recording
        self._sent = self._received = 0
        # Acquired by the one end() that counts; an unsampled span has nothing to end.
        self._ended = threading.Lock() if self.recording else None
        self._held: _Held | None = None

    def enter(self) -> object:
        """Make the span current for handler code; returns the token for exit(), which the caller
        makes in the same frame, with no yield or await between (so in the same context)."""
        return attach(self.context)

    exit = staticmethod(detach)

    def on_send(self, message: object) -> None:
        if self.events and not self._ended.locked():
            self._sent += 1
            self.span.add_event("message", _message("SENT", self._sent, message))

    def on_receive(self, message: object) -> None:
        if self.events and not self._ended.locked():
            self._received += 1
            self.span.add_event("message", _message("RECEIVED", self._received, message))

    def end(
        self, code: grpc.StatusCode, details: str | None = None, exception: BaseException | None = None
    ) -> None:
        """Set the status for `code` (recording `exception` if given) and end the span, once."""
        if self._held is None or self._held.end_now((code, details, exception)):
            self._finish(code, details, exception)

    def end_server(self, servicer_context, exc: BaseException | None) -> None:
        """end() with the outcome the servicer context shows; read only if the span records."""
        if self.recording:
            self.end(*server_outcome(servicer_context, exc))

    def _finish(self, code: grpc.StatusCode, details: str | None, exception: BaseException | None) -> None:
        if self._ended is None or not self._ended.acquire(blocking=False):
            return
        span = self.span
        span.set_attribute(_STATUS_CODE, code.value[0])
        if exception is not None:
            span.record_exception(exception)
        if is_error(code, self._server):
            span.set_status(Status(StatusCode.ERROR, details or code.name))
        span.end()

    def hold(self) -> None:
        """Make end() wait for release(): a client's response stream has its status before the caller
        has read the last messages, and with message events their events belong on the span."""
        self._held = _Held()

    def release(self) -> None:
        """The caller is done with the response stream (read to the end, failed, or dropped it)."""
        outcome = self._held.release() if self._held is not None else None
        if outcome is not None:
            self._finish(*outcome)


class _Held:
    """end() and release() in either order, from any thread: the second one ends the span."""

    __slots__ = ("_lock", "_outcome", "_released")

    def __init__(self):
        self._lock = threading.Lock()
        self._outcome: tuple | None = None
        self._released = False

    def end_now(self, outcome: tuple) -> bool:
        with self._lock:
            if self._outcome is None:
                self._outcome = outcome
            return self._released

    def release(self) -> tuple | None:
        with self._lock:
            first, self._released = not self._released, True
            return self._outcome if first else None


def _message(direction: str, seq: int, message: object) -> dict[str, str | int]:
    event: dict[str, str | int] = {"message.type": direction, "message.id": seq}
    size = _size(message)
    if size is not None:
        event["message.uncompressed_size"] = size
    return event


def _size(message: object) -> int | None:
    byte_size = getattr(message, "ByteSize", None)  # protobuf messages
    if byte_size is not None:
        return byte_size()
    return len(message) if isinstance(message, (bytes, bytearray, memoryview, str)) else None
