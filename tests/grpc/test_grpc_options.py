"""Options and edges: filters, message events, the request attribute hook, abort_with_status,
abandoned streams, unimplemented methods, and sync handlers on grpc.aio servers."""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from concurrent import futures

import grpc
import pytest
from _grpc_chain import (
    METHODS,
    aio_channel,
    aio_server,
    generic_handlers,
    multicallable,
    sync_channel,
    sync_server,
)
from _grpc_echo import AIO_ECHO, ECHO, ECHO_FLAVORS, STREAMING_REQUESTS, echo, expected_responses
from _grpc_spans import EndCounter, one, wait_for_spans
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from opentelemetry.trace import SpanKind, StatusCode

from interceptors import grpc as kgrpc
from interceptors.grpc import (
    CallMeta,
    RpcKind,
    Side,
    all_of,
    any_of,
    default_filter,
    method_in,
    negate,
    service_in,
)

FLAVORS = ("sync", "aio")


def _meta(full_method: str) -> CallMeta:
    service, method = full_method.lstrip("/").rsplit("/", 1)
    return CallMeta(full_method, service, method, RpcKind.UNARY, Side.SERVER)


FILTERS = {
    "default traces an application method": (default_filter, "/shop.Cart/Add", True),
    "default skips health checks": (default_filter, "/grpc.health.v1.Health/Check", False),
    "default skips reflection": (
        default_filter,
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        False,
    ),
    "service_in": (service_in("shop.Cart"), "/shop.Cart/Add", True),
    "service_in, other service": (service_in("shop.Cart"), "/shop.Orders/Get", False),
    "method_in, with or without slash": (
        method_in("shop.Cart/Add", "/shop.Cart/Remove"),
        "/shop.Cart/Remove",
        True,
    ),
    "negate": (negate(service_in("shop.Cart")), "/shop.Cart/Add", False),
    "any_of": (any_of(service_in("a.B"), method_in("shop.Cart/Add")), "/shop.Cart/Add", True),
    "all_of": (all_of(default_filter, negate(method_in("shop.Cart/Add"))), "/shop.Cart/Add", False),
}


@pytest.mark.parametrize(("predicate", "full_method", "traced"), FILTERS.values(), ids=FILTERS.keys())
def test_filters_compose(predicate, full_method, traced):
    assert predicate(_meta(full_method)) is traced


@pytest.mark.parametrize("form", ["instrumented", "interceptor"])
@pytest.mark.parametrize(
    ("filter_option", "spans"), [(None, 0), (lambda meta: True, 2)], ids=["default", "trace-all"]
)
def test_health_checks_are_not_traced_by_default(recorder, filter_option, spans, form):
    servicer = health.HealthServicer()
    servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    options = {"tracer_provider": recorder.provider, "filter": filter_option}
    interceptors = [kgrpc.server_interceptor(**options)] if form == "interceptor" else []
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2), interceptors=interceptors)
    if form == "instrumented":
        server = kgrpc.instrument_server(server, **options)
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)  # registered methods, and generic
    target = f"127.0.0.1:{server.add_insecure_port('127.0.0.1:0')}"
    server.start()
    try:
        with sync_channel(target, recorder.provider, filter=filter_option) as channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
    finally:
        server.stop(None)
    assert reply.status == health_pb2.HealthCheckResponse.SERVING
    assert len(wait_for_spans(recorder, spans)) == spans


def _events(span, direction: str) -> list:
    found = [
        e.attributes for e in span.events if e.name == "message" and e.attributes["message.type"] == direction
    ]
    assert [e["message.id"] for e in found] == list(range(1, len(found) + 1))
    return [e["message.uncompressed_size"] for e in found]


@pytest.mark.parametrize("kind", list(RpcKind), ids=lambda k: k.value)
@pytest.mark.parametrize("flavor", ECHO_FLAVORS)
def test_message_events_record_every_message_with_its_size(flavor, kind, recorder):
    requests = [b"ab", b"cde"] if kind in STREAMING_REQUESTS else [b"ab"]
    responses = echo(flavor, kind, requests, recorder.provider, message_events=True)
    assert responses == expected_responses(kind, requests)
    spans = wait_for_spans(recorder, 2)
    name = f"{ECHO}/{METHODS[kind]}"
    client, server = one(spans, name, SpanKind.CLIENT), one(spans, name, SpanKind.SERVER)
    assert _events(client, "SENT") == _events(server, "RECEIVED") == [len(r) for r in requests]
    assert _events(server, "SENT") == _events(client, "RECEIVED") == [len(r) for r in responses]


@pytest.mark.parametrize("flavor", ECHO_FLAVORS)
def test_message_events_are_off_by_default(flavor, recorder):
    echo(flavor, RpcKind.BIDI_STREAM, [b"a", b"b"], recorder.provider)
    assert all(not s.events for s in wait_for_spans(recorder, 2))


@pytest.mark.parametrize("kind", list(RpcKind), ids=lambda k: k.value)
@pytest.mark.parametrize("flavor", ECHO_FLAVORS)
def test_request_attributes_hook_sees_single_request_messages(flavor, kind, recorder):
    seen: list[tuple] = []

    def hook(meta: CallMeta, request):
        seen.append((meta.side, meta.kind, request))
        return {"app.request.bytes": len(request)}

    echo(flavor, kind, [b"abc", b"de"], recorder.provider, request_attributes=hook)
    spans = wait_for_spans(recorder, 2)
    if kind in STREAMING_REQUESTS:  # documented: no single request message to show the hook
        assert seen == []
        assert all("app.request.bytes" not in s.attributes for s in spans)
    else:
        assert sorted(seen) == sorted([(Side.CLIENT, kind, b"abc"), (Side.SERVER, kind, b"abc")])
        assert all(s.attributes["app.request.bytes"] == 3 for s in spans)


@pytest.mark.parametrize("flavor", FLAVORS)
def test_a_failing_hook_is_logged_and_the_call_unaffected(flavor, recorder, caplog):
    def broken(meta, request):
        raise RuntimeError("hook bug")

    with caplog.at_level(logging.ERROR, logger="kubetrace.hooks"):
        assert echo(flavor, RpcKind.UNARY, [b"x"], recorder.provider, request_attributes=broken) == [b"x"]
    assert len(wait_for_spans(recorder, 2)) == 2
    assert "hook bug" in caplog.text or "failed" in caplog.text


class _Status(grpc.Status):
    def __init__(self, code, details, trailing_metadata):
        self.code, self.details, self.trailing_metadata = code, details, trailing_metadata


_DENIED = _Status(grpc.StatusCode.RESOURCE_EXHAUSTED, "slow down", (("kt-retry-after", "5"),))


def _sync_abort_with_status(request, context):
    context.abort_with_status(_DENIED)


async def _aio_abort_with_status(request, context):
    await context.abort_with_status(_DENIED)


@pytest.mark.parametrize("flavor", FLAVORS)
def test_abort_with_status_is_reflected_and_passed_through(flavor, recorder):
    behaviour = _sync_abort_with_status if flavor == "sync" else _aio_abort_with_status
    error = _unary_error(flavor, generic_handlers(ECHO, {RpcKind.UNARY: behaviour}), recorder.provider)
    assert error == (grpc.StatusCode.RESOURCE_EXHAUSTED, "slow down", (("kt-retry-after", "5"),))
    spans = wait_for_spans(recorder, 2)
    for span in spans:
        assert span.attributes["rpc.grpc.status_code"] == grpc.StatusCode.RESOURCE_EXHAUSTED.value[0]
        assert not [e for e in span.events if e.name == "exception"]
    assert one(spans, f"{ECHO}/Unary", SpanKind.CLIENT).status.status_code is StatusCode.ERROR
    assert one(spans, f"{ECHO}/Unary", SpanKind.SERVER).status.status_code is StatusCode.UNSET


def _unary_error(flavor: str, handler, provider) -> tuple:
    """Call ECHO/Unary expecting an error; (code, details, kt-* trailers)."""
    if flavor == "sync":
        with (
            sync_server([handler], provider) as target,
            sync_channel(target, provider) as channel,
            pytest.raises(grpc.RpcError) as caught,
        ):
            multicallable(channel, RpcKind.UNARY, ECHO)(b"x")
    else:

        async def call():
            async with aio_server([handler], provider) as target, aio_channel(target, provider) as channel:
                await multicallable(channel, RpcKind.UNARY, ECHO)(b"x")

        with pytest.raises(grpc.aio.AioRpcError) as caught:
            asyncio.run(call())
    error = caught.value
    trailers = tuple((k, v) for k, v in error.trailing_metadata() or () if k.startswith("kt-"))
    return error.code(), error.details(), trailers


def _endless_sync(request, context):
    while context.is_active():
        yield request
        time.sleep(0.01)


async def _endless_aio(request, context):
    while True:
        yield request
        await asyncio.sleep(0.01)


@pytest.mark.parametrize("message_events", [False, True], ids=["plain", "message-events"])
def test_an_abandoned_sync_stream_ends_both_spans(recorder, message_events):
    counter = EndCounter()
    recorder.provider.add_span_processor(counter)
    handlers = [generic_handlers(ECHO, {RpcKind.SERVER_STREAM: _endless_sync})]
    with (
        sync_server(handlers, recorder.provider) as target,
        sync_channel(target, recorder.provider, message_events=message_events) as channel,
    ):
        responses = multicallable(channel, RpcKind.SERVER_STREAM, ECHO)(b"x")
        assert next(responses) == b"x"
        del responses
        gc.collect()
        spans = wait_for_spans(recorder, 2)
    assert {s.attributes["rpc.grpc.status_code"] for s in spans} == {grpc.StatusCode.CANCELLED.value[0]}
    counter.assert_each_ended_once()


@pytest.mark.parametrize("message_events", [False, True], ids=["plain", "message-events"])
def test_an_abandoned_aio_stream_ends_both_spans(recorder, message_events):
    counter = EndCounter()
    recorder.provider.add_span_processor(counter)

    async def run():
        handlers = [generic_handlers(ECHO, {RpcKind.SERVER_STREAM: _endless_aio})]
        async with (
            aio_server(handlers, recorder.provider) as target,
            aio_channel(target, recorder.provider, message_events=message_events) as channel,
        ):
            call = multicallable(channel, RpcKind.SERVER_STREAM, ECHO)(b"x")
            assert await call.read() == b"x"
            del call
            gc.collect()
            for _ in range(200):
                if len(recorder.spans()) == 2:
                    break
                await asyncio.sleep(0.01)

    asyncio.run(run())
    spans = wait_for_spans(recorder, 2)
    assert {s.attributes["rpc.grpc.status_code"] for s in spans} == {grpc.StatusCode.CANCELLED.value[0]}
    counter.assert_each_ended_once()


def test_an_unimplemented_method_gets_a_client_span_only(recorder):
    with (
        sync_server([], recorder.provider) as target,
        sync_channel(target, recorder.provider) as channel,
        pytest.raises(grpc.RpcError) as caught,
    ):
        channel.unary_unary("/kt.test.Missing/Nothing")(b"x")
    assert caught.value.code() is grpc.StatusCode.UNIMPLEMENTED
    (span,) = wait_for_spans(recorder, 1)
    assert span.kind is SpanKind.CLIENT
    assert span.status.status_code is StatusCode.ERROR


def _sync_not_found(request, context):
    context.set_code(grpc.StatusCode.NOT_FOUND)
    context.set_details("no such thing")
    return b""


def _sync_abort(request, context):
    context.abort(grpc.StatusCode.FAILED_PRECONDITION, "not now")


@pytest.mark.parametrize(
    ("behaviour", "code", "details"),
    [
        (_sync_not_found, grpc.StatusCode.NOT_FOUND, "no such thing"),
        (_sync_abort, grpc.StatusCode.FAILED_PRECONDITION, "not now"),
    ],
    ids=["set_code", "abort"],
)
def test_sync_handlers_on_an_aio_server_report_their_status(recorder, behaviour, code, details):
    assert _unary_error("aio", generic_handlers(ECHO, {RpcKind.UNARY: behaviour}), recorder.provider)[:2] == (
        code,
        details,
    )
    server = one(wait_for_spans(recorder, 2), f"{ECHO}/Unary", SpanKind.SERVER)
    assert server.attributes["rpc.grpc.status_code"] == code.value[0]
    assert not server.events


def test_a_traced_channel_is_a_channel_that_keeps_the_inner_ones_state():
    import copy

    raw = grpc.insecure_channel("127.0.0.1:1")
    try:
        traced = kgrpc.instrument_channel(raw)
        assert isinstance(traced, grpc.Channel)
        assert traced._channel is raw._channel  # private state other tools read is the inner channel's
        with pytest.raises(AttributeError):
            _ = copy.copy(traced).no_such_attribute  # a half-built copy fails plainly, no recursion
    finally:
        raw.close()


def test_a_traced_aio_channel_is_an_aio_channel_that_keeps_the_inner_ones_state(recorder):
    async def run() -> None:
        async with (
            aio_server([generic_handlers(ECHO, AIO_ECHO)]) as target,
            kgrpc.instrument_channel(
                grpc.aio.insecure_channel(target), tracer_provider=recorder.provider
            ) as traced,
        ):
            assert isinstance(traced, grpc.aio.Channel)
            assert traced._channel.target == target.encode()  # the inner channel's private state
            await asyncio.wait_for(traced.channel_ready(), 10)
            assert traced.get_state() is grpc.ChannelConnectivity.READY
            assert await multicallable(traced, RpcKind.UNARY, ECHO)(b"x", timeout=10) == b"x"
        assert traced.get_state() is grpc.ChannelConnectivity.SHUTDOWN  # closed by `async with`

    asyncio.run(run())
    (span,) = wait_for_spans(recorder, 1)
    assert span.attributes["server.address"] == "127.0.0.1"


def test_instrumenting_a_channel_twice_or_no_channel_is_refused():
    with grpc.insecure_channel("127.0.0.1:1") as raw:
        traced = kgrpc.instrument_channel(raw)
        with pytest.raises(ValueError, match="instrumented already"):
            kgrpc.instrument_channel(traced)
        with pytest.raises(TypeError, match=r"expected a grpc\.Channel or grpc\.aio\.Channel, got object"):
            kgrpc.instrument_channel(object())
