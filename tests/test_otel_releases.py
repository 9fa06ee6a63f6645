"""The library's suites pass on the oldest and on the newest OpenTelemetry release pyproject.toml allows.

kubetrace reads a little private OpenTelemetry state on its hot paths (checked at import), and the
API's behaviour moved between releases (1.39's no-op tracer, for one, drops the parent's context),
so the allowed range is tested, not assumed. Each end of the range gets a virtual environment
under .build/ (git-ignored, kept between runs), layered over this interpreter's packages and
holding only the OpenTelemetry distributions at that release (contrib's instrumentations at the
matching 0.(minor+21)b(patch) line, for the benchmarks' upstream variants); the unit, gRPC and
HTTP suites then run there in a child pytest. The backend suites (e2e, interop, demo) exercise
the same library code and run once, in the main run.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from backends import require_or_skip

REPO_ROOT = Path(__file__).resolve().parents[1]
# Set in the child run so that it does not start children of its own.
NESTED = "KUBETRACE_OTEL_RELEASE_RUN"
SUITES = ["tests/unit", "tests/grpc", "tests/http", "tests/test_layering.py"]
CORE = [
    "opentelemetry-api",
    "opentelemetry-sdk",
    "opentelemetry-proto",
    "opentelemetry-exporter-otlp-proto-common",
    "opentelemetry-exporter-otlp-proto-grpc",
    "opentelemetry-exporter-otlp-proto-http",
    "opentelemetry-propagator-b3",
    "opentelemetry-propagator-jaeger",
]
CONTRIB = [
    "opentelemetry-semantic-conventions",
    "opentelemetry-instrumentation",
    "opentelemetry-util-http",
    "opentelemetry-instrumentation-grpc",
    "opentelemetry-instrumentation-wsgi",
    "opentelemetry-instrumentation-asgi",
    "opentelemetry-instrumentation-requests",
    "opentelemetry-instrumentation-httpx",
    "opentelemetry-instrumentation-urllib3",
]

pytestmark = pytest.mark.skipif(os.environ.get(NESTED) == "1", reason="inside a release run already")


def allowed_sdk_range() -> str:
    """The `opentelemetry-sdk` specifier of pyproject.toml's dependencies, e.g. '>=1.39,<2'."""
    text = (REPO_ROOT / "pyproject.toml").read_text()
    found = re.search(r'"opentelemetry-sdk([<>=!~][^"]*)"', text)
    assert found, "pyproject.toml: dependencies: no opentelemetry-sdk requirement"
    return found.group(1)


def oldest_allowed(spec: str) -> str:
    lower = re.search(r">=\s*([0-9.]+)", spec)
    assert lower, f"pyproject.toml: opentelemetry-sdk{spec}: needs a >= lower bound"
    version = lower.group(1)
    return version if version.count(".") == 2 else version + ".0"


def newest_allowed(spec: str) -> str:
    """Ask pip which release it would install for the range (a dry run: nothing is installed)."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--dry-run",
            "--no-deps",
            "--ignore-installed",
            "--quiet",
            "--report",
            "-",
            f"opentelemetry-sdk{spec}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if proc.returncode != 0:
        require_or_skip(
            "PyPI", f"pip could not resolve opentelemetry-sdk{spec}: {proc.stderr.strip()[-300:]}"
        )
    return json.loads(proc.stdout)["install"][0]["metadata"]["version"]


def pins(version: str) -> tuple[list[str], list[str]]:
    """(core, contrib): the SDK and API at `version` exactly and the other core distributions at their
    newest release of that minor line not past it (not every distribution publishes every patch);
    contrib's line for that minor (0.(minor+21)bN), newest first, not past bPATCH."""
    major, minor, patch = (int(part) for part in version.split(".")[:3])
    assert major == 1, f"contrib's release numbering is known for 1.x only, not {version}"
    exact = {"opentelemetry-api", "opentelemetry-sdk"}
    core = [f"{name}=={version}" if name in exact else f"{name}>=1.{minor}.0,<={version}" for name in CORE]
    line = f"0.{minor + 21}b"
    return core, [f"{name}>={line}0,<={line}{patch}" for name in CONTRIB]


def pip_install(python: Path, *args: str) -> None:
    proc = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *args],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if proc.returncode != 0:
        require_or_skip("PyPI", f"pip install {' '.join(args)} failed: {proc.stderr.strip()[-500:]}")


def release_env(version: str) -> Path:
    """A virtual environment over this interpreter's packages with OpenTelemetry at `version`."""
    venv = REPO_ROOT / ".build" / f"otel-{version}"
    python = venv / "bin" / "python"
    stamp = venv / "kubetrace-pins.txt"
    core, contrib = pins(version)
    wanted = "\n".join(core + contrib)
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return python
    subprocess.run([sys.executable, "-m", "venv", "--clear", "--system-site-packages", str(venv)], check=True)
    # The protobuf runtime follows opentelemetry-proto's range; the generated code of grpc's health
    # service must match that runtime, so it is resolved in the same step.
    pip_install(python, *core, "grpcio-health-checking")
    # Contrib may lag a patch release of the SDK (1.45.2 has no 0.66b2 instrumentations): take its
    # newest release of the line without letting its exact pins pull the SDK back. Only the tests
    # that compare with or sit beside upstream instrumentation import it.
    pip_install(python, "--no-deps", *contrib)
    stamp.write_text(wanted)
    return python


@pytest.mark.timeout(1800)
@pytest.mark.parametrize("end", ["oldest", "newest"])
def test_library_suites_pass_on_each_end_of_the_allowed_opentelemetry_range(end):
    spec = allowed_sdk_range()
    version = oldest_allowed(spec) if end == "oldest" else newest_allowed(spec)
    python = release_env(version)
    installed = subprocess.run(
        [str(python), "-c", "import opentelemetry.sdk.version as v; print(v.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert installed == version, f"the {end} environment has OpenTelemetry SDK {installed}, not {version}"
    env = dict(os.environ, **{NESTED: "1"}, PYTHONPATH=str(REPO_ROOT))
    proc = subprocess.run(
        [str(python), "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *SUITES],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1700,
        check=False,
    )
    tail = "\n".join(proc.stdout.splitlines()[-30:])
    assert proc.returncode == 0, (
        f"OpenTelemetry {version} ({end} allowed by {spec}):\n{tail}\n{proc.stderr[-2000:]}"
    )
    assert re.search(r"\d+ passed", tail), tail
