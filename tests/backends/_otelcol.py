"""Find (and if needed build) the Go programs of the collector tier: otelcol, kubetrace's
OpenTelemetry Collector distribution, and k8scheck, the Kubernetes manifest checker."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

from ._binary import CONFIG_DIR, REPO_ROOT, BuildError, run_build_script

BUILD_SCRIPT = CONFIG_DIR / "build-otelcol.sh"
# Both are large Go dependency trees (the Collector and contrib; kustomize and k8s.io/api).
BUILD_TIMEOUT_S = float(os.environ.get("KUBETRACE_OTELCOL_BUILD_TIMEOUT", "3600"))

_lock = threading.Lock()
_found: dict[str, Path | None] = {}


def _path(name: str) -> Path:
    override = os.environ.get(f"KUBETRACE_{name.upper()}_BIN")
    return Path(override).resolve() if override else REPO_ROOT / ".build" / "bin" / name


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _binary(name: str) -> Path | None:
    """`name` built by build-otelcol.sh when Go is on PATH (the script reuses a binary newer than
    its module's sources), once per process. Without Go an existing binary is used as it is, and
    None means there is none. Raises BuildError when a build was attempted and failed."""
    binary = _path(name)
    with _lock:
        if name in _found:
            return _found[name]
        if shutil.which("go") is None:
            _found[name] = binary if _executable(binary) else None
            return _found[name]
        env = dict(os.environ, **{f"KUBETRACE_{name.upper()}_BIN": str(binary)})
        run_build_script(BUILD_SCRIPT, env, BUILD_TIMEOUT_S, name)
        if not _executable(binary):
            raise BuildError(f"{BUILD_SCRIPT.name} {name} succeeded but {binary} is not executable")
        _found[name] = binary
        return binary


def otelcol_binary() -> Path | None:
    """Path of the collector tier's OpenTelemetry Collector (.build/bin/otelcol, or
    $KUBETRACE_OTELCOL_BIN); see _binary for when it is built."""
    return _binary("otelcol")


def k8scheck_binary() -> Path | None:
    """Path of the Kubernetes manifest checker (.build/bin/k8scheck, or $KUBETRACE_K8SCHECK_BIN)."""
    return _binary("k8scheck")
