"""Server middleware against real servers: exact span names, attributes, status and parentage for
WSGI (plain, Flask) and ASGI (plain, Starlette) over every outcome."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import pytest
import requests
from _http_apps import K8S_PATH
from _http_support import FRAMEWORKS, SERVERS, wait_for_spans
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode

from interceptors.http import AsgiMiddleware, WsgiMiddleware

UA = "kubetrace-tests/1"
# Route templates as each kind of app knows them (plain apps know none).
ROUTES = {
    "/ok": {"flask": "/ok", "starlette": "/ok"},
    "/users/7": {"flask": "/users/<int:user_id>", "starlette": "/users/{user_id}"},
    "/missing": {"flask": "/missing", "starlette": "/missing"},
    "/fail": {"flask": "/fail", "starlette": "/fail"},
    "/raise": {"flask": "/raise", "starlette": "/raise"},
}
# (path, response status seen by the client, span status code, span error.type) per kind
OUTCOMES = {
    "ok": ("/ok", 200, {k: (200, None) for k in SERVERS}),
    "routed": ("/users/7", 200, {k: (200, None) for k in SERVERS}),
    "client error is not a server error": ("/missing", 404, {k: (404, None) for k in SERVERS}),
    "5xx response": ("/fail", 500, {k: (500, "500") for k in SERVERS}),
    # An exception: WSGI servers and uvicorn answer 500 without the app; Flask turns it into a 500
    # response itself; Starlette sends a 500 and re-raises.
    "exception": (
        "/raise",
        500,
        {
            "wsgi": (None, "ValueError"),
            "flask": (500, "500"),
            "asgi": (None, "ValueError"),
            "starlette": (500, "ValueError"),
        },
    ),
}


def expected_attributes(kind: str, base: str, path: str, status: int | None, error: str | None) -> dict:
    port = urlsplit(base).port
    attributes = {
        "http.request.method": "GET",
        "url.scheme": "http",
        "url.path": path,
        "server.address": "127.0.0.1",
        "server.port": port,
        "client.address": "127.0.0.1",
        "user_agent.original": UA,
        "network.protocol.version": "1.1",
    }
    route = ROUTES.get(path, {}).get(kind)
    if route:
        attributes["http.route"] = route
    if status is not None:
        attributes["http.response.status_code"] = status
    if error is not None:
        attributes["error.type"] = error
    return attributes


@pytest.mark.parametrize("outcome", OUTCOMES)
@pytest.mark.parametrize("kind", SERVERS)
def test_server_span_is_exact_for_every_outcome(kind, outcome, serve, recorder):
    path, client_status, by_kind = OUTCOMES[outcome]
    span_status, error = by_kind[kind]
    base = serve(kind)
    response = requests.get(base + path, headers={"User-Agent": UA})
    assert response.status_code == client_status
    (span,) = wait_for_spans(recorder, 1)
    route = ROUTES.get(path, {}).get(kind)
    assert span.name == (f"GET {route}" if route else "GET")
    assert span.kind is SpanKind.SERVER
    assert span.parent is None
    assert dict(span.attributes) == expected_attributes(kind, base, path, span_status, error)
    assert span.status.status_code is (StatusCode.ERROR if error else StatusCode.UNSET)
    assert [e.name for e in span.events] == (["exception"] if error == "ValueError" else [])


@pytest.mark.parametrize("kind", SERVERS)
def test_kubernetes_resource_request_is_named_as_kube_apiserver_names_it(kind, serve, recorder):
    base = serve(kind)
    response = requests.get(base + K8S_PATH + "?timeout=5s", headers={"User-Agent": UA})
    (span,) = wait_for_spans(recorder, 1)
    assert span.name == "GET /api/v1/namespaces/{:namespace}/pods/{:name}"
    audit_id = response.headers["Audit-Id"]
    assert len(audit_id) == 36
    # A framework's own route wins as http.route (these apps route the literal path); the name stays.
    route = K8S_PATH if kind in FRAMEWORKS else "/api/v1/namespaces/{:namespace}/pods/{:name}"
    assert dict(span.attributes) == {
        **expected_attributes(kind, base, K8S_PATH, 200, None),
        "url.query": "timeout=5s",
        "http.route": route,
        "k8s.request.verb": "get",
        "k8s.request.api_version": "v1",
        "k8s.request.resource": "pods",
        "k8s.request.namespace": "default",
        "k8s.request.name": "nginx",
        "audit-id": audit_id,
    }


@pytest.mark.parametrize("kind", SERVERS)
def test_audit_id_from_the_request_is_kept_echoed_and_truncated_on_the_span(kind, serve, recorder):
    base = serve(kind)
    given = "a" * 80
    response = requests.get(base + "/api/v1/pods?watch=0", headers={"Audit-Id": given})
    (span,) = wait_for_spans(recorder, 1)
    assert response.headers["Audit-Id"] == given
    assert span.attributes["audit-id"] == "a" * 64
    assert span.attributes["k8s.request.verb"] == "list"
    assert span.name == "GET /api/v1/pods"


@pytest.mark.parametrize("kind", SERVERS)
def test_non_api_requests_get_no_kubernetes_semantics(kind, serve, recorder):
    base = serve(kind)
    response = requests.get(base + "/ok")
    (span,) = wait_for_spans(recorder, 1)
    assert "Audit-Id" not in response.headers
    assert not [key for key in span.attributes if key.startswith("k8s.") or key == "audit-id"]


@pytest.mark.parametrize("kind", SERVERS)
def test_kubernetes_false_names_api_paths_by_method_only(kind, serve, recorder):
    base = serve(kind, kubernetes=False)
    response = requests.get(base + K8S_PATH)
    (span,) = wait_for_spans(recorder, 1)
    assert span.name == (f"GET {K8S_PATH}" if kind in FRAMEWORKS else "GET")  # the frameworks' own route
    assert "Audit-Id" not in response.headers
    assert "audit-id" not in span.attributes


@pytest.mark.parametrize("kind", SERVERS)
def test_incoming_context_is_the_parent_and_the_handler_runs_in_the_server_span(kind, serve, recorder):
    base = serve(kind)
    traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    seen = requests.get(base + "/context", headers={"traceparent": traceparent, "baggage": "team=sre"}).json()
    (span,) = wait_for_spans(recorder, 1)
    assert f"{span.context.trace_id:032x}" == "0af7651916cd43dd8448eb211c80319c"
    assert f"{span.parent.span_id:016x}" == "b7ad6b7169203331"
    assert span.parent.is_remote
    assert seen == {
        "trace_id": "0af7651916cd43dd8448eb211c80319c",
        "span_id": f"{span.context.span_id:016x}",
        "sampled": True,
        "baggage": {"team": "sre"},
    }


@pytest.mark.parametrize("kind", SERVERS)
def test_unsampled_request_records_nothing_but_propagates(kind, serve, make_recorder, service):
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased

    quiet = make_recorder(ParentBased(ALWAYS_OFF))
    base = serve(kind, tracer_provider=quiet.provider)
    traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"
    seen = requests.get(base + "/context", headers={"traceparent": traceparent}).json()
    assert seen["trace_id"] == "0af7651916cd43dd8448eb211c80319c"
    assert seen["span_id"] not in ("b7ad6b7169203331", "0" * 16)  # a span of its own, not recorded
    assert seen["sampled"] is False
    assert quiet.spans() == []


@pytest.mark.parametrize("kind", SERVERS)
def test_unknown_method_is_other_with_the_original_kept(kind, serve, recorder):
    base = serve(kind)
    requests.request("PURGE", base + "/ok")
    (span,) = wait_for_spans(recorder, 1)
    assert span.attributes["http.request.method"] == "_OTHER"
    assert span.attributes["http.request.method_original"] == "PURGE"
    assert span.name.split()[0] == "HTTP"


@pytest.mark.parametrize("kind", ["wsgi", "asgi"])
def test_set_route_names_the_span_from_inside_the_handler(kind, serve, recorder):
    base = serve(kind)
    requests.get(base + "/routed")
    (span,) = wait_for_spans(recorder, 1)
    assert span.name == "GET /routed/{custom}"
    assert span.attributes["http.route"] == "/routed/{custom}"


@pytest.mark.parametrize("kind", SERVERS)
def test_route_option_names_the_span_before_the_app_runs(kind, serve, recorder):
    def route(request):
        path = request["PATH_INFO"] if "PATH_INFO" in request else request["path"]
        return "/users/{id}" if path.startswith("/users/") else None

    base = serve(kind, route=route)
    requests.get(base + "/users/7")
    (span,) = wait_for_spans(recorder, 1)
    assert span.name == "GET /users/{id}"
    assert span.attributes["http.route"] == "/users/{id}"


def test_starlette_route_under_a_mount_includes_the_mount(serve, recorder):
    base = serve("starlette")
    requests.get(base + "/v1/items/3")
    (span,) = wait_for_spans(recorder, 1)
    assert span.name == "GET /v1/items/{item_id}"


@pytest.mark.parametrize("kind", SERVERS)
def test_hooks_see_the_request_and_response_and_a_broken_hook_changes_nothing(kind, serve, recorder):
    seen = []

    def request_hook(span, request):
        seen.append(("request", type(request).__name__))
        span.set_attribute("custom.request", True)

    def response_hook(span, request, status, headers):
        seen.append(("response", status, any(name.lower() == "content-type" for name, _ in headers)))
        raise RuntimeError("a broken hook")

    base = serve(kind, request_hook=request_hook, response_hook=response_hook)
    assert requests.get(base + "/ok").text == "ok"
    (span,) = wait_for_spans(recorder, 1)
    assert span.attributes["custom.request"] is True
    assert seen == [("request", "dict"), ("response", 200, True)]


def test_unknown_option_is_a_clear_type_error():
    with pytest.raises(TypeError, match="WsgiMiddleware: unknown option"):
        WsgiMiddleware(lambda e, s: [], tracer=None)


# -- behaviour passes through unchanged (direct calls, no server in between) ---------------------------


class Boom(Exception):
    pass


def test_wsgi_exception_is_the_apps_own_object(recorder):
    raised = Boom("x")

    def app(environ, start_response):
        raise raised

    middleware = WsgiMiddleware(app, tracer_provider=recorder.provider)
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/x",
        "wsgi.url_scheme": "http",
        "SERVER_NAME": "h",
        "SERVER_PORT": "80",
    }
    with pytest.raises(Boom) as caught:
        middleware(environ, lambda *a: None)
    assert caught.value is raised
    (span,) = recorder.spans()
    assert span.attributes["error.type"] == "Boom"


def test_wsgi_body_and_status_pass_through_unchanged(recorder):
    def app(environ, start_response):
        write = start_response("201 Created", [("X-A", "1")])
        assert callable(write)
        return [b"a", b"b"]

    middleware = WsgiMiddleware(app, tracer_provider=recorder.provider)
    got = {}
    body = middleware(
        {"REQUEST_METHOD": "POST", "PATH_INFO": "/x"},
        lambda s, h, e=None: got.update(s=s, h=h) or (lambda b: None),
    )
    assert list(body) == [b"a", b"b"] and len(body) == 2  # a list stays a list: servers take its len()
    assert got == {"s": "201 Created", "h": [("X-A", "1")]}
    assert recorder.spans() == []  # ends when the server closes the body
    body.close()
    (span,) = recorder.spans()
    assert span.attributes["http.response.status_code"] == 201


def test_asgi_exception_and_messages_pass_through_unchanged(recorder):
    raised = Boom("x")
    sent = []

    async def app(scope, receive, send):
        await send(
            {"type": "http.response.start", "status": 202, "headers": [(b"x-a", b"1")], "trailers": False}
        )
        await send({"type": "http.response.body", "body": b"x", "more_body": True})
        raise raised

    async def send(message):
        sent.append(message)

    async def receive():
        return {"type": "http.request", "body": b""}

    scope = {"type": "http", "method": "GET", "path": "/x", "headers": [], "query_string": b""}
    middleware = AsgiMiddleware(app, tracer_provider=recorder.provider)
    with pytest.raises(Boom) as caught:
        asyncio.run(middleware(scope, receive, send))
    assert caught.value is raised
    assert sent == [
        {"type": "http.response.start", "status": 202, "headers": [(b"x-a", b"1")], "trailers": False},
        {"type": "http.response.body", "body": b"x", "more_body": True},
    ]
    (span,) = recorder.spans()
    assert span.attributes["http.response.status_code"] == 202
    assert span.attributes["error.type"] == "Boom"


def test_asgi_lifespan_and_other_scopes_pass_straight_through(recorder):
    calls = []

    async def app(scope, receive, send):
        calls.append(scope["type"])

    middleware = AsgiMiddleware(app, tracer_provider=recorder.provider)
    asyncio.run(middleware({"type": "lifespan"}, None, None))
    assert calls == ["lifespan"]
    assert recorder.spans() == []


def test_context_never_leaks_between_requests(serve, recorder):
    base = serve("wsgi")
    before = trace.get_current_span()
    for _ in range(3):
        requests.get(
            base + "/context",
            headers={"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
        )
    third = requests.get(base + "/context").json()
    assert third["trace_id"] != "0af7651916cd43dd8448eb211c80319c"
    assert trace.get_current_span() is before


def test_asgi_scope_details_servers_differ_on_are_accepted(recorder):
    """Some ASGI servers give `server` as a list and no Host header; duplicate headers are joined."""
    sent = []

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "method": "GET",
        "path": "/x",
        "query_string": b"",
        "server": ["10.0.0.1", 8443],
        "scheme": "https",
        "headers": [
            (b"tracestate", b"a=1"),
            (b"tracestate", b"b=2"),
            (b"traceparent", b"00-" + b"1" * 32 + b"-" + b"2" * 16 + b"-01"),
        ],
    }
    asyncio.run(AsgiMiddleware(app, tracer_provider=recorder.provider)(scope, None, send))
    (span,) = recorder.spans()
    assert (span.attributes["server.address"], span.attributes["server.port"]) == ("10.0.0.1", 8443)
    assert span.parent.trace_state.to_header() == "a=1,b=2"
