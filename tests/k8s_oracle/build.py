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
import sys
from pathlib import Path

MODULE_DIR = Path(__file__).resolve().parent
REPO_ROOT = MODULE_DIR.parents[1]
if __name__ == "__main__":  # run as a script: testkit is found as pytest finds it, under tests/
    sys.path.insert(0, str(MODULE_DIR.parent))

from testkit.gobuild import BuildError, is_fresh, run_build  # noqa: E402

BINARY = REPO_ROOT / ".build" / "bin" / "k8s-oracle"
BUILD_TIMEOUT_S = float(os.environ.get("KUBETRACE_K8S_ORACLE_BUILD_TIMEOUT", "1800"))


def _sources() -> list[Path]:
    return [MODULE_DIR / "go.mod", MODULE_DIR / "go.sum", *sorted(MODULE_DIR.glob("*.go"))]


def build_oracle(force: bool = False, binary: Path = BINARY) -> Path:
    """Return the oracle's path, building it first when missing or stale (or when force)."""
    if not force and is_fresh(binary, _sources()):
        return binary
    go = shutil.which("go")
    if go is None:
        raise BuildError("Go toolchain not found on PATH")
    binary.parent.mkdir(parents=True, exist_ok=True)
    tmp = binary.with_name(f".{binary.name}.tmp{os.getpid()}")
    env = dict(os.environ)
    if "-buildvcs" not in env.get("GOFLAGS", ""):
        env["GOFLAGS"] = (env.get("GOFLAGS", "") + " -buildvcs=false").strip()
    try:
        run_build(
            [go, "build", "-trimpath", "-o", str(tmp), "."],
            cwd=MODULE_DIR,
            env=env,
            timeout_s=BUILD_TIMEOUT_S,
        )
        if not tmp.is_file():
            raise BuildError(f"go build in {MODULE_DIR} succeeded but wrote no {tmp}")
    except BuildError:
        tmp.unlink(missing_ok=True)
        raise
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
