"""Find (and if needed build) the Jaeger v2 binary."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = REPO_ROOT / "collector-config"
BUILD_SCRIPT = CONFIG_DIR / "build-jaeger.sh"
BUILD_MODULE = CONFIG_DIR / "build"
DEFAULT_BINARY = REPO_ROOT / ".build" / "bin" / "jaeger"

# A cold build compiles the whole Collector + Jaeger dependency tree.
BUILD_TIMEOUT_S = float(os.environ.get("KUBETRACE_JAEGER_BUILD_TIMEOUT", "3600"))

_lock = threading.Lock()
_built: dict[Path, Path] = {}


class BuildError(RuntimeError):
    """build-jaeger.sh failed; the message carries the tail of its output."""


def _binary_path() -> Path:
    override = os.environ.get("KUBETRACE_JAEGER_BIN")
    return Path(override).resolve() if override else DEFAULT_BINARY


def _fresh(binary: Path) -> bool:
    if not (binary.is_file() and os.access(binary, os.X_OK)):
        return False
    mtime = binary.stat().st_mtime
    return all(mtime > (BUILD_MODULE / name).stat().st_mtime for name in ("go.mod", "go.sum"))


def jaeger_binary(build: bool = True) -> Path | None:
    """Path of the Jaeger v2 binary (.build/bin/jaeger, or $KUBETRACE_JAEGER_BIN).

    Runs collector-config/build-jaeger.sh when the binary is missing or older than the
    pinned go.mod/go.sum and `build` is true and Go is on PATH (once per process).
    Returns None when there is no binary and it cannot be built because Go is missing
    (or build=False). Raises BuildError when a build was attempted and failed.
    """
    binary = _binary_path()
    with _lock:
        if binary in _built:
            return _built[binary]
        if _fresh(binary):
            _built[binary] = binary
            return binary
        if not build or shutil.which("go") is None:
            # A stale binary still beats none when it cannot be rebuilt.
            return binary if binary.is_file() and os.access(binary, os.X_OK) else None
        run_build_script(BUILD_SCRIPT, dict(os.environ, KUBETRACE_JAEGER_BIN=str(binary)), BUILD_TIMEOUT_S)
        if not binary.is_file():
            raise BuildError(f"{BUILD_SCRIPT.name} succeeded but {binary} is missing")
        _built[binary] = binary
        return binary


def run_build_script(script: Path, env: dict[str, str], timeout_s: float, *args: str) -> None:
    """Run one of the repository's build scripts (build-jaeger.sh, build-gopeer.sh, build-otelcol.sh)
    with `args` from the repo root.

    Raises BuildError with the tail of its output when it fails or outlasts `timeout_s`.
    """
    try:
        proc = subprocess.run(
            ["bash", str(script), *args],
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise BuildError(f"{script.name} did not finish in {timeout_s:.0f}s") from exc
    if proc.returncode != 0:
        tail = "\n".join(proc.stdout.splitlines()[-40:])
        raise BuildError(f"{script.name} failed (exit {proc.returncode}):\n{tail}")
