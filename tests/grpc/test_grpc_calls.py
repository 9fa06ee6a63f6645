"""Every RPC kind x sync / grpc.aio (async generators, read()/write()) x outcome, over a three-hop
chain on loopback: spans, statuses and parentage are right, every span ends exactly once, and the
caller observes exactly what it observes without instrumentation."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from _grpc_chain import BACK, EXPECTED_CODE, FRONT, METHODS, OUTCOMES, aio_call, aio_rig, sync_call, sync_rig
from _grpc_spans import EndCounter, assert_child, one, wait_for_spans
from opentelemetry.trace import SpanKind, StatusCode

from interceptors.grpc import RpcKind

# sync, aio: instrument_channel() and instrument_server(); *_interceptor: the interceptors instead;
# aio_rw: handlers and caller using read()/write().
FLAVORS = ("sync", "sync_interceptor", "aio", "aio_interceptor", "aio_rw", "aio_rw_interceptor")
CASES = [
    pytest.param(flavor, kind, outcome, id=f"{flavor}-{kind.value}-{outcome}")
    for flavor in FLAVORS
    for kind in RpcKind
    for outcome in OUTCOMES
    if not (flavor.startswith("aio_rw") and kind is RpcKind.UNARY)  # unary-unary has no read()/write() style
]
_SERVER_ERRORS = {grpc.StatusCode.UNKNOWN, grpc.StatusCode.DEADLINE_EXCEEDED}


def observe(flavor: str, kind: RpcKind, outcome: str, provider=None) -> tuple:
    """What the caller sees for one call through a fresh chain (bare when provider is None)."""
    if flavor in ("sync", "sync_interceptor"):
        with sync_rig(provider, interceptor=flavor == "sync_interceptor") as rig:
            return sync_call(rig, kind, outcome)

    async def run():
        read_write = flavor.startswith("aio_rw")
        async with aio_rig(provider, read_write, interceptor=flavor.endswith("_interceptor")) as rig:
            return await aio_call(rig, kind, outcome, read_write=read_write)

    return asyncio.run(run())


@pytest.mark.parametrize(("flavor", "kind", "outcome"), CASES)
def test_call_is_traced_and_behaves_as_without_instrumentation(flavor, kind, outcome, recorder, caplog):
    counter = EndCounter()
    recorder.provider.add_span_processor(counter)

    bare = observe(flavor, kind, outcome)
    traced = observe(flavor, kind, outcome, recorder.provider)

    assert traced == bare
    spans = wait_for_spans(recorder, 4)
    name, hop = f"{FRONT}/{METHODS[kind]}", f"{BACK}/{METHODS[RpcKind.UNARY]}"
    client, front = one(spans, name, SpanKind.CLIENT), one(spans, name, SpanKind.SERVER)
    downstream, back = one(spans, hop, SpanKind.CLIENT), one(spans, hop, SpanKind.SERVER)
    assert client.parent is None
    assert_child(front, client)
    assert_child(downstream, front)
    assert_child(back, downstream)
    _assert_status(client, front, EXPECTED_CODE[outcome])
    _assert_status(downstream, back, grpc.StatusCode.OK)
    _assert_attributes(client, front, kind)
    exceptions = {s.name + s.kind.name: [e for e in s.events if e.name == "exception"] for s in spans}
    assert sum(len(found) for found in exceptions.values()) == (outcome == "exception")
    if outcome == "exception":
        assert exceptions[name + "SERVER"][0].attributes["exception.type"] == "ValueError"
    counter.assert_each_ended_once()
    assert "ended span" not in caplog.text
    assert "Failed to detach context" not in caplog.text


def _assert_status(client, server, code: grpc.StatusCode) -> None:
    assert client.attributes["rpc.grpc.status_code"] == code.value[0]
    assert server.attributes["rpc.grpc.status_code"] == code.value[0]
    client_error = code is not grpc.StatusCode.OK
    assert client.status.status_code is (StatusCode.ERROR if client_error else StatusCode.UNSET)
    assert server.status.status_code is (StatusCode.ERROR if code in _SERVER_ERRORS else StatusCode.UNSET)
    assert all(s.status.description for s in (client, server) if s.status.status_code is StatusCode.ERROR)


def _assert_attributes(client, server, kind: RpcKind) -> None:
    rpc = {"rpc.system": "grpc", "rpc.service": FRONT, "rpc.method": METHODS[kind]}
    assert rpc.items() <= client.attributes.items()
    assert rpc.items() <= server.attributes.items()
    assert client.attributes["server.address"] == "127.0.0.1"
    assert isinstance(client.attributes["server.port"], int)
    assert server.attributes["client.address"] == "127.0.0.1"
