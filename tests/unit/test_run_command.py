"""`kubetrace run`: what it gives the program (the sitecustomize first on PYTHONPATH, the trace
context it was given, its exit status) and how it refuses to start."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import kubetrace_auto

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "KUBETRACE_", "TRACE"))}
    base.update(OTEL_TRACES_SAMPLER="always_off", **env)  # nothing to export from these programs
    return subprocess.run(
        [sys.executable, "-m", "kubetrace_cli", "run", *args],
        env=base,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_program_starts_with_tracing_set_up_and_the_site_directory_first_on_its_path():
    show = "import os, tracing; print(tracing.active() is not None); print(os.environ['PYTHONPATH'])"
    proc = _run("--", sys.executable, "-c", show, PYTHONPATH=str(ROOT))
    assert proc.returncode == 0, proc.stderr
    active, path = proc.stdout.splitlines()
    assert active == "True"
    assert path.split(os.pathsep) == [str(kubetrace_auto.SITE_DIR), str(ROOT)]


def test_the_program_keeps_the_trace_context_it_was_given():
    traceparent = f"00-{'1' * 32}-{'2' * 16}-01"
    proc = _run(
        sys.executable,
        "-c",
        "import os; print(os.environ['TRACEPARENT'])",
        PYTHONPATH=str(ROOT),
        TRACEPARENT=traceparent,
    )
    assert proc.stdout.strip() == traceparent, proc.stderr


def test_the_exit_status_is_the_programs_own():
    proc = _run("--", sys.executable, "-c", "raise SystemExit(3)", PYTHONPATH=str(ROOT))
    assert proc.returncode == 3, proc.stderr


def test_no_program_is_an_error_that_says_how_to_give_one():
    proc = _run()
    assert proc.returncode == 2
    assert "kubetrace run -- python app.py" in proc.stderr


def test_a_program_not_found_exits_127_naming_it():
    proc = _run("--", "no-such-program-kt")
    assert proc.returncode == 127
    assert proc.stderr.strip() == "kubetrace run: no-such-program-kt: command not found"


def test_a_bad_tracing_file_stops_it_before_the_program_starts(tmp_path):
    bad = tmp_path / "tracing.yaml"
    bad.write_text(
        "apiVersion: apiserver.config.k8s.io/v1\nkind: TracingConfiguration\nsamplingRatePerMillion: 2000000\n"
    )
    marker = tmp_path / "ran"
    proc = _run("--", sys.executable, "-c", f"open({str(marker)!r}, 'w')", KUBETRACE_CONFIG=str(bad))
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"{bad}: samplingRatePerMillion: ")
    assert not marker.exists()
