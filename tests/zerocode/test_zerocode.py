"""Zero-code tracing, both ways (`kubetrace run` and `OTEL_PYTHON_DISTRO=kubetrace
opentelemetry-instrument`), on real apps in subprocesses whose code has no tracing in it: the spans
that reach a receiver, one per call, parented across the wire."""

from __future__ import annotations

import json
import sys

import pytest
from _zerocode import (
    CONTRIB_GRPC_SCOPE,
    GRPC_SCOPE,
    HTTP_SERVER_SCOPE,
    INSTRUMENT,
    RUN,
    WAYS,
    app,
    exports_traced,
    run_app,
)

CLIENT_SCOPE = "kubetrace.http.client"


def _one_trace_each(run, server_name: str, count: int) -> None:
    """`count` client calls, each the parent of one server span named `server_name`, in its own trace."""
    servers = run.named(server_name)
    assert len(servers) == count, [s.name for s in run.spans]
    clients = {s.span_id: s for s in run.kinds("CLIENT")}
    for server in servers:
        parent = clients[server.parent_span_id]
        assert parent.trace_id == server.trace_id
    assert len({s.trace_id for s in servers}) == count


@pytest.mark.parametrize("way", WAYS)
def test_a_flask_app_and_its_requests_urllib3_and_httpx_calls_are_traced_once_each(
    way, receiver, entry_points_dir
):
    run = run_app(way, app("flask_app.py"), receiver, entry_points_dir)
    _one_trace_each(run, "GET /items/<int:item>", 4)
    assert {s.service for s in run.spans} == {"zerocode-app"}
    clients = run.kinds("CLIENT")
    assert len(clients) == 4 and {s.scope for s in clients} == {
        CLIENT_SCOPE
    }  # no urllib3 span under requests
    assert sorted(s.attributes["url.full"].rsplit("/", 1)[1] for s in clients) == ["1", "2", "3", "4"]
    # What opentelemetry-instrument would have loaded for these libraries is named, once, and left out.
    said = [line for line in run.proc.stderr.splitlines() if "one tracer per library" in line]
    assert len(said) == 1 and "requests" in said[0] and "httpx" in said[0], run.proc.stderr


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_the_exporters_own_calls_are_never_traced(protocol, receiver, entry_points_dir):
    endpoint = receiver.http_endpoint.removesuffix("/v1/traces") if protocol != "grpc" else None
    extra = {
        "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
        **({"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint} if endpoint else {}),
    }
    run = run_app(RUN, app("flask_app.py"), receiver, entry_points_dir, **extra)
    assert len(run.spans) == 8
    assert {s.transport for s in run.spans} == {"grpc" if protocol == "grpc" else "http"}
    assert exports_traced(run.spans) == []


@pytest.mark.parametrize("way", WAYS)
def test_log_records_made_in_a_handler_carry_its_span_ids_in_kubernetes_json(way, receiver, entry_points_dir):
    run = run_app(way, app("flask_app.py"), receiver, entry_points_dir)
    lines = [json.loads(line) for line in run.proc.stdout.splitlines() if line.startswith("{")]
    assert [line["msg"] for line in lines] == [f"serving item {i}" for i in (1, 2, 3, 4)]
    servers = {s.span_id: s for s in run.named("GET /items/<int:item>")}
    for line in lines:
        span = servers[line["span_id"]]
        assert line["trace_id"] == span.trace_id
        assert line["trace_flags"] in ("01", "03")  # sampled (and, W3C level 2, a random trace id)
        assert line["service.name"] == "zerocode-app" and line["logger"] == "app" and line["v"] == 0


@pytest.mark.parametrize("way", WAYS)
def test_a_django_app_is_traced_under_its_route(way, receiver, entry_points_dir):
    run = run_app(way, app("django_app.py"), receiver, entry_points_dir)
    _one_trace_each(run, "GET /items/<int:item>", 1)
    (server,) = run.kinds("SERVER")
    assert server.attributes["http.route"] == "/items/<int:item>"
    assert server.attributes["http.response.status_code"] == 200 and server.scope == HTTP_SERVER_SCOPE


@pytest.mark.parametrize("way", WAYS)
def test_fastapi_and_starlette_apps_under_uvicorn_are_traced(way, receiver, entry_points_dir):
    run = run_app(way, app("asgi_app.py"), receiver, entry_points_dir)
    _one_trace_each(run, "GET /items/{item}", 1)
    _one_trace_each(run, "GET /things/{name}", 1)
    servers = run.kinds("SERVER")
    assert len(servers) == 2 and {s.scope for s in servers} == {HTTP_SERVER_SCOPE}  # lifespan: no span


@pytest.mark.parametrize("way", WAYS)
def test_grpc_aio_and_sync_servers_and_channels_are_traced_once_each(way, receiver, entry_points_dir):
    run = run_app(way, app("grpc_app.py"), receiver, entry_points_dir)
    names = sorted((s.kind, s.name) for s in run.spans)
    assert names == sorted(
        [
            (kind, f"kt.zc.Echo/{method}")
            for kind in ("CLIENT", "SERVER")
            for method in ("Say", "Count", "Say")
        ]
    )
    assert {s.scope for s in run.spans} == {GRPC_SCOPE}
    for server in run.kinds("SERVER"):
        (client,) = [s for s in run.kinds("CLIENT") if s.span_id == server.parent_span_id]
        assert client.name == server.name
    assert {s.attributes["rpc.grpc.status_code"] for s in run.spans} == {0}


def test_an_app_traced_by_hand_with_kubetrace_keeps_its_own_instrumentation(receiver, entry_points_dir):
    run = run_app(RUN, app("explicit_app.py"), receiver, entry_points_dir)
    names = sorted((s.kind, s.name) for s in run.spans)
    assert names == sorted(
        [
            *[(kind, "kt.zc.Echo/Say") for kind in ("CLIENT", "SERVER") for _ in range(4)],
            *[("CLIENT", "GET"), ("SERVER", "GET /items/<int:item>")] * 4,
        ]
    )
    # Its own options won: instrument_server(..., request_attributes=marked) on the aio server.
    assert [s.attributes.get("app.marked") for s in run.kinds("SERVER", GRPC_SCOPE)].count(True) == 1


def test_libraries_contrib_instruments_in_the_apps_code_keep_contribs_spans_only(receiver, entry_points_dir):
    run = run_app(RUN, app("contrib_app.py"), receiver, entry_points_dir)
    grpc_spans = [
        s for s in run.spans if s.name.startswith("/kt.zc.Echo/") or s.name.startswith("kt.zc.Echo/")
    ]
    assert len(grpc_spans) == 4 and {s.scope for s in grpc_spans} == {CONTRIB_GRPC_SCOPE}
    http = [s for s in run.kinds("CLIENT") if s not in grpc_spans]
    assert len(http) == 1 and http[0].scope == "opentelemetry.instrumentation.requests"
    said = [line for line in run.proc.stderr.splitlines() if "is already traced by" in line]
    assert sorted(line.split()[1] for line in said) == ["grpc_aio_client", "grpc_aio_server", "requests"]


def test_disabled_instrumentations_are_not_traced(receiver, entry_points_dir):
    run = run_app(
        INSTRUMENT,
        app("flask_app.py"),
        receiver,
        entry_points_dir,
        OTEL_PYTHON_DISABLED_INSTRUMENTATIONS="flask, httpx",
    )
    assert run.kinds("SERVER") == []
    clients = run.kinds("CLIENT")
    assert sorted(s.attributes["url.full"].rsplit("/", 1)[1] for s in clients) == ["1", "2"]


def test_every_instrumentation_can_be_disabled_at_once(receiver, entry_points_dir):
    run = run_app(
        RUN, app("grpc_app.py"), receiver, entry_points_dir, OTEL_PYTHON_DISABLED_INSTRUMENTATIONS="*"
    )
    assert run.spans == []


@pytest.mark.parametrize("way", WAYS)
def test_contrib_instrumentors_for_other_libraries_are_loaded_unless_disabled(
    way, receiver, entry_points_dir
):
    show = [sys.executable, "-c", "import fake_instrumentor as f; print(f.INSTRUMENTED)"]
    assert run_app(way, show, receiver, entry_points_dir).proc.stdout == "['fakelib']\n"
    disabled = run_app(way, show, receiver, entry_points_dir, OTEL_PYTHON_DISABLED_INSTRUMENTATIONS="fakelib")
    assert disabled.proc.stdout == "[]\n"


def test_kubetraces_configurator_alone_sets_tracing_up_for_another_distros_instrumentors(
    receiver, entry_points_dir
):
    run = run_app(
        INSTRUMENT,
        app("flask_app.py"),
        receiver,
        entry_points_dir,
        OTEL_PYTHON_DISTRO="distro",  # opentelemetry-distro's: contrib's instrumentors do the tracing
        OTEL_PYTHON_CONFIGURATOR="kubetrace",
    )
    scopes = {s.scope for s in run.spans}
    assert scopes and all(scope.startswith("opentelemetry.instrumentation.") for scope in scopes), scopes
    assert {(s.resource["telemetry.distro.name"], s.service) for s in run.spans} == {
        ("kubetrace", "zerocode-app")
    }
    assert "one tracer per library" not in run.proc.stderr  # kubetrace instruments nothing here
