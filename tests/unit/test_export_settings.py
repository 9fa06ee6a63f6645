"""Every exporter setting that worked with the SDK's exporters works with kubetrace's senders, over
OTLP/gRPC and OTLP/HTTP: endpoint, TLS with a CA certificate, a client certificate, headers,
gzip, and the per-attempt timeout."""

from __future__ import annotations

import time

import grpc
import pytest
from opentelemetry import trace
from testkit.otlp import CaptureReceiver, Reply, Tls
from testkit.relay import Relay

import tracing

PROTOCOLS = ["grpc", "http/protobuf"]


pytestmark = pytest.mark.usefixtures("no_setup_leaks")


def _endpoint(receiver: CaptureReceiver, protocol: str, tls: bool = False) -> str:
    if protocol == "grpc":
        return f"{'https' if tls else 'http'}://{receiver.grpc_endpoint}"
    return receiver.http_endpoint


def _address(receiver: CaptureReceiver, protocol: str) -> str:
    """The receiver's host:port for `protocol`."""
    return receiver.grpc_endpoint if protocol == "grpc" else receiver.http_endpoint.split("/")[2]


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
        with CaptureReceiver() as receiver, Relay(_address(receiver, protocol)) as relay:
            endpoint = f"http://{relay.address}" + ("" if protocol == "grpc" else "/v1/traces")
            handle = tracing.setup(endpoint=endpoint, protocol=protocol, compression=compression)
            _emit(500)
            assert handle.shutdown()
            assert len(receiver.spans()) == 500
            time.sleep(0.1)  # the relay may still be forwarding the last bytes
            sizes[compression] = relay.sent()
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
