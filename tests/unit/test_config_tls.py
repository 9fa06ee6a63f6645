"""An https endpoint is never spoken to in plaintext, whatever a lower source said about `insecure`.

The collector here listens only with TLS (a throwaway self-signed certificate made by the test),
behind a loopback relay that records the first bytes of every connection the exporter opens: a
TLS connection starts with a handshake record (0x16 0x03), plaintext HTTP/2 with its "PRI *"
preface and plaintext HTTP/1.1 with "POST". The tests export through the real OTLP exporters and
assert that spans arrived and that no connection was ever plaintext.
"""

from __future__ import annotations

import datetime
import http.server
import ipaddress
import socket
import ssl
import threading
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from opentelemetry import trace
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

import tracing
from kubetrace_cli.receiver import decode
from tracing.config import resolve

_TLS_RECORD = b"\x16\x03"


@pytest.fixture(autouse=True)
def _no_setup_leaks():
    yield
    tracing.shutdown(timeout_ms=2000)


@dataclass(frozen=True)
class Certificate:
    cert_pem: bytes
    key_pem: bytes
    cert_path: Path


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> Certificate:
    """A self-signed certificate for 127.0.0.1, valid for a day, made for this run only."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubetrace test collector")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path = tmp_path_factory.mktemp("tls") / "collector.pem"
    path.write_bytes(cert_pem)
    return Certificate(cert_pem, key_pem, path)


class Relay:
    """A loopback TCP relay that records the first bytes each connection sends, then forwards both ways."""

    def __init__(self, target_port: int):
        self.target_port = target_port
        self.first_bytes: list[bytes] = []
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self._threads: list[threading.Thread] = []
        self._sockets: list[socket.socket] = []
        self._stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stopped:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            self._sockets += [client, upstream]
            self._start(self._pipe, client, upstream, True)
            self._start(self._pipe, upstream, client, False)

    def _start(self, *args) -> None:
        thread = threading.Thread(target=args[0], args=args[1:], daemon=True)
        self._threads.append(thread)
        thread.start()

    def _pipe(self, source: socket.socket, sink: socket.socket, record: bool) -> None:
        first = record
        try:
            while data := source.recv(65536):
                if first:
                    self.first_bytes.append(data[:16])
                    first = False
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def stop(self) -> None:
        self._stopped = True
        self._server.close()
        for s in self._sockets:
            s.close()
        for thread in self._threads:
            thread.join(5)


class _Collector(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self):
        self.spans: list = []
        self.arrived = threading.Event()

    def Export(self, request, context):
        self.spans += decode(request, "grpc")
        self.arrived.set()
        return trace_service_pb2.ExportTraceServiceResponse()


@pytest.fixture
def tls_grpc_collector(certificate):
    """An OTLP/gRPC collector that accepts only TLS, behind a Relay: (collector, relay)."""
    collector = _Collector()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(collector, server)
    credentials = grpc.ssl_server_credentials([(certificate.key_pem, certificate.cert_pem)])
    port = server.add_secure_port("127.0.0.1:0", credentials)
    server.start()
    relay = Relay(port)
    yield collector, relay
    relay.stop()
    server.stop(grace=None)


@pytest.fixture
def tls_http_collector(certificate, tmp_path):
    """An OTLP/HTTP collector that accepts only TLS (HTTPS), behind a Relay: (collector, relay)."""
    collector = _Collector()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            collector.spans += decode(trace_service_pb2.ExportTraceServiceRequest.FromString(body), "http")
            collector.arrived.set()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    key_path = tmp_path / "key.pem"
    key_path.write_bytes(certificate.key_pem)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate.cert_path, key_path)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    relay = Relay(server.server_address[1])
    yield collector, relay
    relay.stop()
    server.shutdown()
    server.server_close()


def _kubernetes_file(tmp_path: Path) -> Path:
    """A TracingConfiguration: Kubernetes dials its endpoint without TLS."""
    path = tmp_path / "tracing.yaml"
    path.write_text(
        "apiVersion: apiserver.config.k8s.io/v1\nkind: TracingConfiguration\n"
        "endpoint: 127.0.0.1:4317\nsamplingRatePerMillion: 1000000\n"
    )
    return path


def _export_one_span_and_check(collector: _Collector, relay: Relay, handle: tracing.Tracing) -> None:
    span = trace.get_tracer("tls-test").start_span("over-tls")
    span.end()
    handle.force_flush(10000)
    assert collector.arrived.wait(10), f"no span arrived; connections began with {relay.first_bytes}"
    assert [s.name for s in collector.spans] == ["over-tls"]
    assert relay.first_bytes, "the exporter never connected through the relay"
    plaintext = [b for b in relay.first_bytes if not b.startswith(_TLS_RECORD)]
    assert plaintext == [], f"plaintext connections to an https endpoint: {plaintext}"


@pytest.mark.parametrize("explicit_insecure", [None, "true"])
def test_env_https_endpoint_over_a_kubernetes_file_exports_over_tls_only(
    tls_grpc_collector, certificate, tmp_path, monkeypatch, caplog, explicit_insecure
):
    """Issue 13, defect 4: the file's implied insecure does not travel to the environment's endpoint."""
    collector, relay = tls_grpc_collector
    monkeypatch.setenv("KUBETRACE_CONFIG", str(_kubernetes_file(tmp_path)))
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"https://127.0.0.1:{relay.port}")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_CERTIFICATE", str(certificate.cert_path))
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer%20s3cret")
    if explicit_insecure:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_INSECURE", explicit_insecure)
    handle = tracing.setup()
    assert handle.settings.insecure.value is False
    _export_one_span_and_check(collector, relay, handle)
    ignored = "OTEL_EXPORTER_OTLP_INSECURE: true is ignored: the endpoint"
    assert (ignored in caplog.text) == bool(explicit_insecure)


def test_an_insecure_argument_never_makes_an_https_endpoint_plaintext(
    tls_grpc_collector, certificate, caplog
):
    collector, relay = tls_grpc_collector
    handle = tracing.setup(
        endpoint=f"https://127.0.0.1:{relay.port}", insecure=True, certificate=str(certificate.cert_path)
    )
    _export_one_span_and_check(collector, relay, handle)
    assert "setup(): insecure: true is ignored: the endpoint https://127.0.0.1:" in caplog.text


def test_http_protobuf_to_an_https_endpoint_over_a_kubernetes_file_exports_over_tls_only(
    tls_http_collector, certificate, tmp_path, monkeypatch
):
    collector, relay = tls_http_collector
    monkeypatch.setenv("KUBETRACE_CONFIG", str(_kubernetes_file(tmp_path)))
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"https://127.0.0.1:{relay.port}")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_CERTIFICATE", str(certificate.cert_path))
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_INSECURE", "true")
    handle = tracing.setup()
    _export_one_span_and_check(collector, relay, handle)


def test_the_relay_sees_plaintext_when_there_is_plaintext(tls_grpc_collector):
    """The check above can fail: an http:// endpoint through the same relay is seen as plaintext."""
    collector, relay = tls_grpc_collector
    handle = tracing.setup(endpoint=f"http://127.0.0.1:{relay.port}", timeout_ms=2000)
    trace.get_tracer("tls-test").start_span("plaintext").end()
    handle.force_flush(3000)
    assert collector.spans == []
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
