"""Run a program under zero-code tracing, both ways, with its spans going to an in-process receiver."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path

from kubetrace_cli.receiver import OtlpReceiver, ReceivedSpan

ROOT = Path(__file__).resolve().parents[2]
APPS = Path(__file__).resolve().parent / "apps"
RUN = "kubetrace run"
INSTRUMENT = "opentelemetry-instrument"
WAYS = (RUN, INSTRUMENT)
# opentelemetry-instrument with upstream's distro and configurator (opentelemetry-distro), which turn
# on contrib's instrumentor for every library that has one; named, because with OTEL_PYTHON_DISTRO
# unset opentelemetry-instrument takes the first distro importlib.metadata lists (sys.path order, then
# the order the file system lists a directory in), which may as well be kubetrace's.
UPSTREAM = "opentelemetry-instrument, upstream's distro"
PLAIN = "python"  # no launcher: the program's own tracing.setup()
GRPC_SCOPE, HTTP_SERVER_SCOPE = "kubetrace.grpc", "kubetrace.http.server"
CONTRIB_GRPC_SCOPE = "opentelemetry.instrumentation.grpc"


def command(way: str, argv: list[str]) -> list[str]:
    if way == RUN:
        return [sys.executable, "-m", "kubetrace_cli", "run", "--", *argv]
    if way == PLAIN:
        return argv
    return [str(Path(sys.executable).parent / "opentelemetry-instrument"), *argv]


def environment(way: str, otlp_endpoint: str, entry_points_dir: Path, **extra: str) -> dict[str, str]:
    """The process environment less any tracing settings of the developer's shell, plus ours:
    spans go to `otlp_endpoint` (http://host:port, OTLP/gRPC)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "KUBETRACE_"))}
    path = [str(APPS), str(ROOT), str(entry_points_dir)]
    env.update(
        PYTHONPATH=os.pathsep.join([*path, *filter(None, [os.environ.get("PYTHONPATH")])]),
        OTEL_SERVICE_NAME="zerocode-app",
        OTEL_EXPORTER_OTLP_ENDPOINT=otlp_endpoint,
        OTEL_BSP_SCHEDULE_DELAY="50",
    )
    if way == INSTRUMENT:
        env["OTEL_PYTHON_DISTRO"] = "kubetrace"
    elif way == UPSTREAM:  # traces only: the receiver serves no metrics or logs
        env.update(
            OTEL_PYTHON_DISTRO="distro",
            OTEL_PYTHON_CONFIGURATOR="configurator",
            OTEL_METRICS_EXPORTER="none",
            OTEL_LOGS_EXPORTER="none",
        )
    env.update(extra)
    return env


@dataclass
class Run:
    proc: subprocess.CompletedProcess
    spans: list[ReceivedSpan]

    def named(self, name: str) -> list[ReceivedSpan]:
        return [s for s in self.spans if s.name == name]

    def kinds(self, kind: str, scope: str | None = None) -> list[ReceivedSpan]:
        return [s for s in self.spans if s.kind == kind and (scope is None or s.scope == scope)]


def run_app(way: str, argv: list[str], receiver: OtlpReceiver, entry_points_dir: Path, **extra: str) -> Run:
    """Run `argv` to its end under `way` and collect what reached the receiver (the program's exit
    flushes its spans before it returns)."""
    receiver.clear()
    proc = subprocess.run(
        command(way, argv),
        env=environment(way, f"http://{receiver.grpc_endpoint}", entry_points_dir, **extra),
        cwd=APPS,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return Run(proc, receiver.spans)


def exports_traced(spans: list[ReceivedSpan]) -> list[ReceivedSpan]:
    """Spans of the exporter's own calls to the receiver: each export would trace the next, for ever."""
    return [
        s
        for s in spans
        if "TraceService" in s.name or str(s.attributes.get("url.full", "")).endswith("/v1/traces")
    ]


def app(name: str) -> list[str]:
    return [sys.executable, str(APPS / name)]


def entry_points_for_tests(directory: Path) -> Path:
    """A directory for PYTHONPATH with distributions whose entry points the tests need: the fake
    contrib instrumentor "fakelib" (apps/fake_instrumentor.py) and, when the kubetrace installed here
    predates them (a development checkout installed before they were added), this checkout's distro
    and configurator entry points; an install of this tree, as in CI, has those in its own metadata."""
    _distribution(
        directory,
        "kubetrace_testkit",
        ["[opentelemetry_instrumentor]\nfakelib = fake_instrumentor:FakeInstrumentor\n"],
    )
    if not entry_points(group="opentelemetry_distro", name="kubetrace"):
        text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
        sections = []
        for group in ("opentelemetry_distro", "opentelemetry_configurator"):
            found = re.search(
                rf"^\[project\.entry-points\.{group}\]\n((?:[^\[\n][^\n]*\n)+)", text, re.MULTILINE
            )
            assert found, f"pyproject.toml declares no {group} entry point"
            lines = [line.replace('"', "") for line in found.group(1).splitlines() if line.strip()]
            sections.append(f"[{group}]\n" + "\n".join(lines) + "\n")
        _distribution(directory, "kubetrace_checkout", sections)
    return directory


def _distribution(directory: Path, name: str, entry_point_sections: list[str]) -> None:
    info = directory / f"{name}-0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0\n")
    (info / "entry_points.txt").write_text("\n".join(entry_point_sections))
