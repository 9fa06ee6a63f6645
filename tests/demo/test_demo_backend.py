"""Where `kubetrace demo` sends spans, and the environment its services get."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from kubetrace_cli import _demo, _demo_backend
from kubetrace_cli._demo_backend import choose_backend
from kubetrace_cli._demo_stack import DemoError


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def no_local_jaeger(monkeypatch):
    """A developer's own Jaeger on 127.0.0.1:16686 must not decide these tests."""
    monkeypatch.setattr(_demo_backend, "LOCAL_JAEGER", f"http://127.0.0.1:{_closed_port()}")


@pytest.fixture
def fake_jaeger():
    """A query API that knows one service, enough for the demo to call it reachable, and no trace:
    every trace lookup gets Jaeger's 404."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            found = self.path == "/api/services"
            body = json.dumps({"data": ["kubectl"]} if found else {"errors": [{"code": 404}]}).encode()
            self.send_response(200 if found else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_nothing_configured_and_no_jaeger_running_is_the_embedded_receiver(no_local_jaeger):
    backend = choose_backend({})
    try:
        assert backend.kind == "embedded" and backend.receiver is not None
        assert backend.exporter_env == {
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://{backend.receiver.grpc_endpoint}",
            "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
        }
    finally:
        backend.close()


def test_embedded_wins_over_everything(fake_jaeger):
    backend = choose_backend(
        {"KUBETRACE_JAEGER_URL": fake_jaeger, "OTEL_EXPORTER_OTLP_ENDPOINT": "http://x:4317"}, embedded=True
    )
    backend.close()
    assert backend.kind == "embedded"


def test_a_named_jaeger_gets_the_spans_on_its_host(fake_jaeger):
    backend = choose_backend({"KUBETRACE_JAEGER_URL": fake_jaeger + "/"})
    assert (backend.kind, backend.jaeger_url) == ("jaeger", fake_jaeger)
    assert backend.exporter_env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://127.0.0.1:4317"
    flagged = choose_backend({}, jaeger=fake_jaeger, otlp="127.0.0.1:5317")
    assert flagged.exporter_env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://127.0.0.1:5317"


def test_a_named_jaeger_that_does_not_answer_is_an_error():
    with pytest.raises(DemoError, match="cannot reach Jaeger"):
        choose_backend({}, jaeger=f"http://127.0.0.1:{_closed_port()}")


def test_a_configured_collector_keeps_its_exporter_settings(no_local_jaeger):
    backend = choose_backend({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://collector:4317"})
    assert (backend.kind, backend.keep_exporter_env, backend.exporter_env) == ("collector", True, {})
    assert backend.jaeger_url is None and "https://collector:4317" in backend.description


def test_a_configured_collector_with_a_named_jaeger_draws_from_it(fake_jaeger):
    backend = choose_backend(
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317", "KUBETRACE_JAEGER_URL": fake_jaeger}
    )
    assert (backend.kind, backend.keep_exporter_env, backend.jaeger_url) == ("jaeger", True, fake_jaeger)


def test_services_get_the_demos_tracing_whatever_the_shell_says(monkeypatch, no_local_jaeger):
    for name, value in {
        "OTEL_TRACES_SAMPLER": "always_off",
        "OTEL_SDK_DISABLED": "true",
        "OTEL_EXPORTER_OTLP_HEADERS": "authorization=secret",
        "KUBETRACE_CONFIG": "/etc/tracing.yaml",
        "POD_NAME": "my-shell",
        "K8S_NODE_NAME": "my-laptop",
        "TRACEPARENT": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "PATH_FOR_TEST": "kept",
    }.items():
        monkeypatch.setenv(name, value)
    backend = choose_backend({}, embedded=True)
    backend.close()
    env = _demo._child_environment(backend)
    assert env["PATH_FOR_TEST"] == "kept"
    for gone in (
        "OTEL_SDK_DISABLED",
        "OTEL_EXPORTER_OTLP_HEADERS",
        "KUBETRACE_CONFIG",
        "POD_NAME",
        "K8S_NODE_NAME",
        "TRACEPARENT",
    ):
        assert gone not in env
    assert env["OTEL_TRACES_SAMPLER"] == "parentbased_always_on"
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == backend.exporter_env["OTEL_EXPORTER_OTLP_ENDPOINT"]

    collector = choose_backend({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317"})
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317")
    kept = _demo._child_environment(collector)
    assert kept["OTEL_EXPORTER_OTLP_HEADERS"] == "authorization=secret"
    assert kept["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://collector:4317"
    assert "OTEL_SDK_DISABLED" not in kept


# --- the example services ------------------------------------------------------------------------

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_named_examples_are_used_when_every_service_is_there():
    assert _demo._check_setup(EXAMPLES) == EXAMPLES


def test_named_examples_without_the_services_name_what_is_missing(tmp_path):
    (tmp_path / "kubectl.py").write_text("")
    with pytest.raises(DemoError) as err:
        _demo._check_setup(tmp_path)
    assert (
        str(err.value) == f"--examples {tmp_path}: no apiserver.py, storage.py, kubelet.py, runtime.py there"
    )


def test_without_installed_examples_the_error_says_how_to_install_them(monkeypatch):
    monkeypatch.setattr(_demo, "EXAMPLES_PACKAGE", "kubetrace_cli.not_installed_examples")
    with pytest.raises(DemoError) as err:
        _demo._check_setup(None)
    message = str(err.value)
    assert "no package kubetrace_cli.not_installed_examples" in message
    assert 'pip install -e ".[demo]"' in message and "--examples DIR" in message


def test_missing_demo_dependencies_name_the_demo_extra(monkeypatch):
    monkeypatch.setattr(_demo, "NEEDS", ("uvicorn", "kubetrace_no_such_module"))
    with pytest.raises(DemoError) as err:
        _demo._check_setup(EXAMPLES)
    assert str(err.value) == (
        "the examples need kubetrace_no_such_module: install kubetrace with its demo extra "
        '(pip install -e ".[demo]" in a checkout, as the README says)'
    )


# --- waiting for Jaeger ----------------------------------------------------------------------------


def test_a_trace_jaeger_never_shows_is_given_up_after_nothing_for_s_with_a_tick_each_second(
    monkeypatch, fake_jaeger
):
    monkeypatch.setattr(_demo_backend, "NOTHING_FOR_S", 2.5)
    backend = choose_backend({}, jaeger=fake_jaeger)
    ticks: list[int] = []
    spans = backend.collect("ab" * 16, _demo_backend.Wait(services=5, timeout=60.0, tick=ticks.append))
    assert spans == []
    assert ticks == [1, 2]  # then it gave up: long before the timeout
