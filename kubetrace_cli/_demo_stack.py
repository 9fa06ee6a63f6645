"""The demo's processes: the examples/ scripts started with sys.executable, learnt from, and stopped.

Each example prints one line when it is ready (`LISTENING host:port`, `WATCHING node`), so a
service is started on port 0 and the launcher reads the port it got: no port is picked here and
raced for. Stdout is read line by line on a thread; stderr goes to a file whose tail explains a
service that failed.
"""

from __future__ import annotations

import contextlib
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

STOP_GRACE_S = 5.0  # each example flushes its spans on SIGTERM, bounded by its shutdown timeout
_LOG_TAIL_LINES = 20


class DemoError(Exception):
    """The demo cannot go on; the message says why, for the user."""


class Service:
    """One running example: `python examples/<name>.py` with its own environment."""

    def __init__(self, name: str, script: Path, env: Mapping[str, str], log_dir: Path):
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self.output: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, str(script)],
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )
        threading.Thread(target=self._read, name=f"demo-{name}-stdout", daemon=True).start()

    @property
    def pid(self) -> int:
        return self.process.pid

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def expect(self, prefix: str, deadline: float) -> str:
        """What follows `prefix` on the first stdout line that starts with it, read before `deadline`
        (a time.monotonic() value); DemoError if the process exits or the deadline passes first."""
        while True:
            try:
                line = self._lines.get(timeout=max(deadline - time.monotonic(), 0))
            except queue.Empty:
                raise DemoError(
                    f"{self.name} did not print {prefix.strip()!r} in time{self.log_tail()}"
                ) from None
            if line is None:
                code = self.process.wait()
                raise DemoError(f"{self.name} exited with status {code}{self.log_tail()}")
            self.output.append(line)
            if line.startswith(prefix):
                return line[len(prefix) :].strip()

    def wait_exit(self, deadline: float) -> int:
        """The exit status, once the process has ended and its output is read."""
        try:
            code = self.process.wait(max(deadline - time.monotonic(), 0))
        except subprocess.TimeoutExpired:
            raise DemoError(f"{self.name} did not finish in time{self.log_tail()}") from None
        while (line := self._lines.get()) is not None:
            self.output.append(line)
        return code

    def terminate(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)

    def reap(self, deadline: float) -> None:
        """Wait for the exit; kill the process when it outlives `deadline`."""
        try:
            self.process.wait(max(deadline - time.monotonic(), 0))
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()

    def log_tail(self) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()[-_LOG_TAIL_LINES:]
        except OSError:
            return ""
        return "".join(f"\n    {self.name}| {line}" for line in lines)


class Stack:
    """The examples as processes, started in dependency order and stopped in reverse."""

    def __init__(self, examples: Path, env: Mapping[str, str], log_dir: Path, pids_file: Path | None = None):
        self.examples, self.env, self.log_dir, self.pids_file = examples, dict(env), log_dir, pids_file
        self.services: list[Service] = []

    def start(self, name: str, **env: str) -> Service:
        service = Service(
            name, self.examples / f"{name}.py", {**self.env, "OTEL_SERVICE_NAME": name, **env}, self.log_dir
        )
        self.services.append(service)
        if self.pids_file is not None:
            with open(self.pids_file, "a", encoding="utf-8") as pids:
                pids.write(f"{service.pid}\n")
        return service

    def stop(self, first: tuple[str, ...] = ()) -> None:
        """SIGTERM the services named in `first`, wait for them, then the rest together; whatever is
        still running after STOP_GRACE_S is killed."""
        with shielded():
            early = [s for s in self.services if s.name in first]
            for group in (early, [s for s in self.services if s not in early]):
                for service in group:
                    service.terminate()
                deadline = time.monotonic() + STOP_GRACE_S
                for service in group:
                    service.reap(deadline)


@contextlib.contextmanager
def shielded() -> Iterator[None]:
    """Ctrl-C and SIGTERM wait until the block is done: for cleanup, which is bounded anyway."""
    handled = (signal.SIGINT, signal.SIGTERM) if _main_thread() else ()
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in handled}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()
