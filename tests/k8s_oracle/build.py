"""Build (or reuse) the Kubernetes oracle: tests/k8s_oracle -> .build/bin/k8s-oracle.

    python tests/k8s_oracle/build.py          # builds if needed, prints the binary's path
    python tests/k8s_oracle/build.py --force  # always rebuilds

The binary is reused while it is newer than go.mod, go.sum and every *.go file of the module.
A cold build (empty Go build cache) compiles k8s.io/apiserver's server options and their
dependencies: about 4 minutes on 2 cores, plus the module downloads on a new machine.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

MODULE_DIR = Path(__file__).resolve().parent
REPO_ROOT = MODULE_DIR.parents[1]
BINARY = REPO_ROOT / ".build" / "bin" / "k8s-oracle"
BUILD_TIMEOUT_S = float(os.environ.get("KUBETRACE_K8S_ORACLE_BUILD_TIMEOUT", "1800"))


class BuildError(RuntimeError):
    """`go build` failed or timed out; the message carries the tail of its output."""


def _sources() -> list[Path]:
    return [MODULE_DIR / "go.mod", MODULE_DIR / "go.sum", *sorted(MODULE_DIR.glob("*.go"))]


def is_fresh(binary: Path = BINARY) -> bool:
    if not (binary.is_file() and os.access(binary, os.X_OK)):
        return False
    mtime = binary.stat().st_mtime
    return all(mtime > src.stat().st_mtime for src in _sources() if src.exists())


def build_oracle(force: bool = False, binary: Path = BINARY) -> Path:
    """Return the oracle's path, building it first when missing or stale (or when force)."""
    if not force and is_fresh(binary):
        return binary
    go = shutil.which("go")
    if go is None:
        raise BuildError("Go toolchain not found on PATH")
    binary.parent.mkdir(parents=True, exist_ok=True)
    tmp = binary.with_name(f".{binary.name}.tmp{os.getpid()}")
    env = dict(os.environ)
    if "-buildvcs" not in env.get("GOFLAGS", ""):
        env["GOFLAGS"] = (env.get("GOFLAGS", "") + " -buildvcs=false").strip()
    cmd = [go, "build", "-trimpath", "-o", str(tmp), "."]
    try:
        proc = subprocess.run(
            cmd,
            cwd=MODULE_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=BUILD_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        tmp.unlink(missing_ok=True)
        raise BuildError(f"go build of {MODULE_DIR} did not finish in {BUILD_TIMEOUT_S:.0f}s") from exc
    if proc.returncode != 0 or not tmp.is_file():
        tmp.unlink(missing_ok=True)
        tail = "\n".join(proc.stdout.splitlines()[-40:])
        raise BuildError(f"{' '.join(cmd)} failed in {MODULE_DIR} (exit {proc.returncode}):\n{tail}")
    os.replace(tmp, binary)  # atomic: a concurrent reader sees the old binary or the new one
    return binary


def main(argv: list[str]) -> int:
    try:
        print(build_oracle(force="--force" in argv))
    except BuildError as err:
        print(err, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
