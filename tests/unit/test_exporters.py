"""OTEL_TRACES_EXPORTER: otlp, console, none and comma lists of them, as the SDK environment
specification has it; unknown names warn by name; `kubetrace config` shows the choice and its source."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from opentelemetry import trace

import tracing
from tracing import ConfigError
from tracing.config import resolve


@pytest.mark.parametrize(
    ("raw", "exporters", "source", "warning"),
    [
        (None, ("otlp",), "default", None),
        ("", ("otlp",), "default", None),  # empty is unset
        ("console", ("console",), "env", None),
        (" OTLP , console,otlp", ("otlp", "console"), "env", None),
        ("none", (), "env", None),
        ("console,none", (), "env", None),
        (
            "zipkin,console",
            ("console",),
            "env",
            'OTEL_TRACES_EXPORTER: unknown exporter "zipkin" (known: otlp, console, none); skipped',
        ),
        ("zipkin", ("otlp",), "default", 'OTEL_TRACES_EXPORTER: unknown exporter "zipkin"'),
    ],
)
def test_the_variable_names_the_exporters(raw, exporters, source, warning):
    resolved = resolve(environ={} if raw is None else {"OTEL_TRACES_EXPORTER": raw})
    item = resolved.settings.traces_exporter
    assert (item.value, item.source) == (exporters, "env:OTEL_TRACES_EXPORTER" if source == "env" else source)
    if warning is None:
        assert resolved.warnings == ()
    else:
        assert any(w.startswith(warning) for w in resolved.warnings), resolved.warnings


def test_an_argument_wins_and_none_means_no_exporter():
    resolved = resolve({"traces_exporter": ["none"]}, environ={"OTEL_TRACES_EXPORTER": "console"})
    assert (resolved.settings.traces_exporter.value, resolved.settings.traces_exporter.source) == (
        (),
        "argument",
    )


@pytest.mark.parametrize("bad", ["console", ["kafka"]])
def test_a_bad_argument_is_a_config_error(bad):
    with pytest.raises(ConfigError, match="traces_exporter: a list of otlp, console, none"):
        resolve({"traces_exporter": bad}, environ={})


@pytest.fixture
def shut_down():
    yield
    tracing.shutdown(timeout_ms=2000)


def _one_span(name: str) -> str:
    span = trace.get_tracer("test").start_span(name)
    span.end()
    return f"{span.get_span_context().trace_id:032x}"


@pytest.mark.parametrize(
    ("exporters", "to_receiver", "to_console"),
    [
        (["otlp"], True, False),
        (["console"], False, True),
        (["otlp", "console"], True, True),
        ([], False, False),
    ],
)
def test_spans_go_to_each_exporter_named_and_nowhere_for_none(
    exporters, to_receiver, to_console, otlp_receiver, capsys, shut_down
):
    handle = tracing.setup(traces_exporter=exporters, endpoint=f"http://{otlp_receiver.grpc_endpoint}")
    trace_id = _one_span("exported")
    assert handle.force_flush(5000)
    received = [s for s in otlp_receiver.spans if s.trace_id == trace_id]
    assert bool(received) is to_receiver
    printed = capsys.readouterr().out
    assert (f'"trace_id": "0x{trace_id}"' in printed) is to_console
    assert trace.get_current_span().get_span_context().is_valid is False  # nothing leaked


def test_kubetrace_config_shows_the_exporters_and_where_they_came_from():
    env = {"OTEL_TRACES_EXPORTER": "console,kafka", "PATH": ""}
    proc = subprocess.run(
        [sys.executable, "-m", "kubetrace_cli", "config", "--json"], env=env, capture_output=True, text=True
    )
    doc = json.loads(proc.stdout)
    assert doc["settings"]["traces_exporter"] == {"value": ["console"], "source": "env:OTEL_TRACES_EXPORTER"}
    assert [w for w in doc["warnings"] if "kafka" in w] == [
        'OTEL_TRACES_EXPORTER: unknown exporter "kafka" (known: otlp, console, none); skipped'
    ]
