"""Every exporter setting that worked with the SDK's exporters works with kubetrace's senders, over
OTLP/gRPC and OTLP/HTTP: endpoint, TLS with a CA certificate, a client certificate, headers,
gzip, and the per-attempt timeout."""

from __future__ import annotations

import socket
import threading
import time
from contextlib import contextmanager

import grpc
import pytest
from opentelemetry import trace
from testkit.certs import make_pki
from testkit.otlp import CaptureReceiver, Reply, Tls

import tracing

PROTOCOLS = ["grpc", "http/protobuf"]


@pytest.fixture(autouse=True)
def _no_setup_leaks():
    yield
    tracing.shutdown(timeout_ms=2000)


@pytest.fixture(scope="module")
def pki():
    return make_pki()


def _endpoint(receiver: CaptureReceiver, protocol: str, tls: bool = False) -> str:
    if protocol == "grpc":
        return f"{'https' if tls else 'http'}://{receiver.grpc_endpoint}"
    return receiver.http_endpoint


def _emit(count: int = 20) -> None:
    tracer = trace.get_tracer("settings")
    for i in range(count):
        tracer.start_span(
            "op", attributes={"payload": "the same long value, again and again " * 4, "i": i}
        ).end()


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_headers_reach_the_receiver(protocol):
    with CaptureReceiver() as receiver:
        handle = tracing.setup(
            endpoint=_endpoint(receiver, protocol),
            protocol=protocol,
            headers={"X-Tenant": "blue", "api-key": "k1"},
        )
        _emit(3)
        assert handle.force_flush()
        [request] = receiver.received
    assert request.headers["x-tenant"] == "blue" and request.headers["api-key"] == "k1"
    assert request.headers["user-agent"].startswith("kubetrace/")


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_gzip_compresses_what_goes_on_the_wire(protocol):
    sizes = {}
    for compression in ("none", "gzip"):
        with CaptureReceiver() as receiver, _counting_relay(receiver, protocol) as (endpoint, counted):
            handle = tracing.setup(endpoint=endpoint, protocol=protocol, compression=compression)
            _emit(500)
            assert handle.shutdown()
            assert len(receiver.spans()) == 500
            sizes[compression] = counted()
            if protocol == "http/protobuf":
                assert {r.compressed for r in receiver.received} == {compression == "gzip"}
    assert sizes["gzip"] * 4 < sizes["none"], sizes


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_tls_with_the_configured_ca_certificate(pki, tmp_path, protocol):
    ca = tmp_path / "ca.pem"
    ca.write_bytes(pki.ca)
    with CaptureReceiver(Tls(pki.server_cert, pki.server_key)) as receiver:
        handle = tracing.setup(
            endpoint=_endpoint(receiver, protocol, tls=True), protocol=protocol, certificate=str(ca)
        )
        _emit(5)
        assert handle.shutdown()
        assert len(receiver.spans()) == 5


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_mutual_tls_with_the_configured_client_certificate(pki, tmp_path, protocol):
    for name, data in {"ca": pki.ca, "cert": pki.client_cert, "key": pki.client_key}.items():
        (tmp_path / f"{name}.pem").write_bytes(data)
    with CaptureReceiver(Tls(pki.server_cert, pki.server_key, client_ca=pki.ca)) as receiver:
        handle = tracing.setup(
            endpoint=_endpoint(receiver, protocol, tls=True),
            protocol=protocol,
            certificate=str(tmp_path / "ca.pem"),
            client_certificate=str(tmp_path / "cert.pem"),
            client_key=str(tmp_path / "key.pem"),
        )
        _emit(5)
        assert handle.shutdown()
        assert len(receiver.spans()) == 5
        tracing.setup(
            endpoint=_endpoint(receiver, protocol, tls=True),
            protocol=protocol,
            certificate=str(tmp_path / "ca.pem"),
            bsp_export_timeout_ms=300,
        )
        _emit(5)
        assert tracing.active().force_flush(3000)
        assert tracing.active().export_stats.dropped_export_failed == 5  # no client certificate: refused
        assert len(receiver.spans()) == 5


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_the_timeout_bounds_each_attempt(protocol):
    with CaptureReceiver() as receiver:
        slow = Reply(delay_s=2.0, grpc_code=grpc.StatusCode.UNAVAILABLE, http_status=503)
        receiver.script(slow)
        handle = tracing.setup(endpoint=_endpoint(receiver, protocol), protocol=protocol, timeout_ms=300)
        _emit(5)
        assert handle.force_flush(5000)
        (_, first), (_, second) = receiver.attempts
        assert len(receiver.spans()) == 5
    assert second - first < 1.8  # the first attempt was given up after 300 ms, not answered at 2 s


@contextmanager
def _counting_relay(receiver: CaptureReceiver, protocol: str):
    """A loopback TCP relay in front of the receiver that counts the bytes the client sends."""
    target = receiver.grpc_endpoint if protocol == "grpc" else receiver.http_endpoint.split("/")[2]
    host, port = target.rsplit(":", 1)
    listener = socket.create_server(("127.0.0.1", 0))
    sent = [0]
    lock = threading.Lock()
    stop = threading.Event()

    def pump(src: socket.socket, dst: socket.socket, count: bool) -> None:
        try:
            while data := src.recv(65536):
                if count:
                    with lock:
                        sent[0] += len(data)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except OSError:
                continue
            upstream = socket.create_connection((host, int(port)))
            threading.Thread(target=pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=pump, args=(upstream, client, False), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    address = f"127.0.0.1:{listener.getsockname()[1]}"
    endpoint = f"http://{address}" if protocol == "grpc" else f"http://{address}/v1/traces"

    def counted() -> int:
        time.sleep(0.1)
        with lock:
            return sent[0]

    try:
        yield endpoint, counted
    finally:
        stop.set()
        listener.close()
