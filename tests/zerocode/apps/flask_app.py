"""A Flask app with no tracing code, served by werkzeug; it calls itself with requests, urllib3 and
httpx (sync and async) and logs one line from its handler, as JSON lines on stdout."""

import asyncio
import logging
import sys
import threading

import flask
import httpx
import requests
import urllib3
from werkzeug.serving import make_server

import tracing

app = flask.Flask(__name__)
log = logging.getLogger("app")


@app.get("/items/<int:item>")
def item(item):
    log.warning("serving item %s", item)
    return {"item": item}


def main() -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(tracing.JsonFormatter())
    log.addHandler(handler)
    server = make_server("127.0.0.1", 0, app)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}/items"
    assert requests.get(f"{base}/1", timeout=10).json() == {"item": 1}
    assert urllib3.PoolManager().request("GET", f"{base}/2").json() == {"item": 2}
    with httpx.Client() as client:
        assert client.get(f"{base}/3").json() == {"item": 3}

    async def call() -> None:
        async with httpx.AsyncClient() as client:
            assert (await client.get(f"{base}/4")).json() == {"item": 4}

    asyncio.run(call())
    server.shutdown()


if __name__ == "__main__":
    main()
