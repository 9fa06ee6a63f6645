"""A FastAPI app and a Starlette app with no tracing code, served by uvicorn; httpx calls both."""

import socket
import threading
import time

import fastapi
import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

api = fastapi.FastAPI()


@api.get("/items/{item}")
async def item(item: int):
    return {"item": item}


async def thing(request):
    return JSONResponse({"thing": request.path_params["name"]})


plain = Starlette(routes=[Route("/things/{name}", thing)])


def serve(app) -> tuple[str, uvicorn.Server, threading.Thread]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    return f"http://127.0.0.1:{sock.getsockname()[1]}", server, thread


def main() -> None:
    (api_url, *api_server), (plain_url, *plain_server) = serve(api), serve(plain)
    with httpx.Client() as client:
        assert client.get(api_url + "/items/5").json() == {"item": 5}
        assert client.get(plain_url + "/things/x").json() == {"thing": "x"}
    for server, thread in (api_server, plain_server):  # let each finish its request, as at a real exit
        server.should_exit = True
        thread.join()


if __name__ == "__main__":
    main()
