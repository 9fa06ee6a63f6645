"""Find (and if needed build) the Jaeger v2 binary."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

from testkit.gobuild import BuildError, is_fresh, run_build

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = REPO_ROOT / "collector-config"
BUILD_SCRIPT = CONFIG_DIR / "build-jaeger.sh"
BUILD_MODULE = CONFIG_DIR / "build"
DEFAULT_BINARY = REPO_ROOT / ".build" / "bin" / "jaeger"

# A cold build compiles the whole Collector + Jaeger dependency tree.
BUILD_TIMEOUT_S = float(os.environ.get("KUBETRACE_JAEGER_BUILD_TIMEOUT", "3600"))

_lock = threading.Lock()
_built: dict[Path, Path] = {}


def _binary_path() -> Path:
    override = os.environ.get("KUBETRACE_JAEGER_BIN")
    return Path(override).resolve() if override else DEFAULT_BINARY


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
        if is_fresh(binary, (BUILD_MODULE / "go.mod", BUILD_MODULE / "go.sum")):
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
    run_build(["bash", str(script), *args], cwd=REPO_ROOT, env=env, timeout_s=timeout_s)
