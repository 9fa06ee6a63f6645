"""A program that instruments itself with kubetrace, run under opentelemetry-instrument with upstream's
distro (contrib's instrumentors on for grpc, Flask, requests, urllib3, httpx): each call gets one server span
and one client span, contrib's, and stderr one line per library saying which tracer was kept. The same
program without the launcher gets kubetrace's spans, so the check cannot pass for want of spans."""

from __future__ import annotations

import pytest
from _zerocode import PLAIN, UPSTREAM, app, run_app

CONTRIB_SCOPES = {
    "grpc_sync": {"opentelemetry.instrumentation.grpc"},
    "grpc_aio": {"opentelemetry.instrumentation.grpc"},
    "http": {"opentelemetry.instrumentation.flask", "opentelemetry.instrumentation.requests"},
    "http_clients": {
        "opentelemetry.instrumentation.flask",
        "opentelemetry.instrumentation.urllib3",
        "opentelemetry.instrumentation.httpx",
    },
}
KUBETRACE_SCOPES = {
    "grpc_sync": {"kubetrace.grpc"},
    "grpc_aio": {"kubetrace.grpc"},
    "http": {"kubetrace.http.server", "kubetrace.http.client"},
    "http_clients": {"kubetrace.http.server", "kubetrace.http.client"},
}
# The libraries each part instruments with kubetrace, by their instrumentation names.
LIBRARIES = {
    "grpc_sync": ["grpc_client", "grpc_server"],
    "grpc_aio": ["grpc_aio_client", "grpc_aio_server"],
    "http": ["flask", "requests"],
    "http_clients": ["flask", "httpx", "urllib3"],
}
KEPT = "is already traced by"
CALLS = 2  # per part: explicit_app.py's docstring


def _one_server_and_one_client_span_per_call(run) -> None:
    servers, clients = run.kinds("SERVER"), run.kinds("CLIENT")
    assert len(servers) == CALLS and len(clients) == CALLS, sorted(
        (s.kind, s.scope, s.name) for s in run.spans
    )
    assert len(run.spans) == 2 * CALLS
    by_id = {client.span_id: client for client in clients}
    assert sorted(by_id[server.parent_span_id].trace_id for server in servers) == sorted(
        server.trace_id for server in servers
    )
    assert len({server.trace_id for server in servers}) == CALLS


@pytest.mark.parametrize("part", sorted(LIBRARIES))
def test_under_upstreams_distro_contribs_spans_are_kept_and_kubetrace_adds_none(
    part, receiver, entry_points_dir
):
    run = run_app(UPSTREAM, [*app("explicit_app.py"), part], receiver, entry_points_dir)
    _one_server_and_one_client_span_per_call(run)
    assert {s.scope for s in run.spans} == CONTRIB_SCOPES[part]
    # upstream's configurator exported them, not kubetrace's (which names itself as the distro)
    assert {
        "telemetry.auto.version" in s.resource and "telemetry.distro.name" not in s.resource
        for s in run.spans
    } == {True}
    said = [line for line in run.proc.stderr.splitlines() if KEPT in line]
    assert sorted(line.split()[1] for line in said) == LIBRARIES[part], run.proc.stderr
    for line in said:
        assert "keeping its spans, kubetrace adds none" in line
        assert (
            "OTEL_PYTHON_DISTRO=kubetrace" in line
            and f"OTEL_PYTHON_DISABLED_INSTRUMENTATIONS={line.split()[1]}" in line
        )


@pytest.mark.parametrize("part", sorted(LIBRARIES))
def test_without_a_launcher_the_same_program_gets_kubetraces_spans(part, receiver, entry_points_dir):
    run = run_app(PLAIN, [*app("explicit_app.py"), part], receiver, entry_points_dir)
    _one_server_and_one_client_span_per_call(run)
    assert {s.scope for s in run.spans} == KUBETRACE_SCOPES[part]
    assert KEPT not in run.proc.stderr
