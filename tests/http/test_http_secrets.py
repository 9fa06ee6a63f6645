"""No credential reaches a span, with default settings and header capture at its broadest.

Every credential form kubetrace knows drives real servers (WSGI on wsgiref, ASGI on uvicorn) and
real clients (requests, urllib3, httpx sync and async) on loopback: URL userinfo, credential query
parameters (&- and ;-separated, percent-encoded names), path parameters, credential-bearing request
and response headers, URLs in Location, Content-Location, Link, Refresh and Referer, exceptions whose
messages carry URLs (a handler's, and the clients' own connection errors). Then every attribute,
event (exception.message and exception.stacktrace included) and link of every span is searched for
the secret values. gRPC captures no metadata, so it has nothing to add here.

Regressions (issue 13, defect 3): requests' and urllib3's connection errors put the URL's path and
query in exception.message and exception.stacktrace; `a=1;token=...` escaped redaction; captured
Location headers were not redacted; X-Api-Key, X-Auth-Token and X-Amz-Security-Token were recorded
verbatim; OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SANITIZE_FIELDS was matched as a whole name
where OpenTelemetry's instrumentations search for it.
"""

from __future__ import annotations

import asyncio
import base64
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import requests
import urllib3
from _http_servers import asgi_server, wsgi_server
from _http_support import wait_for_spans
from hypothesis import example, given, settings
from hypothesis import strategies as st
from opentelemetry.trace import SpanKind
from testkit import free_port
from testkit.linear_time import assert_linear

from interceptors.http import (
    TRUST_NONE,
    AsgiMiddleware,
    AsyncTracingTransport,
    TracingTransport,
    WsgiMiddleware,
    instrument_pool_manager,
    instrument_requests_session,
)
from interceptors.http._headers import HeaderCapture
from interceptors.http._redact import redact_path, redact_query, redact_text

CAPTURE = "OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_"
MARK = "KTSECRET"  # every secret below contains it, and no span may
USERINFO = f"{MARK}user:{MARK}pass"
BASIC = base64.b64encode(USERINFO.encode()).decode()  # what a client makes of URL userinfo
FORBIDDEN = (MARK, BASIC)
QUERY = (
    "&".join(
        [
            f"token={MARK}-token",
            f"access_token={MARK}-access-token",
            f"X-Amz-Signature={MARK}-amz",
            f"sig={MARK}-sas",
            f"client_secret={MARK}-client-secret",
            f"X-Goog-Signature={MARK}-goog",
            f"pass%77ord={MARK}-encoded-name",
            "watch=true",
        ]
    )
    + f";a=1;token={MARK}-semicolon"
)
PATH = f"/echo;token={MARK}-path-parameter"
REQUEST_HEADERS = {
    "X-Api-Key": f"{MARK}-api-key",
    "X-Auth-Token": f"{MARK}-auth-token",
    "X-Amz-Security-Token": f"{MARK}-amz-security-token",
    "Authorization": f"Bearer {MARK}-bearer",
    "Proxy-Authorization": f"Basic {MARK}-proxy",
    "Cookie": f"session={MARK}-cookie",
    "Referer": f"https://{USERINFO}@example.com/from?token={MARK}-referer",
    "X-Tenant": "blue",  # not a secret: captured as is, which proves capture is on
}
RESPONSE_HEADERS = [
    ("Content-Type", "text/plain"),
    ("Location", f"http://{USERINFO}@127.0.0.1/next?X-Amz-Signature={MARK}-location&a=1;sig={MARK}-loc"),
    ("Content-Location", f"/here?access_token={MARK}-content-location"),
    ("Link", f"<https://example.com/p?X-Goog-Signature={MARK}-link>; rel=next"),
    ("Refresh", f"0; url=/later?token={MARK}-refresh"),
    ("X-Auth-Token", f"{MARK}-response-auth-token"),
    ("X-Api-Key", f"{MARK}-response-api-key"),
    ("X-Amz-Security-Token", f"{MARK}-response-amz"),
    ("Set-Cookie", f"session={MARK}-set-cookie; HttpOnly"),
]


# -- the servers ----------------------------------------------------------------------------------------


def _route(path: str, query: str) -> tuple[int, list[tuple[str, str]]]:
    """/echo: 200 with the credential-bearing response headers; /redirect: 302 to /echo with the
    query; /raise: a handler failing with the upstream URL, credentials and all, in its message."""
    if path.startswith("/redirect"):
        return 302, [("Location", f"/echo?{query}"), ("Content-Length", "0")]
    if path.startswith("/raise"):
        raise RuntimeError(f"upstream http://{USERINFO}@db.internal/v1?{QUERY} refused {path}?{query}")
    return 200, RESPONSE_HEADERS


def _wsgi_app(environ: dict, start_response: Callable) -> list[bytes]:
    status, headers = _route(environ["PATH_INFO"], environ.get("QUERY_STRING", ""))
    start_response(f"{status} {'OK' if status == 200 else 'Found'}", headers)
    return [b"ok" if status == 200 else b""]


async def _asgi_app(scope: dict, receive: Callable, send: Callable) -> None:
    if scope["type"] != "http":
        return
    status, headers = _route(scope["path"], scope["query_string"].decode("latin-1"))
    raw = [(k.lower().encode(), v.encode("latin-1")) for k, v in headers]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": b"ok" if status == 200 else b""})


@contextmanager
def _servers(recorder) -> Iterator[dict[str, str]]:
    """Both servers under our middleware: every caller untrusted, so server spans carry links."""
    options = {"tracer_provider": recorder.provider, "trust_policy": TRUST_NONE}
    with ExitStack() as stack:
        yield {
            "wsgi": stack.enter_context(wsgi_server(WsgiMiddleware(_wsgi_app, **options))),
            "asgi": stack.enter_context(asgi_server(AsgiMiddleware(_asgi_app, **options))),
        }


@pytest.fixture
def capture_everything(monkeypatch):
    for side in ("SERVER_REQUEST", "SERVER_RESPONSE", "CLIENT_REQUEST", "CLIENT_RESPONSE"):
        monkeypatch.setenv(CAPTURE + side, ".*")
    monkeypatch.delenv(CAPTURE + "SANITIZE_FIELDS", raising=False)


# -- the clients ----------------------------------------------------------------------------------------


def _requests(urls: list[str], options: dict) -> None:
    session = instrument_requests_session(requests.Session(), **options)
    for url in urls:
        session.get(url, headers=REQUEST_HEADERS, timeout=10)


def _urllib3(urls: list[str], options: dict) -> None:
    pool = instrument_pool_manager(urllib3.PoolManager(), **options)
    for url in urls:
        pool.request("GET", url, headers=REQUEST_HEADERS, timeout=10)


def _httpx(urls: list[str], options: dict) -> None:
    with httpx.Client(transport=TracingTransport(**options), follow_redirects=True, timeout=10) as client:
        for url in urls:
            client.get(url, headers=REQUEST_HEADERS)


def _httpx_async(urls: list[str], options: dict) -> None:
    async def fetch() -> None:
        transport = AsyncTracingTransport(**options)
        async with httpx.AsyncClient(transport=transport, follow_redirects=True, timeout=10) as client:
            for url in urls:
                await client.get(url, headers=REQUEST_HEADERS)

    asyncio.run(fetch())


CLIENTS: dict[str, Callable[[list[str], dict], None]] = {
    "requests": _requests,
    "urllib3": _urllib3,
    "httpx": _httpx,
    "httpx-async": _httpx_async,
}


REFUSED = (requests.ConnectionError, urllib3.exceptions.MaxRetryError, httpx.ConnectError)


def _with_userinfo(base: str) -> str:
    return base.replace("http://", f"http://{USERINFO}@")


def _refused_url() -> str:
    """Nothing listens there: the client fails with a connection error about this URL."""
    return f"http://{USERINFO}@127.0.0.1:{free_port()}{PATH}?{QUERY}"


# -- what a span holds ------------------------------------------------------------------------------------


def _texts(span) -> Iterator[tuple[str, str]]:
    """(where, text) for everything a span carries that an exporter sends."""
    yield "name", span.name
    yield "status", span.status.description or ""
    for key, value in span.attributes.items():
        yield from _attribute_texts("attribute", key, value)
    for event in span.events:
        yield "event", event.name
        for key, value in (event.attributes or {}).items():
            yield from _attribute_texts(f"event {event.name}", key, value)
    for link in span.links:
        yield "link", f"{link.context.trace_id:032x}-{link.context.span_id:016x}"
        for key, value in (link.attributes or {}).items():
            yield from _attribute_texts("link", key, value)


def _attribute_texts(where: str, key: str, value: Any) -> Iterator[tuple[str, str]]:
    yield where, key
    for item in value if isinstance(value, tuple | list) else [value]:
        yield f"{where} {key}", str(item)


def _wait_for_servers(recorder, count: int, timeout: float = 10.0) -> list:
    """All spans once `count` server spans ended (client spans end before their call returns)."""
    deadline = time.monotonic() + timeout
    while True:
        spans = recorder.spans()
        if sum(s.kind is SpanKind.SERVER for s in spans) >= count or time.monotonic() > deadline:
            return spans
        time.sleep(0.005)


def _leaks(spans) -> list[tuple[str, str, str]]:
    return [
        (span.name, where, text)
        for span in spans
        for where, text in _texts(span)
        if any(secret in text for secret in FORBIDDEN)
    ]


# -- the secrets test ----------------------------------------------------------------------------------


def test_no_credential_reaches_any_span(capture_everything, recorder):
    options = {"tracer_provider": recorder.provider}
    with _servers(recorder) as bases:
        for fetch in CLIENTS.values():
            for base in bases.values():
                urls = [
                    _with_userinfo(base) + f"{PATH}?{QUERY}",
                    f"{base}/redirect?{QUERY}",
                    f"{base}/raise?{QUERY}",
                ]
                fetch(urls, options)
            with pytest.raises(REFUSED):
                fetch([_refused_url()], options)
        # per server and client: /echo, /redirect and the /echo it leads to, /raise
        spans = _wait_for_servers(recorder, len(CLIENTS) * len(bases) * 4)
    servers = [s for s in spans if s.kind is SpanKind.SERVER]
    clients = [s for s in spans if s.kind is SpanKind.CLIENT]
    assert len(servers) == len(CLIENTS) * len(bases) * 4

    assert _leaks(spans) == []

    # ...and the test saw every form: what it checked was there, redacted, not absent.
    assert all(link for s in servers for link in [s.links])
    exceptions = [e.attributes for s in spans for e in s.events if e.name == "exception"]
    messages = " ".join(str(e["exception.message"]) for e in exceptions)
    assert messages.count("Max retries exceeded with url") == 2  # requests' and urllib3's refusals
    assert "url: /echo;token=REDACTED&access_token=REDACTED&X-Amz-Signature=REDACTED" in messages
    assert "http://REDACTED:REDACTED@db.internal/v1?token=REDACTED" in messages  # the handler's
    assert len(exceptions) == len(CLIENTS) + len(bases) * len(CLIENTS)
    server_queries = {s.attributes["url.query"] for s in servers if "url.query" in s.attributes}
    assert all(q.endswith("&watch=true;a=1;token=REDACTED") for q in server_queries)
    # httpx sends the encoded name decoded; the others as it is
    assert {"password=REDACTED" in q or "pass%77ord=REDACTED" in q for q in server_queries} == {True}
    assert any("pass%77ord=REDACTED" in q for q in server_queries)
    for span in [*servers, *clients]:
        captured = {k: v for k, v in span.attributes.items() if ".header." in k}
        if "http.request.header.x-tenant" not in captured:
            continue  # a client span that failed before it had headers to capture
        assert captured["http.request.header.x-api-key"] == ("[REDACTED]",)
        assert "http.request.header.authorization" not in captured
    echo_responses = [s for s in [*servers, *clients] if "http.response.header.link" in s.attributes]
    assert len(echo_responses) == len(CLIENTS) * len(bases) * 2 * 2  # /echo twice: direct and redirected
    for span in echo_responses:
        assert span.attributes["http.response.header.location"] == (
            "http://REDACTED:REDACTED@127.0.0.1/next?X-Amz-Signature=REDACTED&a=1;sig=REDACTED",
        )
        assert span.attributes["http.response.header.x-amz-security-token"] == ("[REDACTED]",)


# -- one regression per defect -----------------------------------------------------------------------------


@pytest.mark.parametrize("client_name", CLIENTS)
def test_a_connection_error_carries_no_credential_of_its_url(client_name, recorder):
    with pytest.raises(REFUSED):
        CLIENTS[client_name]([_refused_url()], {"tracer_provider": recorder.provider})
    (span,) = recorder.spans()
    (event,) = span.events
    assert event.name == "exception"
    assert event.attributes["exception.stacktrace"].startswith("Traceback")
    assert _leaks([span]) == []
    if client_name in ("requests", "urllib3"):  # their messages name the URL's path and query
        assert "url: /echo;token=REDACTED&access_token=REDACTED&X-Amz-Signature=REDACTED" in str(
            event.attributes["exception.message"]
        )


@pytest.mark.parametrize(
    "query, redacted",
    [
        ("", ""),
        ("watch=true&resourceVersion=12", "watch=true&resourceVersion=12"),
        ("sig=abc", "sig=REDACTED"),
        ("AWSAccessKeyId=AK&Signature=s&Expires=1", "AWSAccessKeyId=REDACTED&Signature=REDACTED&Expires=1"),
        ("X-Goog-Signature=s&x=1", "X-Goog-Signature=REDACTED&x=1"),
        ("ACCESS_TOKEN=t", "ACCESS_TOKEN=REDACTED"),
        ("pass%77ord=p", "pass%77ord=REDACTED"),  # percent-encoded names are decoded first
        ("client_secret=s&secret=t", "client_secret=REDACTED&secret=REDACTED"),
        ("token", "token"),  # no value, nothing to hide
        ("tokenizer=x&mytoken=y", "tokenizer=x&mytoken=y"),
        # ;-separated parameters (issue 13: `a=1;token=...` stayed as it was)
        ("a=1;token=s", "a=1;token=REDACTED"),
        ("sig=s;X-Goog-Signature=t&b=2", "sig=REDACTED;X-Goog-Signature=REDACTED&b=2"),
        ("token=s;tokenizer=x", "token=REDACTED;tokenizer=x"),
        ("next=/cb?access_token=s", "next=/cb?access_token=REDACTED"),  # a URL inside a value
    ],
)
def test_credential_like_query_parameters_are_redacted(query, redacted):
    assert redact_query(query) == redacted


@pytest.mark.parametrize(
    "text, redacted",
    [
        (
            "Max retries exceeded with url: /o?X-Amz-Signature=s (Caused by",
            "Max retries exceeded with url: /o?X-Amz-Signature=REDACTED (Caused by",
        ),
        ("'https://u:p@h/x'", "'https://REDACTED:REDACTED@h/x'"),
        ("http://u:p@ss@h:1/x", "http://REDACTED:REDACTED@h:1/x"),  # to the last @ of the authority
        ("mailto:a@b http://h/p", "mailto:a@b http://h/p"),  # no userinfo in a URL
        ('"/cb?sig=s" and token=t', '"/cb?sig=REDACTED" and token=REDACTED'),
        ("<https://h/p?X-Goog-Signature=s>; rel=next", "<https://h/p?X-Goog-Signature=REDACTED>; rel=next"),
        ("0; url=/x?token=s", "0; url=/x?token=REDACTED"),
        ("tokens=1 mytoken=2 a==b", "tokens=1 mytoken=2 a==b"),
    ],
)
def test_urls_in_free_text_are_redacted(text, redacted):
    assert redact_text(text) == redacted


@pytest.mark.parametrize("kind", ["wsgi", "asgi"])
def test_captured_location_headers_are_redacted(kind, capture_everything, recorder):
    with _servers(recorder) as bases:
        requests.get(bases[kind] + "/redirect?token=" + MARK, allow_redirects=False, timeout=10)
        (span,) = wait_for_spans(recorder, 1)
    assert span.attributes["http.response.header.location"] == ("/echo?token=REDACTED",)


@pytest.mark.parametrize("kind", ["wsgi", "asgi"])
def test_credential_bearing_headers_are_sanitized_by_default(kind, capture_everything, recorder):
    with _servers(recorder) as bases:
        requests.get(bases[kind] + "/echo", headers=REQUEST_HEADERS, timeout=10)
        (span,) = wait_for_spans(recorder, 1)
    for name in ("x-api-key", "x-auth-token", "x-amz-security-token"):
        assert span.attributes[f"http.request.header.{name}"] == ("[REDACTED]",)
        assert span.attributes[f"http.response.header.{name}"] == ("[REDACTED]",)
    assert span.attributes["http.request.header.x-tenant"] == ("blue",)


def test_sanitize_fields_are_searched_for_in_names_and_add_to_the_defaults(capture_everything, monkeypatch):
    monkeypatch.setenv(CAPTURE + "SANITIZE_FIELDS", "pin, x-internal-.*-id")
    from interceptors.http._options import server_options

    capture = server_options("test", {}).request_headers
    headers = [
        ("X-Tenant-Pin", "1234"),
        ("X-Internal-Account-Id", "7"),
        ("X-Api-Key", "k"),
        ("X-Tenant", "t"),
    ]
    assert capture.attributes(headers) == {
        "http.request.header.x-tenant-pin": ["[REDACTED]"],
        "http.request.header.x-internal-account-id": ["[REDACTED]"],
        "http.request.header.x-api-key": ["[REDACTED]"],
        "http.request.header.x-tenant": ["t"],
    }


@pytest.mark.parametrize("kind", ["wsgi", "asgi"])
def test_the_userinfo_of_an_absolute_request_target_is_redacted(kind, recorder):
    """GET http://user:password@host/path is what a proxy receives; servers pass it on as the path."""
    with _servers(recorder) as bases:
        url = urlsplit(bases[kind])
        target = f"http://{USERINFO}@example.com/echo;token={MARK}"
        with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
            sock.sendall(f"GET {target} HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n".encode())
            assert sock.recv(12).endswith(b"200")
        (span,) = wait_for_spans(recorder, 1)
    assert span.attributes["url.path"] == "http://REDACTED:REDACTED@example.com/echo;token=REDACTED"


# -- redaction is linear ---------------------------------------------------------------------------------

_UNITS = st.text(min_size=1, max_size=8) | st.sampled_from(
    ["://", "@", "=", "?token=", "&", ";", "token", "://a@", " ", "%", "a=b", "?=", "\t@"]
)
_CAPTURE_ALL = HeaderCapture("http.request.header.", [".*"])


def _redact_everything(text: str) -> None:
    redact_text(text)
    redact_query(text)
    redact_path(text)
    _CAPTURE_ALL.attributes([("location", text), (text[:300], text)])


@settings(max_examples=12, deadline=None, database=None)
@given(_UNITS, _UNITS)
@example("http://", "a@")
@example("", "?token=")
@example("", "a=")
@example("://", "x")
def test_redaction_takes_time_linear_in_its_input(prefix, unit):
    assert_linear(_redact_everything, lambda n: prefix + unit * (n // len(unit)))
