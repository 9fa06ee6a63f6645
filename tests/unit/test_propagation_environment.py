"""Environment variables carry trace context into child processes (OpenTelemetry env carriers)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from opentelemetry import baggage, propagate, trace
from opentelemetry.context import Context

import tracing
from tracing.propagation import (
    ENVIRONMENT_GETTER,
    ENVIRONMENT_SETTER,
    context_from_environment,
    environment_for_child,
    extract,
    inject,
)
from tracing.propagation._environment import variable_name

CHILD = Path(__file__).with_name("_child_print_parent.py")
ROOT = Path(__file__).resolve().parents[2]
VALID = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def _span_context(context: Context):
    return trace.get_current_span(context).get_span_context()


def _hex(span_context) -> tuple[str, str]:
    return format(span_context.trace_id, "032x"), format(span_context.span_id, "016x")


@pytest.mark.parametrize(
    ("key", "variable"),
    [
        ("traceparent", "TRACEPARENT"),
        ("tracestate", "TRACESTATE"),
        ("baggage", "BAGGAGE"),
        ("x-b3-traceid", "X_B3_TRACEID"),
        ("b3", "B3"),
        ("uber-trace-id", "UBER_TRACE_ID"),
        ("uberctx-tenant", "UBERCTX_TENANT"),
        ("1st.key", "_1ST_KEY"),
    ],
)
def test_propagator_keys_map_to_portable_upper_case_variables(key, variable):
    assert variable_name(key) == variable


def test_child_environment_carries_the_current_span_and_keeps_the_rest(recorder):
    base = {"PATH": "/usr/bin", "HOME": "/root"}
    with recorder.provider.get_tracer("t").start_as_current_span("parent") as span:
        env = environment_for_child(base)
    trace_id, span_id = _hex(span.get_span_context())
    flags = format(span.get_span_context().trace_flags, "02x")
    assert env == {"PATH": "/usr/bin", "HOME": "/root", "TRACEPARENT": f"00-{trace_id}-{span_id}-{flags}"}
    assert base == {"PATH": "/usr/bin", "HOME": "/root"}, "the base mapping is not modified"


@pytest.mark.parametrize("propagators", [("tracecontext", "baggage"), ("b3multi", "jaeger")])
def test_inherited_trace_variables_are_removed_even_with_no_current_span(propagators):
    propagate.set_global_textmap(tracing.build_propagator(propagators))
    stale = {"TRACEPARENT": VALID, "TRACESTATE": "old=1", "BAGGAGE": "old=1", "KEEP": "1"}
    stale.update(
        X_B3_TRACEID="4bf92f3577b34da6a3ce929d0e0e4736",
        X_B3_SPANID="00f067aa0ba902b7",
        UBER_TRACE_ID="x",
        UBERCTX_TENANT="old",
    )
    assert environment_for_child(stale) == {"KEEP": "1"}


def test_default_base_is_the_whole_process_environment(monkeypatch):
    monkeypatch.setenv("KUBETRACE_TEST_MARKER", "kept")
    monkeypatch.setenv("TRACEPARENT", VALID)
    env = environment_for_child()
    assert env["KUBETRACE_TEST_MARKER"] == "kept"
    assert env["PATH"] == os.environ["PATH"]
    assert "TRACEPARENT" not in env


def test_an_explicit_context_is_injected_instead_of_the_current_one(recorder):
    given = extract({"traceparent": VALID, "tracestate": "vendor=x"}, tracing.propagation.HEADERS_GETTER)
    env = environment_for_child({}, context=baggage.set_baggage("tenant", "a b", given))
    assert env == {"TRACEPARENT": VALID, "TRACESTATE": "vendor=x", "BAGGAGE": "tenant=a%20b"}
    back = context_from_environment(env)
    assert _hex(_span_context(back)) == ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7")
    assert _span_context(back).trace_state.get("vendor") == "x"
    assert baggage.get_baggage("tenant", back) == "a b"


@pytest.mark.parametrize(
    ("propagators", "variables"),
    [
        (("b3multi",), {"X_B3_TRACEID", "X_B3_SPANID", "X_B3_SAMPLED"}),
        (("b3",), {"B3"}),
        (("jaeger",), {"UBER_TRACE_ID"}),
    ],
)
def test_other_configured_propagators_use_their_own_upper_case_variables(recorder, propagators, variables):
    propagate.set_global_textmap(tracing.build_propagator(propagators))
    with recorder.provider.get_tracer("t").start_as_current_span("parent") as span:
        env = environment_for_child({})
    assert set(env) == variables
    assert _hex(_span_context(context_from_environment(env))) == _hex(span.get_span_context())


def test_jaeger_baggage_keys_round_trip_through_variables():
    propagate.set_global_textmap(tracing.build_propagator(("jaeger",)))
    env = {"UBER_TRACE_ID": "4bf92f3577b34da6a3ce929d0e0e4736:00f067aa0ba902b7:0:1", "UBERCTX_TENANT": "acme"}
    assert sorted(ENVIRONMENT_GETTER.keys(env)) == ["uber-trace-id", "uberctx-tenant"]
    context = context_from_environment(env)
    assert baggage.get_baggage("tenant", context) == "acme"
    out: dict[str, str] = {}
    inject(out, ENVIRONMENT_SETTER, context)
    assert out["UBERCTX_TENANT"] == "acme"


@pytest.mark.parametrize(
    "env",
    [
        {"TRACEPARENT": "garbage"},
        {"TRACEPARENT": "00-00000000000000000000000000000000-00f067aa0ba902b7-01"},
        {"TRACEPARENT": "00-" + "a" * 10_000},
        {"TRACEPARENT": VALID.upper().replace("00-", "ff-", 1)},
        {"TRACEPARENT": 12345},
        {"TRACEPARENT": None},
        {"TRACEPARENT": b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
        {"BAGGAGE": "=" * 20_000},
        {1: "x", ("tuple",): VALID},
    ],
    ids=repr,
)
def test_hostile_environment_values_give_an_empty_context(env):
    context = context_from_environment(env)
    assert not _span_context(context).is_valid
    assert dict(baggage.get_all(context)) == {}


# --- a real child process -------------------------------------------------------------------------


def _run_child(env: dict[str, str]) -> dict:
    proc = subprocess.run([sys.executable, str(CHILD)], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _clean_base() -> dict[str, str]:
    """This process's environment without any tracing configuration of its own."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "KUBETRACE_"))}
    base["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return base


def test_a_child_process_root_span_continues_the_parents_trace(recorder):
    with recorder.provider.get_tracer("t").start_as_current_span("spawn") as span:
        env = environment_for_child(_clean_base(), context=baggage.set_baggage("tenant", "acme"))
    trace_id, span_id = _hex(span.get_span_context())
    report = _run_child(env)
    assert report["trace_id"] == trace_id
    assert report["parent_span_id"] == span_id
    assert report["thread_parent_span_id"] == span_id
    assert report["env_trace_id"] == trace_id
    assert report["env_baggage"] == {"tenant": "acme"}


def test_a_child_can_be_told_to_ignore_traceparent(recorder):
    with recorder.provider.get_tracer("t").start_as_current_span("spawn") as span:
        env = environment_for_child(_clean_base())
    env["KUBETRACE_TRACEPARENT_FROM_ENV"] = "false"
    report = _run_child(env)
    assert report["parent_span_id"] is None and report["thread_parent_span_id"] is None
    assert report["trace_id"] != _hex(span.get_span_context())[0]


def test_a_child_with_a_malformed_traceparent_starts_a_new_trace():
    env = {**_clean_base(), "TRACEPARENT": "00-zzzz-not-a-trace-01", "TRACESTATE": "=;="}
    report = _run_child(env)
    assert report["parent_span_id"] is None
    assert report["env_trace_id"] == "0" * 32
