"""On-demand tracing over a three-hop HTTP chain: a trusted caller's `kubetrace-force-trace: 1`
samples the request end to end whatever the sampler, every span of it says so, and the header goes
on downstream; an untrusted caller's request is never forced."""

from __future__ import annotations

import contextlib
import json

import httpx
import pytest
import requests
from _http_servers import asgi_server, wsgi_server
from _http_support import wait_for_spans
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased, TraceIdRatioBased
from opentelemetry.trace import SpanKind

import tracing
from interceptors.http import (
    TRUST_NONE,
    AsgiMiddleware,
    AsyncTracingTransport,
    WsgiMiddleware,
    instrument_requests_session,
    trust_callers,
)

FORCE = "kubetrace-force-trace"
FORCED = "kubetrace.sampling.forced"
CALLER_TRACE = "0af7651916cd43dd8448eb211c80319c"
UNSAMPLED_PARENT = f"00-{CALLER_TRACE}-b7ad6b7169203331-00"
SAMPLERS = {
    "parentbased_always_off": lambda: ParentBased(ALWAYS_OFF),
    "always_off": lambda: ALWAYS_OFF,  # not parent-based: only the header makes the downstream hops record
    "ratio_0": lambda: TraceIdRatioBased(0.0),
}


def _back(provider):
    """The last hop: answers with the headers it was sent."""

    async def app(scope, receive, send):
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": json.dumps(headers).encode()})

    return AsgiMiddleware(app, tracer_provider=provider)


def _wsgi_front(provider, back: str, **options):
    session = instrument_requests_session(requests.Session(), tracer_provider=provider)

    def app(environ, start_response):
        with tracing.operation("work", tracer_provider=provider):
            body = session.get(back + "/hop").content
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]

    return WsgiMiddleware(app, tracer_provider=provider, **options)


def _asgi_front(provider, back: str, **options):
    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        with tracing.operation("work", tracer_provider=provider):
            async with httpx.AsyncClient(transport=AsyncTracingTransport(tracer_provider=provider)) as client:
                body = (await client.get(back + "/hop")).content
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    return AsgiMiddleware(app, tracer_provider=provider, **options)


FRONTS = {"wsgi+requests": (_wsgi_front, wsgi_server), "asgi+httpx": (_asgi_front, asgi_server)}


def _call(front_kind: str, provider, headers: dict, **front_options) -> dict:
    """A bare caller (as curl) -> front server -> its traced client -> back server; what back saw."""
    make_front, serve = FRONTS[front_kind]
    with contextlib.ExitStack() as stack:
        back = stack.enter_context(asgi_server(_back(provider)))
        front = stack.enter_context(serve(make_front(provider, back, **front_options)))
        response = requests.get(front + "/users/42", headers=headers, timeout=10)
        assert response.status_code == 200
        return response.json()


def _sampled(traceparent: str) -> bool:
    return bool(int(traceparent.rsplit("-", 1)[1], 16) & 1)


@pytest.mark.parametrize("front_kind", sorted(FRONTS))
@pytest.mark.parametrize("sampler", sorted(SAMPLERS))
def test_a_trusted_caller_forces_its_request_to_be_traced_end_to_end(front_kind, sampler, make_recorder):
    recorder = make_recorder(SAMPLERS[sampler]())
    seen = _call(front_kind, recorder.provider, {"traceparent": UNSAMPLED_PARENT, FORCE: "1"})

    spans = wait_for_spans(recorder, 4)
    assert len(spans) == 4, [(s.name, s.kind) for s in spans]
    kinds = sorted((s.kind.name, s.name) for s in spans)
    assert kinds == [("CLIENT", "GET"), ("INTERNAL", "work"), ("SERVER", "GET"), ("SERVER", "GET")]
    assert {f"{s.context.trace_id:032x}" for s in spans} == {CALLER_TRACE}  # the caller's trace, kept
    by_id = {s.context.span_id: s for s in spans}
    chain = [s for s in spans if s.kind is SpanKind.SERVER and s.attributes["url.path"] == "/hop"]
    (back,) = chain
    hop = by_id[back.parent.span_id]
    work = by_id[hop.parent.span_id]
    front = by_id[work.parent.span_id]
    assert (hop.kind, work.name, front.kind) == (SpanKind.CLIENT, "work", SpanKind.SERVER)
    assert front.parent.span_id == 0xB7AD6B7169203331
    assert all(s.attributes[FORCED] is True for s in spans)
    assert seen[FORCE] == "1"  # the header goes on with the request ...
    assert _sampled(seen["traceparent"])  # ... and the sampled flag


@pytest.mark.parametrize("front_kind", sorted(FRONTS))
def test_an_untrusted_callers_request_is_never_forced(front_kind, make_recorder):
    recorder = make_recorder(ParentBased(ALWAYS_OFF))
    seen = _call(
        front_kind, recorder.provider, {"traceparent": UNSAMPLED_PARENT, FORCE: "1"}, trust_policy=TRUST_NONE
    )

    recorder.provider.force_flush()
    assert recorder.spans() == []
    assert FORCE not in seen
    assert not _sampled(seen["traceparent"])


@pytest.mark.parametrize(("group", "forced"), [("system:masters", True), ("system:authenticated", False)])
def test_a_trust_predicate_decides_who_may_force(group, forced, make_recorder):
    recorder = make_recorder(ParentBased(ALWAYS_OFF))
    policy = trust_callers(lambda caller: caller.header("X-Remote-Group") == "system:masters", "masters")
    _call("wsgi+requests", recorder.provider, {FORCE: "1", "X-Remote-Group": group}, trust_policy=policy)

    if forced:
        assert all(s.attributes[FORCED] is True for s in wait_for_spans(recorder, 4))
    else:
        recorder.provider.force_flush()
        assert recorder.spans() == []
