"""The Go peer (interop/gopeer): build it, run its servers and clients as subprocesses.

    binary = gopeer_binary()                                  # builds via interop/build-gopeer.sh
    env = go_env(receiver, "go-server", propagators="b3multi")
    with GoServer.start(binary, "grpc-server", env) as server:  # reads its "LISTENING host:port"
        out = run_client(binary, "grpc-client", env, "--target", server.address, "--baggage", "k=v")

Every process started here is stopped here: servers on leaving their `with` block (SIGTERM, wait,
SIGKILL), clients by a timeout.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from backends import BuildError, run_build_script
from testkit import stop_process

REPO_ROOT = Path(__file__).resolve().parents[2]
MODULE_DIR = REPO_ROOT / "interop" / "gopeer"
BUILD_SCRIPT = REPO_ROOT / "interop" / "build-gopeer.sh"
DEFAULT_BINARY = REPO_ROOT / ".build" / "bin" / "gopeer"
BUILD_TIMEOUT_S = float(os.environ.get("KUBETRACE_GOPEER_BUILD_TIMEOUT", "1800"))
START_TIMEOUT_S = 15.0
STOP_GRACE_S = 7.0  # gopeer flushes within 5 s of SIGTERM
CLIENT_TIMEOUT_S = 30.0

_lock = threading.Lock()


def gopeer_path() -> Path:
    """Where gopeer is (to be) built: $KUBETRACE_GOPEER_BIN, else <repo>/.build/bin/gopeer."""
    override = os.environ.get("KUBETRACE_GOPEER_BIN")
    return Path(override).resolve() if override else DEFAULT_BINARY


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def gopeer_binary() -> Path | None:
    """Path of gopeer, (re)built by interop/build-gopeer.sh when Go is on PATH (the script reuses a
    binary newer than the module's sources). Without Go, an existing binary is used as it is, and
    None means there is none. Raises BuildError when a build was attempted and failed."""
    binary = gopeer_path()
    with _lock:
        if shutil.which("go") is None:
            return binary if _executable(binary) else None
        run_build_script(BUILD_SCRIPT, dict(os.environ, KUBETRACE_GOPEER_BIN=str(binary)), BUILD_TIMEOUT_S)
        if not _executable(binary):
            raise BuildError(f"{BUILD_SCRIPT.name} succeeded but {binary} is not executable")
        return binary


def go_env(
    receiver, service: str, propagators: str = "tracecontext,baggage", extra: dict[str, str] | None = None
) -> dict[str, str]:
    """The environment of a Go peer exporting to `receiver` (an OtlpReceiver) as `service`, plus
    `extra`. The test process's own OTEL_* variables are not passed on."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.update(
        OTEL_EXPORTER_OTLP_ENDPOINT=f"http://{receiver.grpc_endpoint}",
        OTEL_SERVICE_NAME=service,
        OTEL_PROPAGATORS=propagators,
    )
    env.update(extra or {})
    return env


class GoServer:
    """A running `gopeer grpc-server|http-server`; `address` is the host:port it printed."""

    def __init__(self, process: subprocess.Popen, log_path: Path, command: str):
        self.process, self.log_path, self.command = process, log_path, command
        self.address = ""
        self.returncode: int | None = None

    @classmethod
    def start(cls, binary: Path, command: str, env: dict[str, str], *args: str) -> GoServer:
        log = tempfile.NamedTemporaryFile(prefix=f"gopeer-{command}-", suffix=".log", delete=False)  # noqa: SIM115
        with log:
            process = subprocess.Popen(
                [str(binary), command, "--listen", "127.0.0.1:0", *args],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=log,
                start_new_session=True,
            )
        server = cls(process, Path(log.name), command)
        try:
            server.address = server._read_listening()
        except BaseException:
            server.stop()
            raise
        return server

    def _read_listening(self) -> str:
        deadline = time.monotonic() + START_TIMEOUT_S
        out = self.process.stdout
        assert out is not None
        line = b""
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError(
                    f"gopeer {self.command}: no LISTENING line in {START_TIMEOUT_S:.0f}s\n{self.log()}"
                )
            ready, _, _ = select.select([out], [], [], left)
            if not ready:
                continue
            chunk = os.read(out.fileno(), 1)  # unbuffered: nothing after the line is consumed
            if not chunk:
                raise RuntimeError(
                    f"gopeer {self.command} exited ({self.process.wait()}) before LISTENING\n{self.log()}"
                )
            line += chunk
        word, _, address = line.decode().strip().partition(" ")
        if word != "LISTENING" or not address:
            raise RuntimeError(f"gopeer {self.command}: unexpected first line {line!r}\n{self.log()}")
        return address

    def stop(self) -> int | None:
        """SIGTERM (gopeer flushes its spans and exits 0), then SIGKILL after a grace period."""
        proc = self.process
        stop_process(proc, STOP_GRACE_S, term_group=False)
        if proc.stdout is not None:
            proc.stdout.close()
        self.returncode = proc.returncode
        return self.returncode

    def log(self) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return (
            f"--- gopeer {self.command} stderr ---\n{text}" if text else f"(gopeer {self.command}: no stderr)"
        )

    def remove_log(self) -> None:
        self.log_path.unlink(missing_ok=True)

    def __enter__(self) -> GoServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self.remove_log()


def run_client(binary: Path, command: str, env: dict[str, str], *args: str) -> dict[str, Any]:
    """Run `gopeer grpc-client|http-client ARGS` to completion; its JSON output
    ({client_trace_id, client_span_id, baggage, reply|replies})."""
    proc = subprocess.run(
        [str(binary), command, *args],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=CLIENT_TIMEOUT_S,
        start_new_session=True,
        check=False,
    )
    if proc.returncode != 0:
        raise AssertionError(f"gopeer {command} {' '.join(args)} exited {proc.returncode}:\n{proc.stderr}")
    lines = proc.stdout.strip().splitlines()
    if not lines:
        raise AssertionError(f"gopeer {command}: no output; stderr:\n{proc.stderr}")
    return json.loads(lines[-1])
