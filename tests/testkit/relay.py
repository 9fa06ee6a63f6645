"""A loopback TCP relay that watches what an exporter puts on the wire, for tests of what the bytes
are (TLS or plaintext) and how many there are (compression)."""

from __future__ import annotations

import socket
import threading


class Relay:
    """Listens on 127.0.0.1 and forwards every connection both ways to `target` ("host:port"),
    recording the first bytes each client sends (`first_bytes`, up to 16 a connection) and counting
    every byte clients send (`sent()`). Use as a context manager; leaving it closes every socket."""

    def __init__(self, target: str):
        host, port = target.rsplit(":", 1)
        self._target = (host, int(port))
        self.first_bytes: list[bytes] = []
        self._sent = 0
        self._lock = threading.Lock()
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._server.getsockname()[1]
        self.address = f"127.0.0.1:{self.port}"
        self._sockets: list[socket.socket] = []
        self._pipes: list[threading.Thread] = []
        self._stop = threading.Event()
        self._acceptor = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> Relay:
        self._acceptor.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._acceptor.join(5)  # no pipe starts after this
        self._server.close()
        for s in self._sockets:
            _shut(s)  # wakes a pipe blocked in recv, which close alone would not
        for thread in self._pipes:
            thread.join(5)
        for s in self._sockets:
            s.close()

    def sent(self) -> int:
        """The bytes clients have sent through the relay so far."""
        with self._lock:
            return self._sent

    def _accept(self) -> None:
        self._server.settimeout(0.1)  # closing the socket would not wake a blocked accept()
        while not self._stop.is_set():
            try:
                client, _ = self._server.accept()
            except OSError:  # the timeout included
                continue
            upstream = socket.create_connection(self._target)
            self._sockets += [client, upstream]
            for args in ((client, upstream, True), (upstream, client, False)):
                self._pipes.append(threading.Thread(target=self._pipe, args=args, daemon=True))
                self._pipes[-1].start()

    def _pipe(self, source: socket.socket, sink: socket.socket, from_client: bool) -> None:
        first = from_client
        try:
            while data := source.recv(65536):
                if from_client:
                    with self._lock:
                        self._sent += len(data)
                        if first:
                            self.first_bytes.append(data[:16])
                            first = False
                sink.sendall(data)
        except OSError:
            pass
        finally:
            _shut(source)
            _shut(sink)


def _shut(s: socket.socket) -> None:
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already shut, or never connected
