"""Test helpers shared by the suites: loopback endpoints that misbehave on purpose."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import threading
from contextlib import contextmanager


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def dead_endpoint():
    """A loopback port nobody listens on: connections are refused at once."""
    yield f"127.0.0.1:{free_port()}"


@contextmanager
def blackholed_endpoint():
    """A loopback port that accepts TCP connections and never answers a byte: the worst collector."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                held.append(conn)
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        server.close()


def stop_process(proc, grace_s: float, *, term_group: bool = True) -> None:
    """SIGTERM (to the process group, or with term_group=False to the process alone), then SIGKILL
    to the group after `grace_s`. The process must have been started in a session of its own."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        if term_group:
            os.killpg(proc.pid, signal.SIGTERM)
        else:
            proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(grace_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(grace_s)
