"""storage: an etcd-like key-value store over gRPC (storage.v1.KV: Put, Get, Range, Watch).

    STORAGE_LISTEN=127.0.0.1:2379 python examples/storage.py

Every write is one revision of the whole store, as in etcd; Watch replays the changes under a
prefix from any revision, then streams new ones until the caller cancels. The apiserver example
keeps its pods here. Prints `LISTENING host:port` once it serves (port 0 picks a free port).

Tracing takes two lines: tracing.setup(), and the server interceptor. Every call becomes a SERVER
span named `storage.v1.KV/<Method>`, the child of the caller's span (its context comes in the gRPC
metadata), with the OpenTelemetry RPC attributes.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable, Iterator
from concurrent import futures

import grpc
from _generated import storage_pb2, storage_pb2_grpc

import tracing
from interceptors import grpc as kgrpc


class StoreError(Exception):
    def __init__(self, code: grpc.StatusCode, message: str):
        super().__init__(message)
        self.code = code


class Store:
    """Revisioned keys in memory. The whole history is kept (this is an example): a watcher can
    start from any revision."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._history: list[storage_pb2.KeyValue] = []  # revision N is _history[N - 1]
        self._latest: dict[str, storage_pb2.KeyValue] = {}

    def put(self, key: str, value: bytes, expected_revision: int | None) -> storage_pb2.KeyValue:
        with self._changed:
            current = self._latest.get(key)
            if expected_revision == 0 and current is not None:
                raise StoreError(grpc.StatusCode.ALREADY_EXISTS, f"key {key} already exists")
            if expected_revision and (current is None or current.mod_revision != expected_revision):
                found = current.mod_revision if current else "none"
                raise StoreError(
                    grpc.StatusCode.FAILED_PRECONDITION,
                    f"key {key} is at revision {found}, not {expected_revision}",
                )
            revision = len(self._history) + 1
            created = current.create_revision if current else revision
            kv = storage_pb2.KeyValue(key=key, value=value, create_revision=created, mod_revision=revision)
            self._history.append(kv)
            self._latest[key] = kv
            self._changed.notify_all()
            return kv

    def get(self, key: str) -> storage_pb2.KeyValue:
        with self._changed:
            if key not in self._latest:
                raise StoreError(grpc.StatusCode.NOT_FOUND, f"key {key} not found")
            return self._latest[key]

    def range(self, prefix: str) -> tuple[list[storage_pb2.KeyValue], int]:
        with self._changed:
            found = [kv for key, kv in sorted(self._latest.items()) if key.startswith(prefix)]
            return found, len(self._history)

    def changes(self, prefix: str, start_revision: int, active: Callable[[], bool]) -> Iterator:
        """Every put under `prefix` from `start_revision` on (0: from now), while `active()`."""
        with self._changed:
            next_revision = start_revision or len(self._history) + 1
        while active():
            with self._changed:
                while len(self._history) < next_revision and active():
                    self._changed.wait()
                batch = self._history[next_revision - 1 :]
            next_revision += len(batch)
            yield from (kv for kv in batch if kv.key.startswith(prefix))

    def wake_watchers(self) -> None:
        with self._changed:
            self._changed.notify_all()


class KV(storage_pb2_grpc.KVServicer):
    def __init__(self, store: Store):
        self.store = store

    def Put(self, request, context):
        expected = request.expected_revision if request.HasField("expected_revision") else None
        with _status_on_error(context):
            return storage_pb2.PutResponse(kv=self.store.put(request.key, request.value, expected))

    def Get(self, request, context):
        with _status_on_error(context):
            return storage_pb2.GetResponse(kv=self.store.get(request.key))

    def Range(self, request, context):
        kvs, revision = self.store.range(request.prefix)
        return storage_pb2.RangeResponse(kvs=kvs, revision=revision)

    def Watch(self, request, context):
        context.add_callback(self.store.wake_watchers)  # the caller cancelled: stop waiting
        for kv in self.store.changes(request.prefix, request.start_revision, context.is_active):
            yield storage_pb2.WatchEvent(kv=kv)


@contextlib.contextmanager
def _status_on_error(context: grpc.ServicerContext) -> Iterator[None]:
    """A StoreError becomes the call's gRPC status, as etcd answers a failed compare."""
    try:
        yield
    except StoreError as err:
        context.abort(err.code, str(err))


def main() -> None:
    os.environ.setdefault("OTEL_SERVICE_NAME", "storage")
    tracing.setup()
    # a watch holds a worker for as long as it runs
    server = kgrpc.instrument_server(grpc.server(futures.ThreadPoolExecutor(max_workers=32)))
    storage_pb2_grpc.add_KVServicer_to_server(KV(Store()), server)
    host, _, port = os.environ.get("STORAGE_LISTEN", "127.0.0.1:2379").rpartition(":")
    port = server.add_insecure_port(f"{host}:{port}")
    server.start()
    print(f"LISTENING {host}:{port}", flush=True)

    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stop on SIGTERM as on Ctrl-C
    try:
        server.wait_for_termination()
    except KeyboardInterrupt:
        server.stop(grace=1).wait()
    finally:
        tracing.shutdown()  # export the spans still queued


if __name__ == "__main__":
    main()
