"""Real HTTP servers on loopback for the tests: wsgiref (threaded, from testkit) for WSGI, uvicorn
for ASGI.

Each is a context manager that yields the base URL and stops the server (and its thread) on exit.
"""

from __future__ import annotations

import importlib.util
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from testkit.wsgi import wsgi_server

__all__ = ["asgi_server", "wsgi_server"]


@contextmanager
def asgi_server(app: Any) -> Iterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    ws = "websockets-sansio" if importlib.util.find_spec("websockets") else "none"
    config = uvicorn.Config(app, log_level="critical", timeout_graceful_shutdown=1, ws=ws)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.005)
    try:
        if not server.started:
            raise RuntimeError("uvicorn did not start")
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
