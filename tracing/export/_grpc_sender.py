"""OTLP/gRPC: one unary TraceService/Export call per batch, the request already encoded.

The call is made with no serializers, so the bytes the encoder wrote go to the wire as they are and
the response comes back as bytes (parsed only for a partial success). The channel is made on the
first send, so a process that forks before exporting anything (a prefork server's master) never
made one, and a forked child makes its own.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import grpc

from ._retry import Outcome
from ._status import partial_success

_METHOD = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
_RETRY_INFO = "google.rpc.retryinfo-bin"
_RETRYABLE = frozenset(
    (
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.CANCELLED,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.ABORTED,
        grpc.StatusCode.OUT_OF_RANGE,
        grpc.StatusCode.DATA_LOSS,
    )
)


@dataclass(frozen=True)
class GrpcTarget:
    """Where and how to send: a gRPC target (host:port, dns:///..., unix:...) and its options."""

    endpoint: str
    credentials: grpc.ChannelCredentials | None  # None: plaintext
    headers: tuple[tuple[str, str], ...]
    gzip: bool
    user_agent: str


class GrpcSender:
    """Sends encoded batches to one OTLP/gRPC endpoint."""

    def __init__(self, target: GrpcTarget):
        self.target = target
        self.describe = f"grpc {target.endpoint}"
        self._compression = grpc.Compression.Gzip if target.gzip else grpc.Compression.NoCompression
        self._metadata = tuple((key.lower(), value) for key, value in target.headers)
        self._channel: grpc.Channel | None = None
        self._export = None
        self._lock = threading.Lock()
        self._call: grpc.Future | None = None

    def send(self, body: bytes, timeout_s: float) -> Outcome:
        """Send one request, waiting at most `timeout_s` (or until cancel())."""
        if self._export is None:
            self._connect()
        future = self._export.future(
            body, timeout=timeout_s, metadata=self._metadata, compression=self._compression
        )
        with self._lock:
            self._call = future
        try:
            response = future.result()
        except grpc.FutureCancelledError:
            return Outcome.failure("cancelled: shutdown ran out of time", retryable=False)
        except grpc.RpcError as err:
            return _classify(err)
        finally:
            with self._lock:
                self._call = None
        return partial_success(response)

    def cancel(self) -> None:
        """End the call in flight now (shutdown's time is up); send() then returns a failure."""
        with self._lock:
            call = self._call
        if call is not None:
            call.cancel()

    def close(self) -> None:
        if self._channel is not None:
            self._channel.close()
            self._channel = self._export = None

    def forget(self) -> None:
        """In a forked child: drop the parent's channel without using it (gRPC's state belongs to the
        parent); the child connects anew on its first send."""
        self._channel = self._export = self._call = None
        self._lock = threading.Lock()

    def _connect(self) -> None:
        target = self.target
        options = (("grpc.primary_user_agent", target.user_agent),)
        if target.credentials is None:
            self._channel = grpc.insecure_channel(target.endpoint, options, self._compression)
        else:
            self._channel = grpc.secure_channel(
                target.endpoint, target.credentials, options, self._compression
            )
        self._export = self._channel.unary_unary(_METHOD)


def _classify(err: grpc.RpcError) -> Outcome:
    code = err.code()
    retry_after = _retry_delay(err)
    retryable = code in _RETRYABLE or (code is grpc.StatusCode.RESOURCE_EXHAUSTED and retry_after is not None)
    return Outcome.failure(f"{code.name}: {err.details()}", retryable, retry_after)


def _retry_delay(err: grpc.RpcError) -> float | None:
    """The delay of a google.rpc.RetryInfo in the trailers, if the server sent one."""
    for key, value in err.trailing_metadata() or ():
        if key == _RETRY_INFO:
            from google.rpc.error_details_pb2 import RetryInfo

            try:
                delay = RetryInfo.FromString(value).retry_delay
            except Exception:  # a malformed RetryInfo is no RetryInfo
                return None
            return delay.seconds + delay.nanos / 1e9
    return None
