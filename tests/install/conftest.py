"""kubetrace installed as a user installs it: a wheel built from this checkout (and an editable
install of a copy of it) in a fresh virtual environment, run from a directory that is not the checkout.

The environments see the global site-packages (--system-site-packages), so the dependencies are
there without the network; kubetrace itself comes only from the environment's own site-packages,
which come first, and PYTHONPATH is dropped so that nothing of the checkout leaks in. The build
runs on a copy of the checkout: setuptools' build/ directory keeps files a checkout has deleted.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_NOT_SOURCE = shutil.ignore_patterns(
    ".build", ".git", "__pycache__", ".ruff_cache", ".pytest_cache", ".venv", "build", "dist", "*.egg-info"
)


@dataclass(frozen=True)
class Installed:
    """A virtual environment with kubetrace in it."""

    root: Path
    workdir: Path  # an empty directory, not the checkout, to run commands from

    @property
    def bin(self) -> Path:
        return self.root / "bin"

    @property
    def python(self) -> str:
        return str(self.bin / "python")

    def env(self) -> dict[str, str]:
        """This process's environment without PYTHONPATH and without any tracing settings of the
        developer's, the environment's bin first on PATH."""
        kept = {
            k: v
            for k, v in os.environ.items()
            if k != "PYTHONPATH"
            and not k.startswith(("OTEL_", "KUBETRACE_"))
            and k not in ("COLUMNS", "LINES")
        }
        return {
            **kept,
            "PATH": f"{self.bin}{os.pathsep}{os.environ.get('PATH', '')}",
            "VIRTUAL_ENV": str(self.root),
        }

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(
            list(args), cwd=self.workdir, env=self.env(), capture_output=True, text=True, timeout=timeout
        )


def _pip(*args: str) -> None:
    # --no-index: nothing is fetched; the wheel, and the deps in the global site-packages, suffice.
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", *args, "--no-index", "--no-deps"],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _venv(path: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(path)], check=True
    )
    return path


@pytest.fixture(scope="session")
def source_copy(tmp_path_factory) -> Path:
    copy = tmp_path_factory.mktemp("checkout") / "kubetrace"
    shutil.copytree(ROOT, copy, ignore=_NOT_SOURCE)
    return copy


@pytest.fixture(scope="session")
def wheel(source_copy, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    _pip("wheel", "--no-build-isolation", "--wheel-dir", str(out), str(source_copy))
    (built,) = out.glob("kubetrace-*.whl")
    return built


@pytest.fixture(scope="session")
def from_wheel(wheel, tmp_path_factory) -> Installed:
    """kubetrace installed from its wheel, as `pip install kubetrace-*.whl` does."""
    root = _venv(tmp_path_factory.mktemp("venv") / "wheel")
    # pip runs for the environment's interpreter (--python), so it installs there and never touches
    # the kubetrace the global site-packages may hold (an editable install of some checkout).
    _pip("--python", str(root / "bin" / "python"), "install", "--force-reinstall", str(wheel))
    return Installed(root, tmp_path_factory.mktemp("anywhere"))


@pytest.fixture(scope="session")
def editable(source_copy, tmp_path_factory) -> Installed:
    """A copy of the checkout installed editable, as the README's `pip install -e ".[demo]"` does."""
    root = _venv(tmp_path_factory.mktemp("venv") / "editable")
    python = str(root / "bin" / "python")
    _pip(
        "--python",
        python,
        "install",
        "--force-reinstall",
        "--no-build-isolation",
        "--editable",
        str(source_copy),
    )
    return Installed(root, tmp_path_factory.mktemp("anywhere"))
