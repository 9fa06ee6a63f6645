"""Building the Go programs the tests run: whether a built binary is fresh, and running a build."""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path


class BuildError(RuntimeError):
    """A build failed or did not finish in time; the message carries the tail of its output."""


def is_fresh(binary: Path, sources: Iterable[Path]) -> bool:
    """`binary` is executable and newer than every one of `sources` that exists."""
    if not (binary.is_file() and os.access(binary, os.X_OK)):
        return False
    mtime = binary.stat().st_mtime
    return all(mtime > src.stat().st_mtime for src in sources if src.exists())


def run_build(cmd: Sequence[str], *, cwd: Path, env: Mapping[str, str], timeout_s: float) -> None:
    """Run `cmd` in `cwd`, its output captured; raise BuildError naming the command, with the tail
    of its output, when it fails or outlasts `timeout_s`."""
    what = f"`{shlex.join(cmd)}` (in {cwd})"
    try:
        proc = subprocess.run(
            list(cmd),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise BuildError(f"{what} did not finish in {timeout_s:.0f}s") from exc
    if proc.returncode != 0:
        tail = "\n".join(proc.stdout.splitlines()[-40:])
        raise BuildError(f"{what} failed (exit {proc.returncode}):\n{tail}")
