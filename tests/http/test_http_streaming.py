"""Long requests: a streamed body ends its span when fully sent or when the client goes away; a
websocket is one span per connection."""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

import pytest
import requests
from _http_support import SERVERS, wait_for_spans
from opentelemetry.trace import StatusCode


@pytest.mark.parametrize("kind", SERVERS)
def test_streamed_body_ends_the_span_after_the_last_chunk_is_sent(kind, serve, recorder, service):
    base = serve(kind)
    response = requests.get(base + "/stream?n=5")
    assert response.text == "".join(f"chunk{i}\n" for i in range(5))
    (span,) = wait_for_spans(recorder, 1)
    assert span.end_time >= service.last_chunk_at > span.start_time
    assert span.attributes["http.response.status_code"] == 200
    assert span.status.status_code is StatusCode.UNSET


@pytest.mark.parametrize("kind", SERVERS)
def test_a_watch_keeps_its_span_open_until_the_client_goes_away(kind, serve, recorder, service):
    base = serve(kind)
    address = urlsplit(base)
    with socket.create_connection((address.hostname, address.port)) as conn:
        conn.sendall(b"GET /forever HTTP/1.1\r\nHost: x\r\n\r\n")
        assert b"event" in _read_until(conn, b"event")
        time.sleep(0.1)
        assert recorder.spans() == []  # still streaming: the span is open
    # The client closed the connection: the server notices, closes the body, the span ends.
    assert service.closed.wait(5)
    (span,) = wait_for_spans(recorder, 1)
    assert span.attributes["http.response.status_code"] == 200
    assert span.status.status_code is StatusCode.UNSET  # a client leaving a watch is not a server error


def _read_until(conn: socket.socket, marker: bytes) -> bytes:
    data = b""
    conn.settimeout(5)
    while marker not in data:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


@pytest.mark.parametrize("kind, name", [("asgi", "GET"), ("starlette", "GET /ws")])
def test_a_websocket_is_one_span_per_connection(kind, name, serve, recorder):
    connect = pytest.importorskip("websockets.sync.client").connect
    base = serve(kind)
    with connect(
        base.replace("http://", "ws://") + "/ws",
        additional_headers={"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
    ) as ws:
        for text in ("a", "b", "c"):
            ws.send(text)
            assert ws.recv() == "echo:" + text
        assert recorder.spans() == []  # no span per message
    (span,) = wait_for_spans(recorder, 1)
    time.sleep(0.05)
    assert len(recorder.spans()) == 1
    assert span.name == name
    assert span.attributes["url.scheme"] == "ws"
    assert span.attributes["url.path"] == "/ws"
    assert span.attributes["http.response.status_code"] == 101
    assert f"{span.parent.span_id:016x}" == "b7ad6b7169203331"
    assert span.status.status_code is StatusCode.UNSET


def test_a_refused_websocket_handshake_is_a_403(serve, recorder):
    connect = pytest.importorskip("websockets.sync.client").connect
    from websockets.exceptions import InvalidStatus

    base = serve("asgi")
    with pytest.raises(InvalidStatus):
        connect(base.replace("http://", "ws://") + "/ws-denied")
    (span,) = wait_for_spans(recorder, 1)
    assert span.attributes["http.response.status_code"] == 403
    assert span.status.status_code is StatusCode.UNSET
