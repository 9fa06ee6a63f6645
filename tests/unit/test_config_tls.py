"""An https endpoint is never spoken to in plaintext, whatever a lower source said about `insecure`.

The collector here listens only with TLS (a certificate from a throwaway CA made by the test),
behind a loopback relay that records the first bytes of every connection the exporter opens: a
TLS connection starts with a handshake record (0x16 0x03), plaintext HTTP/2 with its "PRI *"
preface and plaintext HTTP/1.1 with "POST". The tests export through the real OTLP exporters and
assert that spans arrived and that no connection was ever plaintext.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from opentelemetry import trace
from testkit.otlp import CaptureReceiver, Tls
from testkit.relay import Relay

import tracing
from tracing.config import resolve

_TLS_RECORD = b"\x16\x03"


pytestmark = pytest.mark.usefixtures("no_setup_leaks")


@pytest.fixture(scope="module")
def ca_path(pki, tmp_path_factory) -> Path:
    """The CA the exporter is told to trust (OTEL_EXPORTER_OTLP_CERTIFICATE)."""
    path = tmp_path_factory.mktemp("tls") / "ca.pem"
    path.write_bytes(pki.ca)
    return path


@pytest.fixture
def tls_collector(pki):
    """An OTLP collector, gRPC and HTTP, that accepts only TLS."""
    with CaptureReceiver(Tls(pki.server_cert, pki.server_key)) as collector:
        yield collector


@pytest.fixture
def tls_grpc_collector(tls_collector):
    """The collector's OTLP/gRPC port behind a Relay: (collector, relay)."""
    with Relay(tls_collector.grpc_endpoint) as relay:
        yield tls_collector, relay


@pytest.fixture
def tls_http_collector(tls_collector):
    """The collector's OTLP/HTTP (HTTPS) port behind a Relay: (collector, relay)."""
    with Relay(tls_collector.http_endpoint.split("/")[2]) as relay:
        yield tls_collector, relay


def _kubernetes_file(tmp_path: Path) -> Path:
    """A TracingConfiguration: Kubernetes dials its endpoint without TLS."""
    path = tmp_path / "tracing.yaml"
    path.write_text(
        "apiVersion: apiserver.config.k8s.io/v1\nkind: TracingConfiguration\n"
        "endpoint: 127.0.0.1:4317\nsamplingRatePerMillion: 1000000\n"
    )
    return path


def _export_one_span_and_check(collector: CaptureReceiver, relay: Relay, handle: tracing.Tracing) -> None:
    span = trace.get_tracer("tls-test").start_span("over-tls")
    span.end()
    handle.force_flush(10000)
    spans = collector.wait_for_spans(1, timeout=10)
    assert spans, f"no span arrived; connections began with {relay.first_bytes}"
    assert [s.name for s in spans] == ["over-tls"]
    assert relay.first_bytes, "the exporter never connected through the relay"
    plaintext = [b for b in relay.first_bytes if not b.startswith(_TLS_RECORD)]
    assert plaintext == [], f"plaintext connections to an https endpoint: {plaintext}"


@pytest.mark.parametrize("explicit_insecure", [None, "true"])
def test_env_https_endpoint_over_a_kubernetes_file_exports_over_tls_only(
    tls_grpc_collector, ca_path, tmp_path, monkeypatch, caplog, explicit_insecure
):
    """Issue 13, defect 4: the file's implied insecure does not travel to the environment's endpoint."""
    collector, relay = tls_grpc_collector
    monkeypatch.setenv("KUBETRACE_CONFIG", str(_kubernetes_file(tmp_path)))
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"https://127.0.0.1:{relay.port}")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_CERTIFICATE", str(ca_path))
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer%20s3cret")
    if explicit_insecure:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_INSECURE", explicit_insecure)
    handle = tracing.setup()
    assert handle.settings.insecure.value is False
    _export_one_span_and_check(collector, relay, handle)
    ignored = "OTEL_EXPORTER_OTLP_INSECURE: true is ignored: the endpoint"
    assert (ignored in caplog.text) == bool(explicit_insecure)


def test_an_insecure_argument_never_makes_an_https_endpoint_plaintext(tls_grpc_collector, ca_path, caplog):
    collector, relay = tls_grpc_collector
    handle = tracing.setup(
        endpoint=f"https://127.0.0.1:{relay.port}", insecure=True, certificate=str(ca_path)
    )
    _export_one_span_and_check(collector, relay, handle)
    assert "setup(): insecure: true is ignored: the endpoint https://127.0.0.1:" in caplog.text


def test_http_protobuf_to_an_https_endpoint_over_a_kubernetes_file_exports_over_tls_only(
    tls_http_collector, ca_path, tmp_path, monkeypatch
):
    collector, relay = tls_http_collector
    monkeypatch.setenv("KUBETRACE_CONFIG", str(_kubernetes_file(tmp_path)))
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"https://127.0.0.1:{relay.port}")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_CERTIFICATE", str(ca_path))
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_INSECURE", "true")
    handle = tracing.setup()
    _export_one_span_and_check(collector, relay, handle)


def test_the_relay_sees_plaintext_when_there_is_plaintext(tls_grpc_collector):
    """The check above can fail: an http:// endpoint through the same relay is seen as plaintext."""
    collector, relay = tls_grpc_collector
    handle = tracing.setup(endpoint=f"http://127.0.0.1:{relay.port}", timeout_ms=2000)
    trace.get_tracer("tls-test").start_span("plaintext").end()
    handle.force_flush(3000)
    assert collector.spans() == []
    assert relay.first_bytes and all(b.startswith(b"PRI * HTTP/2.0") for b in relay.first_bytes)


# --- the rule, source by source: endpoint and insecure travel together ------------------------------


def _file(tmp_path: Path) -> str:
    return str(_kubernetes_file(tmp_path))


@pytest.mark.parametrize(
    ("arguments", "env", "insecure", "source"),
    [
        # The file alone: its endpoint, dialled insecure as Kubernetes does.
        ({}, {"KUBETRACE_CONFIG": "FILE"}, True, "file:FILE"),
        # The environment's https endpoint: TLS, the file's insecure stays with the file's endpoint.
        ({}, {"KUBETRACE_CONFIG": "FILE", "OTEL_EXPORTER_OTLP_ENDPOINT": "https://c:4317"}, False, "env:"),
        (
            {},
            {"KUBETRACE_CONFIG": "FILE", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://c:4317"},
            False,
            "env:",
        ),
        # An http endpoint is plaintext by its scheme.
        ({}, {"KUBETRACE_CONFIG": "FILE", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317"}, True, "file:FILE"),
        # A setup() endpoint without a scheme: the file's insecure does not apply; TLS by default...
        ({"endpoint": "c:4317"}, {"KUBETRACE_CONFIG": "FILE"}, False, "default"),
        # ...unless insecure comes from the same source or a higher one.
        ({"endpoint": "c:4317", "insecure": True}, {"KUBETRACE_CONFIG": "FILE"}, True, "argument"),
        # A higher source's insecure applies to a lower source's endpoint.
        ({}, {"KUBETRACE_CONFIG": "FILE", "OTEL_EXPORTER_OTLP_INSECURE": "false"}, False, "env:"),
        # An https scheme wins over any insecure (with a warning, see below).
        (
            {},
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "https://c:4317", "OTEL_EXPORTER_OTLP_INSECURE": "true"},
            False,
            "env:",
        ),
        ({"endpoint": "https://c:4317", "insecure": True}, {}, False, "argument"),
        (
            {},
            {"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf", "OTEL_EXPORTER_OTLP_ENDPOINT": "https://c"},
            False,
            "env:",
        ),
    ],
)
def test_insecure_travels_with_the_endpoint(tmp_path, arguments, env, insecure, source):
    path = _file(tmp_path)
    env = {k: v.replace("FILE", path) for k, v in env.items()}
    settings = resolve(arguments, environ=env).settings
    assert settings.insecure.value is insecure
    assert settings.insecure.source.startswith(source.replace("FILE", path))


@pytest.mark.parametrize(
    ("arguments", "env", "warning"),
    [
        (
            {},
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "https://c:4317", "OTEL_EXPORTER_OTLP_INSECURE": "true"},
            "OTEL_EXPORTER_OTLP_INSECURE: true is ignored: the endpoint https://c:4317 "
            "(env:OTEL_EXPORTER_OTLP_ENDPOINT) has a scheme, which decides; using TLS",
        ),
        (
            {},
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317", "OTEL_EXPORTER_OTLP_INSECURE": "false"},
            "OTEL_EXPORTER_OTLP_INSECURE: false is ignored: the endpoint http://c:4317 "
            "(env:OTEL_EXPORTER_OTLP_ENDPOINT) has a scheme, which decides; using plaintext",
        ),
        (
            {"endpoint": "https://c:4317", "insecure": True},
            {},
            "setup(): insecure: true is ignored: the endpoint https://c:4317 (argument) has a scheme, "
            "which decides; using TLS",
        ),
    ],
)
def test_an_insecure_setting_the_scheme_contradicts_is_a_warning(arguments, env, warning):
    assert resolve(arguments, environ=env).warnings == (warning,)
