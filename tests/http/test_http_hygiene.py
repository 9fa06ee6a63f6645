"""Hygiene: excluded URLs, opt-in header capture with sanitisation, and hostile trace headers never
breaking a request. Credentials: test_http_secrets.py."""

from __future__ import annotations

import http.client
from urllib.parse import urlsplit

import pytest
import requests
from _http_support import wait_for_spans
from opentelemetry import propagate
from opentelemetry.propagators.jaeger import JaegerPropagator
from opentelemetry.trace import SpanKind

import tracing
from interceptors.http import instrument_requests_session
from interceptors.http._headers import HeaderCapture

CAPTURE = "OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_"
TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
VALID = f"00-{TRACE_ID}-b7ad6b7169203331-01"


# -- excluded URLs ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["wsgi", "asgi"])
def test_probes_and_metrics_are_not_traced_by_default(kind, serve, recorder):
    base = serve(kind)
    for path in ("/healthz", "/healthz/etcd", "/livez", "/readyz?verbose", "/metrics", "/healthzz"):
        assert requests.get(base + path, headers={"traceparent": VALID}).status_code in (200, 404)
    (span,) = wait_for_spans(recorder, 1)
    assert span.attributes["url.path"] == "/healthzz"  # a prefix only counts up to a "/"


@pytest.mark.parametrize(
    "value, traced",
    [("/ok, /users", ["/healthz", "/context"]), ("none", ["/healthz", "/ok", "/users/7", "/context"])],
)
def test_excluded_urls_come_from_the_environment(value, traced, serve, recorder, monkeypatch):
    monkeypatch.setenv("KUBETRACE_HTTP_EXCLUDED_URLS", value)
    base = serve("wsgi")
    for path in ("/healthz", "/ok", "/users/7", "/context"):
        requests.get(base + path)
    spans = wait_for_spans(recorder, len(traced))
    assert sorted(s.attributes["url.path"] for s in spans) == sorted(traced)


def test_an_excluded_urls_argument_beats_the_environment(serve, recorder, monkeypatch):
    monkeypatch.setenv("KUBETRACE_HTTP_EXCLUDED_URLS", "/ok")
    base = serve("asgi", excluded_urls=[])
    requests.get(base + "/ok")
    requests.get(base + "/healthz")
    assert len(wait_for_spans(recorder, 2)) == 2


# -- header capture -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["wsgi", "asgi"])
def test_configured_headers_are_captured_and_sanitised(kind, serve, recorder, monkeypatch):
    monkeypatch.setenv(CAPTURE + "SERVER_REQUEST", "x-tenant, x-api-.*, authorization, cookie")
    monkeypatch.setenv(CAPTURE + "SERVER_RESPONSE", "Content-Type,set-cookie")
    monkeypatch.setenv(CAPTURE + "SANITIZE_FIELDS", "x-api-key")
    base = serve(kind)
    headers = {
        "X-Tenant": "blue",
        "X-Api-Key": "k-123",
        "X-Api-Version": "2",
        "Authorization": "Bearer t",
        "Cookie": "c=1",
    }
    requests.get(base + "/cookie", headers=headers)
    (span,) = wait_for_spans(recorder, 1)
    captured = {k: tuple(v) for k, v in span.attributes.items() if ".header." in k}
    assert captured == {
        "http.request.header.x-tenant": ("blue",),
        "http.request.header.x-api-key": ("[REDACTED]",),
        "http.request.header.x-api-version": ("2",),
        "http.response.header.content-type": ("text/plain",),
    }


def test_client_headers_are_captured_by_their_own_variables(serve, recorder, monkeypatch):
    monkeypatch.setenv(CAPTURE + "CLIENT_REQUEST", "x-tenant")
    monkeypatch.setenv(CAPTURE + "CLIENT_RESPONSE", "content-length")
    base = serve("wsgi")
    session = instrument_requests_session(requests.Session(), tracer_provider=recorder.provider)
    session.get(base + "/ok", headers={"X-Tenant": "blue"})
    client = next(s for s in wait_for_spans(recorder, 2) if s.kind is SpanKind.CLIENT)
    captured = {k: tuple(v) for k, v in client.attributes.items() if ".header." in k}
    assert captured == {
        "http.request.header.x-tenant": ("blue",),
        "http.response.header.content-length": ("2",),
    }


def test_nothing_is_captured_unless_configured(serve, recorder):
    base = serve("wsgi")
    requests.get(base + "/ok", headers={"X-Tenant": "blue"})
    (span,) = wait_for_spans(recorder, 1)
    assert not [k for k in span.attributes if ".header." in k]


# -- hostile trace headers ----------------------------------------------------------------------------

MALFORMED = {
    "garbage traceparent": ({"traceparent": "garbage"}, False),
    "short traceparent": ({"traceparent": "00-abc-def-01"}, False),
    "zero trace id": ({"traceparent": f"00-{'0' * 32}-b7ad6b7169203331-01"}, False),
    "zero span id": ({"traceparent": f"00-{TRACE_ID}-{'0' * 16}-01"}, False),
    "version ff": ({"traceparent": f"ff-{TRACE_ID}-b7ad6b7169203331-01"}, False),
    "upper-case hex": ({"traceparent": VALID.upper()}, False),
    "extra fields on version 00": ({"traceparent": VALID + "-extra"}, False),
    "huge traceparent": ({"traceparent": VALID + "x" * 8000}, False),
    "bad tracestate": ({"traceparent": VALID, "tracestate": "===,,,@@@"}, True),
    "huge tracestate": ({"traceparent": VALID, "tracestate": ",".join(f"k{i}=v" for i in range(500))}, True),
    "bad baggage": ({"traceparent": VALID, "baggage": "%%%;;;==,,"}, True),
    "huge baggage": (
        {"traceparent": VALID, "baggage": ",".join(f"k{i}={'v' * 100}" for i in range(200))},
        True,
    ),
    "non-ascii baggage": ({"traceparent": VALID, "baggage": "k=\u00e9t\u00e9"}, True),
}


@pytest.mark.parametrize("case", MALFORMED)
@pytest.mark.parametrize("kind", ["wsgi", "asgi"])
def test_malformed_trace_headers_never_break_a_request(kind, case, serve, recorder):
    headers, parented = MALFORMED[case]
    base = serve(kind)
    encoded = {k: v.encode("latin-1", "replace") for k, v in headers.items()}
    # http.client, not requests: no client instrumentation (ours, or one an earlier test left behind,
    # as contrib's 0.60 urllib3 instrumentor does after uninstrument()) can replace these headers.
    url = urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    try:
        conn.request("GET", "/context", headers=encoded)
        assert conn.getresponse().status == 200
    finally:
        conn.close()
    (span,) = wait_for_spans(recorder, 1)
    assert (span.parent is not None) is parented
    assert (f"{span.context.trace_id:032x}" == TRACE_ID) is parented


def test_a_propagator_that_raises_on_bad_input_never_breaks_a_request(serve, recorder):
    propagate.set_global_textmap(tracing.build_propagator(("tracecontext", "jaeger")))
    assert isinstance(propagate.get_global_textmap()._propagators[1], JaegerPropagator)
    base = serve("wsgi")
    response = requests.get(
        base + "/context", headers={"uber-trace-id": "zz:zz:zz:zz:zz", "uberctx-k": "%zz"}
    )
    assert response.status_code == 200
    assert len(wait_for_spans(recorder, 1)) == 1


def test_request_controlled_strings_are_bounded(serve, recorder):
    base = serve("wsgi")
    requests.get(base + "/ok?q=" + "x" * 5000, headers={"User-Agent": "u" * 5000})
    (span,) = wait_for_spans(recorder, 1)
    assert len(span.attributes["user_agent.original"]) == 2048
    assert len(span.attributes["url.query"]) == 2048


def test_an_invalid_header_pattern_is_matched_literally_not_raised():
    capture = HeaderCapture("http.request.header.", ["x-(", "x-ok"])
    assert capture.attributes([("x-(", "1"), ("x-ok", "2"), ("authorization", "3")]) == {
        "http.request.header.x-(": ["1"],
        "http.request.header.x-ok": ["2"],
    }
