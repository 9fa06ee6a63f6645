"""instrument_server() traces what the interceptors trace, however a service is added, sync and
grpc.aio; a server that already has services, or is no server, is refused with a clear error; the
traced server starts, serves and stops as the server itself does."""

from __future__ import annotations

import asyncio
import re
import threading
from concurrent import futures

import grpc
import pytest
from _grpc_chain import Service, add_services, generic_handlers, multicallable
from _grpc_echo import AIO_ECHO, ECHO, SYNC_ECHO
from _grpc_spans import wait_for_spans
from opentelemetry.trace import SpanKind

from interceptors import grpc as kgrpc
from interceptors.grpc import RpcKind, ServicesAlreadyAdded


def _add(server, service: Service, registration: str) -> None:
    if registration == "generic":
        server.add_generic_rpc_handlers([service])
    elif registration == "registered":
        server.add_registered_method_handlers(service.name, service.methods)
    else:
        add_services(server, [service])  # both, as generated code does


def _sync_call(form: str, registration: str, provider) -> bytes:
    options = {"tracer_provider": provider}
    interceptors = [kgrpc.server_interceptor(**options)] if form == "interceptor" else []
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2), interceptors=interceptors)
    if form == "instrumented":
        server = kgrpc.instrument_server(server, **options)
    _add(server, generic_handlers(ECHO, SYNC_ECHO), registration)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            return multicallable(channel, RpcKind.UNARY, ECHO)(b"ping", timeout=10)
    finally:
        server.stop(None)


async def _aio_call(form: str, registration: str, provider) -> bytes:
    options = {"tracer_provider": provider}
    interceptors = [kgrpc.aio_server_interceptor(**options)] if form == "interceptor" else []
    server = grpc.aio.server(interceptors=interceptors)
    if form == "instrumented":
        server = kgrpc.instrument_server(server, **options)
    _add(server, generic_handlers(ECHO, AIO_ECHO), registration)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            return await multicallable(channel, RpcKind.UNARY, ECHO)(b"ping", timeout=10)
    finally:
        await server.stop(None)


def _server_span(flavor: str, form: str, registration: str, recorder) -> dict:
    recorder.clear()
    if flavor == "sync":
        reply = _sync_call(form, registration, recorder.provider)
    else:
        reply = asyncio.run(_aio_call(form, registration, recorder.provider))
    assert reply == b"ping"
    (span,) = wait_for_spans(recorder, 1)
    assert span.kind is SpanKind.SERVER
    attributes = {k: v for k, v in span.attributes.items() if k != "client.port"}  # a new port per channel
    return {"name": span.name, "attributes": attributes, "status": span.status.status_code}


@pytest.mark.parametrize("registration", ["generic", "registered", "both"])
@pytest.mark.parametrize("flavor", ["sync", "aio"])
def test_instrument_server_traces_as_the_interceptor_does(flavor, registration, recorder):
    instrumented = _server_span(flavor, "instrumented", registration, recorder)
    assert instrumented == _server_span(flavor, "interceptor", registration, recorder)
    assert instrumented["name"] == f"{ECHO}/Unary"
    assert instrumented["attributes"]["rpc.method"] == "Unary"


def _echo_service() -> Service:
    return generic_handlers(ECHO, SYNC_ECHO)


@pytest.mark.parametrize(
    "prepare",
    [
        lambda: grpc.server(futures.ThreadPoolExecutor(max_workers=1), handlers=[_echo_service()]),
        lambda: _with(lambda s: s.add_generic_rpc_handlers([_echo_service()])),
        lambda: _with(lambda s: s.add_registered_method_handlers(ECHO, _echo_service().methods)),
    ],
    ids=["handlers-argument", "generic-added", "registered-added"],
)
def test_a_server_that_already_has_services_is_refused(prepare):
    server = prepare()
    with pytest.raises(ServicesAlreadyAdded, match="already has services, which would not be traced"):
        kgrpc.instrument_server(server)


def _with(add) -> grpc.Server:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
    add(server)
    return server


def test_instrumenting_twice_or_no_server_is_refused():
    traced = kgrpc.instrument_server(grpc.server(futures.ThreadPoolExecutor(max_workers=1)))
    with pytest.raises(ServicesAlreadyAdded, match="instrumented already"):
        kgrpc.instrument_server(traced)
    expected = re.escape("expected a grpc.Server or grpc.aio.Server, got Channel")
    with grpc.insecure_channel("127.0.0.1:1") as channel, pytest.raises(TypeError, match=expected):
        kgrpc.instrument_server(channel)


def test_a_traced_sync_server_starts_serves_and_stops_as_the_server_does(recorder):
    raw = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
    server = kgrpc.instrument_server(raw, tracer_provider=recorder.provider)
    assert isinstance(server, grpc.Server)
    assert server._state is raw._state  # private state other tools read is the server's
    add_services(server, [_echo_service()])
    port = server.add_insecure_port("127.0.0.1:0")
    assert port > 0
    server.start()
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        assert multicallable(channel, RpcKind.UNARY, ECHO)(b"x", timeout=10) == b"x"
    assert server.wait_for_termination(0.01) is True  # still serving: the wait timed out
    stopped = server.stop(None)
    assert isinstance(stopped, threading.Event)
    assert stopped.wait(10)
    assert server.wait_for_termination(10) is False
    assert len(wait_for_spans(recorder, 1)) == 1


def test_a_traced_aio_server_starts_serves_and_stops_as_the_server_does(recorder):
    async def run() -> None:
        server = kgrpc.instrument_server(grpc.aio.server(), tracer_provider=recorder.provider)
        assert isinstance(server, grpc.aio.Server)
        add_services(server, [generic_handlers(ECHO, AIO_ECHO)])
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            assert await multicallable(channel, RpcKind.UNARY, ECHO)(b"x", timeout=10) == b"x"
        assert await server.wait_for_termination(0.01) is True
        await server.stop(None)
        assert await server.wait_for_termination(10) is False

    asyncio.run(run())
    assert len(wait_for_spans(recorder, 1)) == 1
