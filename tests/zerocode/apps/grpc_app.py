"""gRPC servers and channels with no tracing code: a grpc.aio server called over a grpc.aio channel
(unary and server-streaming), and a sync server called over a sync channel."""

import asyncio
from concurrent import futures

import grpc

SERVICE = "kt.zc.Echo"


async def say(request, context):
    return request


async def count(request, context):
    for i in range(3):
        yield request + bytes([48 + i])


def sync_say(request, context):
    return request


def handlers(unary, stream=None):
    methods = {"Say": grpc.unary_unary_rpc_method_handler(unary)}
    if stream is not None:
        methods["Count"] = grpc.unary_stream_rpc_method_handler(stream)
    return grpc.method_handlers_generic_handler(SERVICE, methods)


async def aio() -> None:
    server = grpc.aio.server()
    server.add_generic_rpc_handlers([handlers(say, count)])
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        assert await channel.unary_unary(f"/{SERVICE}/Say")(b"aio") == b"aio"
        replies = [r async for r in channel.unary_stream(f"/{SERVICE}/Count")(b"n")]
        assert replies == [b"n0", b"n1", b"n2"], replies
    await server.stop(None)


def sync() -> None:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    server.add_generic_rpc_handlers([handlers(sync_say)])
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        assert channel.unary_unary(f"/{SERVICE}/Say")(b"sync") == b"sync"
    server.stop(None)


if __name__ == "__main__":
    asyncio.run(aio())
    sync()
