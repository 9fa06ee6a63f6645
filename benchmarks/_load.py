"""The load generator of capacity.py: uninstrumented client processes that keep a server saturated.

Each process keeps `concurrency` requests in flight, back to back: grpc.aio unary calls on one
channel per process (one thread, so no GIL hand-offs between client threads), or GET requests on
keep-alive HTTP/1.1 connections, one per thread, over blocking sockets with a minimal client (in
our measurements half the CPU per request of asyncio streams). On a small machine every
microsecond the load spends is one the server does not get. Completed and failed requests are counted in a small shared file mapping, one slot
per request stream, so the parent reads them at any instant without asking.

No tracing is installed here: the only spans a run expects are the server's, one per request.
"""

from __future__ import annotations

import asyncio
import mmap
import select
import socket
import subprocess
import sys
import tempfile
import threading
import time
from typing import NamedTuple

HTTP_PATH = "/users/42"


class LoadSpec(NamedTuple):
    wire: str  # "grpc" or "http"
    host: str
    port: int
    processes: int
    concurrency: int  # requests in flight per process


class Load:
    """Load processes started on a spec, each answered once before this returns; a context manager
    that stops them on exit.

    Plain child processes, not multiprocessing's (which would import the benchmark's main module
    again in every child). The shared mapping holds the stop flag, then one completed count per
    request stream, then one failed count per stream."""

    def __init__(self, spec: LoadSpec, timeout: float = 60.0):
        streams = spec.processes * spec.concurrency
        with tempfile.TemporaryFile() as shared:  # the mapping outlives the file
            shared.truncate(8 * (1 + 2 * streams))
            self._counts, self._streams = _mapped(shared.fileno()), streams
            self._processes = [self._start(spec, index, shared.fileno()) for index in range(spec.processes)]
        deadline = time.monotonic() + timeout
        for process in self._processes:
            answered = select.select([process.stdout], [], [], max(0.0, deadline - time.monotonic()))[0]
            if not answered or process.stdout.readline().strip() != "ready":
                self.stop()
                raise RuntimeError(f"load generator: the server at {spec.host}:{spec.port} never answered")

    def _start(self, spec: LoadSpec, index: int, fd: int) -> subprocess.Popen:
        streams = (index * spec.concurrency, self._streams)
        return subprocess.Popen(
            [sys.executable, __file__, *map(str, (*spec[:3], spec.concurrency, fd, *streams))],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            pass_fds=(fd,),
            text=True,
        )

    def completed(self) -> int:
        return sum(self._counts[1 : 1 + self._streams])

    def failed(self) -> int:
        return sum(self._counts[1 + self._streams :])

    def pids(self) -> list[int]:
        return [process.pid for process in self._processes]

    def stop(self) -> None:
        """Let every request in flight finish, then end the processes."""
        self._counts[0] = 1
        for process in self._processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            process.stdout.close()

    def __enter__(self) -> Load:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _mapped(fd: int) -> memoryview:
    return memoryview(mmap.mmap(fd, 0)).cast("Q")


class _Streams(NamedTuple):
    """This process's view of the shared counts: its streams are first .. first + concurrency - 1."""

    counts: memoryview
    first: int
    total: int  # streams of all processes

    def count(self, stream: int, ok: bool) -> None:
        self.counts[(1 if ok else 1 + self.total) + self.first + stream] += 1

    @property
    def stopping(self) -> int:
        return self.counts[0]


async def _grpc_load(spec: LoadSpec, streams: _Streams) -> None:
    import grpc.aio
    from _echo import METHOD, PAYLOAD

    async with grpc.aio.insecure_channel(f"{spec.host}:{spec.port}") as channel:
        stub = channel.unary_unary(METHOD)

        async def call() -> bool:
            try:
                await stub(PAYLOAD, timeout=30)
                return True
            except grpc.RpcError:
                return False

        async def drive(stream: int) -> None:
            while not streams.stopping:
                streams.count(stream, await call())

        deadline = time.monotonic() + 60
        while not await call():  # the server may still be starting
            if time.monotonic() > deadline:
                return
            await asyncio.sleep(0.05)
        streams.count(0, True)  # the server answered it, and traced it
        print("ready", flush=True)
        await asyncio.gather(*(drive(i) for i in range(spec.concurrency)))


def _http_load(spec: LoadSpec, streams: _Streams) -> None:
    ready = threading.Barrier(spec.concurrency + 1)

    def drive(stream: int) -> None:
        connection = _Connection(spec.host, spec.port)
        ready.wait()
        while not streams.stopping:
            streams.count(stream, connection.get())

    threads = [threading.Thread(target=drive, args=(i,), daemon=True) for i in range(spec.concurrency)]
    for thread in threads:
        thread.start()
    ready.wait()
    print("ready", flush=True)
    for thread in threads:
        thread.join()


_REQUEST = f"GET {HTTP_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: bench\r\n\r\n".encode()


class _Connection:
    """One keep-alive HTTP/1.1 connection, reopened when the server closes it."""

    def __init__(self, host: str, port: int):
        self.address = (host, port)
        self.sock: socket.socket | None = None
        self.pending = b""

    def get(self) -> bool:
        """One GET; True when answered 200 (the servers measured always send Content-Length)."""
        try:
            if self.sock is None:
                self.sock = socket.create_connection(self.address)
                self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self.pending = b""
            self.sock.sendall(_REQUEST)
            return self._status() == 200
        except OSError:
            if self.sock is not None:
                self.sock.close()
                self.sock = None
            return False

    def _status(self) -> int:
        data = self.pending
        while (end := data.find(b"\r\n\r\n")) < 0:
            data += self._recv()
        head, body = data[:end], data[end + 4 :]
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(body) < length:
            body += self._recv()
        self.pending = body[length:]
        return int(head[9:12])

    def _recv(self) -> bytes:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        return chunk


def _main(argv: list[str]) -> None:
    wire, host, port, concurrency, fd, first, total = argv
    spec = LoadSpec(wire, host, int(port), 1, int(concurrency))
    streams = _Streams(_mapped(int(fd)), int(first), int(total))
    if wire == "grpc":
        asyncio.run(_grpc_load(spec, streams))
    else:
        _http_load(spec, streams)


if __name__ == "__main__":
    _main(sys.argv[1:])
