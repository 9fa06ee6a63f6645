"""Host headers (and gRPC targets and peers, parsed by the same code) are hostile input: a request
with any Host gets the response it would get with a good one, a span whose server.port is a port or
absent, and costs time linear in the header's size.

Regression (issue 13, defect 2): `Host: example.com:²` raised ValueError in both middlewares (a 500
from wsgiref and uvicorn), and `Host: x:99999999999999999999999` put 10^23 on the span, which the
OTLP encoder refused with an ERROR and a traceback per span.
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
from urllib.parse import urlsplit

import pytest
from _http_apps import Service, plain_asgi, plain_wsgi
from _http_support import wait_for_spans
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace.export import SpanExportResult
from testkit.linear_time import assert_linear

from interceptors._authority import MAX_HOST_LENGTH, split_host_port
from interceptors.grpc._address import client_attributes, server_attributes
from interceptors.http import AsgiMiddleware, WsgiMiddleware
from interceptors.http._request import server_address

HOSTS = {
    # Host header: (server.address, server.port); None: the attribute is absent
    "unicode digit port": ("example.com:\u00b2", "example.com", None),
    "huge port": ("x:99999999999999999999999", "x", None),
    "port past 65535": ("example.com:65536", "example.com", None),
    "negative port": ("example.com:-1", "example.com", None),
    "superscript digits": ("example.com:\u00b9\u00b3", "example.com", None),
    "good port": ("example.com:8080", "example.com", 8080),
    "port 0": ("example.com:0", "example.com", 0),
    "default port": ("example.com", "example.com", 80),
    "empty port": ("example.com:", "example.com", 80),
    "ipv6 with port": ("[::1]:8443", "::1", 8443),
    "ipv6 with bad port": ("[::1]:9x", "::1", None),
}
# Not a host at all: the listening address is used, as when there is no Host header.
NOT_HOSTS = {
    "userinfo": "user:pw@example.com",
    "userinfo without port": "user@example.com",
    "too long": "h" * (MAX_HOST_LENGTH + 1),
    "space": "example .com",
    "unclosed bracket": "[::1:80",
    "junk after bracket": "[::1]x80",
    "non-ascii name": "\u00e9xample.com",
}


def _raw_get(base: str, host: str, case: int) -> bytes:
    """The whole response to GET /ok?case=N sent with exactly this Host header (as latin-1 bytes)."""
    url = urlsplit(base)
    request = f"GET /ok?case={case} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(request.encode("latin-1"))
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def _status_and_body(response: bytes) -> tuple[bytes, bytes]:
    head, _, body = response.partition(b"\r\n\r\n")
    return head.split(b" ", 2)[1], body


def _by_case(spans) -> list:
    return sorted(spans, key=lambda span: int(span.attributes["url.query"].partition("=")[2]))


@pytest.mark.parametrize("kind", ["wsgi", "asgi"])
def test_any_host_header_gets_the_same_response_and_a_port_or_none(
    kind, serve, recorder, otlp_receiver, caplog
):
    base = serve(kind)
    expected = _status_and_body(_raw_get(base, "example.com", -1))
    assert expected[0] == b"200"
    for case, (host, _, _) in enumerate(HOSTS.values()):
        assert _status_and_body(_raw_get(base, host, case)) == expected, host
    spans = _by_case(wait_for_spans(recorder, len(HOSTS) + 1))[1:]
    seen = [(s.attributes.get("server.address"), s.attributes.get("server.port")) for s in spans]
    assert seen == [(address, port) for _, address, port in HOSTS.values()]
    # What the real OTLP exporter makes of them: every span arrives whole, and nothing is logged.
    exporter = OTLPSpanExporter(endpoint=otlp_receiver.grpc_endpoint, insecure=True, timeout=10)
    try:
        with caplog.at_level(logging.WARNING):
            assert exporter.export(spans) is SpanExportResult.SUCCESS
    finally:
        exporter.shutdown()
    assert [r.getMessage() for r in caplog.records if r.name.startswith("opentelemetry")] == []
    received = {
        s.attributes["url.query"]: s.attributes.get("server.port") for s in otlp_receiver.wait_for(len(spans))
    }
    assert received == {s.attributes["url.query"]: s.attributes.get("server.port") for s in spans}


@pytest.mark.parametrize("kind", ["wsgi", "asgi"])
def test_a_host_header_that_is_not_one_counts_as_absent(kind, serve, recorder):
    base = serve(kind)
    listening = urlsplit(base)
    for case, host in enumerate(NOT_HOSTS.values()):
        assert _status_and_body(_raw_get(base, host, case))[0] == b"200", host
    spans = wait_for_spans(recorder, len(NOT_HOSTS))
    assert len(spans) == len(NOT_HOSTS)
    for span in spans:
        # WSGI's SERVER_NAME is the listening host's name, ASGI's server the address
        assert span.attributes["server.address"] in (listening.hostname, socket.getfqdn(listening.hostname))
        assert span.attributes["server.port"] == listening.port


# -- properties ---------------------------------------------------------------------------------------

_PORTS = st.one_of(
    st.integers(-(10**30), 10**30).map(str),
    st.text(alphabet=st.characters(categories=("Nd", "No")), max_size=8),  # digits int() may not read
    st.text(max_size=8),
)
_NAMES = st.one_of(
    st.from_regex(r"[a-z0-9.-]{1,40}", fullmatch=True),
    st.text(max_size=300),
    st.from_regex(r"\[[0-9a-f:]{0,40}\]", fullmatch=True),
)
AUTHORITIES = st.one_of(
    st.text(),
    st.builds(lambda name, port: f"{name}:{port}", _NAMES, _PORTS),
    st.builds(lambda name, sep, rest: name + sep + rest, _NAMES, st.sampled_from(":[]@/"), st.text()),
)
LATIN1_AUTHORITIES = AUTHORITIES.map(lambda s: s.encode("latin-1", "replace").decode("latin-1"))
PROPERTY = settings(max_examples=400, deadline=None, database=None)


def _assert_sane(address: object, port: object) -> None:
    assert port is None or (type(port) is int and 0 <= port <= 65535)
    assert address is None or (isinstance(address, str) and 0 < len(address) <= MAX_HOST_LENGTH)


@PROPERTY
@given(AUTHORITIES)
@example("example.com:\u00b2")
@example("x:" + "9" * 23)
@example("example.com:\u0668\u0660")  # Arabic-Indic digits, which int() reads: not a port either
def test_parsing_an_authority_never_raises_and_a_port_is_a_port(text):
    host, port, valid = split_host_port(text)
    _assert_sane(host, port)
    if host is None:
        assert port is None and not valid
    for scheme in ("http", "https", "ws", "gopher"):
        _assert_sane(*server_address(scheme, text, ("10.0.0.1", "8080")))
    for attributes, side in ((server_attributes(text), "server"), (client_attributes(text), "client")):
        assert set(attributes) <= {f"{side}.address", f"{side}.port"}
        _assert_sane(None, attributes.get(f"{side}.port"))


@settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(host=LATIN1_AUTHORITIES)
@example(host="example.com:\u00b2")
@example(host="x:" + "9" * 23)
def test_the_middlewares_pass_any_host_through_unchanged(host, recorder):
    recorder.clear()  # one recorder for every example: the fixture is the test's
    wsgi = WsgiMiddleware(plain_wsgi(Service()), tracer_provider=recorder.provider)
    asgi = AsgiMiddleware(plain_asgi(Service()), tracer_provider=recorder.provider)
    assert _call_wsgi(wsgi, host) == _call_wsgi(plain_wsgi(Service()), host) == ("200 OK", b"ok")
    assert _call_asgi(asgi, host) == _call_asgi(plain_asgi(Service()), host) == (200, b"ok")
    spans = recorder.spans()
    assert len(spans) == 2
    for span in spans:
        _assert_sane(span.attributes.get("server.address"), span.attributes.get("server.port"))


def _call_wsgi(app, host: str) -> tuple[str, bytes]:
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/ok",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8080",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": host,
        "wsgi.url_scheme": "http",
    }
    started = []
    body = app(environ, lambda status, headers, exc_info=None: started.append(status))
    try:
        return started[0], b"".join(body)
    finally:
        getattr(body, "close", lambda: None)()


def _call_asgi(app, host: str) -> tuple[int, bytes]:
    scope = {
        "type": "http",
        "method": "GET",
        "scheme": "http",
        "path": "/ok",
        "query_string": b"",
        "headers": [(b"host", host.encode("latin-1"))],
        "server": ("127.0.0.1", 8080),
        "http_version": "1.1",
    }
    sent = []

    async def receive():
        return {"type": "http.request", "body": b""}

    async def send(message):
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


# -- time linear in the input's size ------------------------------------------------------------------

_UNITS = st.text(min_size=1, max_size=6) | st.sampled_from(["9", ":", "[", "]", "\u00b2", "[:", ":9", "a:"])


def _parse_everything(text: str) -> None:
    split_host_port(text)
    server_address("http", text, ("10.0.0.1", "8080"))
    server_attributes(text)
    client_attributes.__wrapped__(text)  # not the per-peer cache: its parse


@settings(max_examples=12, deadline=None, database=None)
@given(_UNITS, st.sampled_from(["", "[", "host:", "ipv4:", "ipv6:[", "dns:///", "unix:"]))
@example("9", "host:")
@example(":", "[")
@example("\u00b2", "ipv4:")
def test_parsing_an_authority_takes_time_linear_in_its_size(unit, prefix):
    assert_linear(_parse_everything, lambda n: prefix + unit * (n // len(unit)))


def test_the_linearity_check_catches_quadratic_work():
    backtracking = re.compile(r"\t+\n").search  # the shape of issue 13's traceparent regex
    with pytest.raises(AssertionError, match="not linear"):
        assert_linear(backtracking, lambda n: "\t" * n + "x", size=500, factor=8)
