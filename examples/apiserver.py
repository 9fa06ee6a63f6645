"""apiserver: a Kubernetes-style HTTP API for pods, kept in the storage example over gRPC.

    STORAGE_ADDRESS=127.0.0.1:2379 APISERVER_LISTEN=127.0.0.1:8080 python examples/apiserver.py

Serves pods as kube-apiserver does, in Kubernetes-shaped JSON:

    POST /api/v1/namespaces/{ns}/pods                  create
    GET  /api/v1/namespaces/{ns}/pods/{name}           get
    GET  /api/v1/pods, /api/v1/namespaces/{ns}/pods    list; fieldSelector on metadata.name,
                                                       metadata.namespace, spec.nodeName, status.phase
    GET  ...pods?watch=true[&resourceVersion=N]        watch: one JSON event per line, until the client
                                                       leaves (or timeoutSeconds passes)
    PUT  /api/v1/namespaces/{ns}/pods/{name}/status    status update; a stale resourceVersion is a 409

Pods are stored under /registry/pods/{ns}/{name}; a pod's resourceVersion is its storage revision.
Errors are metav1.Status objects; every response carries an Audit-Id. Like kube-apiserver, client
watches are served from a cache that one storage Watch keeps current. Prints `LISTENING host:port`
once it accepts connections (port 0 picks a free port).

Tracing takes three lines: tracing.setup(); AsgiMiddleware around the app, which names each SERVER
span as kube-apiserver does (`POST /api/v1/namespaces/{:namespace}/pods`), records the request
info as k8s.request.* attributes, and gives each request its Audit-Id (echoed in the response and
recorded as `audit-id`); and the gRPC client interceptors on the storage channel, which make each
storage call a CLIENT span and send its context to storage.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import uuid
from datetime import datetime, timezone
from urllib.parse import parse_qs

import grpc
import uvicorn
from _generated import storage_pb2, storage_pb2_grpc

import tracing
from interceptors import grpc as kgrpc
from interceptors.http import AsgiMiddleware

PODS = re.compile(
    r"/api/v1(?:/namespaces/(?P<namespace>[^/]+))?/pods(?:/(?P<name>[^/]+)(?P<status>/status)?)?"
)
PREFIX = "/registry/pods/"
FIELDS = {
    "metadata.name": ("metadata", "name"),
    "metadata.namespace": ("metadata", "namespace"),
    "spec.nodeName": ("spec", "nodeName"),
    "status.phase": ("status", "phase"),
}
# Storage's answers as kube-apiserver reports them: HTTP status and metav1.Status reason.
STORAGE_ERRORS = {
    grpc.StatusCode.NOT_FOUND: (404, "NotFound"),
    grpc.StatusCode.ALREADY_EXISTS: (409, "AlreadyExists"),
    grpc.StatusCode.FAILED_PRECONDITION: (409, "Conflict"),
}


class ApiError(Exception):
    """A request that fails with a metav1.Status."""

    def __init__(self, code: int, reason: str, message: str):
        super().__init__(message)
        self.code, self.reason = code, reason

    def status(self) -> dict:
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": str(self),
            "reason": self.reason,
            "code": self.code,
        }


class WatchCache:
    """kube-apiserver's watch cache, in small: one storage Watch feeds every client watch."""

    def __init__(self, kv: storage_pb2_grpc.KVStub):
        self.kv = kv
        self.objects: dict[str, dict] = {}  # key -> latest pod
        self.events: list[tuple[int, str, dict]] = []  # (revision, ADDED|MODIFIED, pod), all of them
        self.watchers: set[asyncio.Queue] = set()

    async def start(self) -> asyncio.Task:
        listing = await self.kv.Range(storage_pb2.RangeRequest(prefix=PREFIX))
        self.objects = {kv.key: decode(kv) for kv in listing.kvs}
        return asyncio.create_task(self._follow(listing.revision + 1))

    async def _follow(self, start_revision: int) -> None:
        async for event in self.kv.Watch(
            storage_pb2.WatchRequest(prefix=PREFIX, start_revision=start_revision)
        ):
            kv = event.kv
            change = (
                kv.mod_revision,
                "ADDED" if kv.create_revision == kv.mod_revision else "MODIFIED",
                decode(kv),
            )
            self.objects[kv.key] = change[2]
            self.events.append(change)
            for queue in self.watchers:
                queue.put_nowait(change[1:])

    def subscribe(self, since: int | None) -> asyncio.Queue:
        """A queue of (type, pod) events: every current pod as ADDED (since=None), or every change
        after revision `since`, then each new change. No await here, so nothing is missed."""
        queue: asyncio.Queue = asyncio.Queue()
        if since is None:
            backlog = [("ADDED", pod) for pod in self.objects.values()]
        else:
            backlog = [(kind, pod) for revision, kind, pod in self.events if revision > since]
        for event in backlog:
            queue.put_nowait(event)
        self.watchers.add(queue)
        return queue


class PodsApi:
    """The pods resource: routing, storage and watch for one ASGI app."""

    def __init__(self, kv: storage_pb2_grpc.KVStub, cache: WatchCache):
        self.kv, self.cache = kv, cache

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        route = PODS.fullmatch(scope["path"])
        method, query = scope["method"], parse_qs(scope["query_string"].decode())
        try:
            if route is None or (route["name"] and not route["namespace"]):
                raise ApiError(404, "NotFound", "the server could not find the requested resource")
            namespace, name = route["namespace"], route["name"]
            if (
                method == "GET"
                and name is None
                and query.get("watch", ["false"])[0].lower() not in ("0", "false")
            ):
                return await self.watch(send, receive, namespace, query)
            code, body = await self.handle(method, namespace, name, bool(route["status"]), query, receive)
        except ApiError as err:
            code, body = err.code, err.status()
        except grpc.aio.AioRpcError as err:
            code, reason = STORAGE_ERRORS.get(err.code(), (500, "InternalError"))
            body = ApiError(code, reason, err.details() or str(err.code())).status()
        await respond(send, code, body)

    async def handle(self, method, namespace, name, status, query, receive) -> tuple[int, dict]:
        if method == "POST" and name is None and namespace:
            return 201, await self.create(namespace, await read_json(receive))
        if method == "GET" and name:
            return 200, await self.get(namespace, name)
        if method == "GET":
            return 200, await self.list(namespace, selector(query))
        if method == "PUT" and status:
            return 200, await self.update_status(namespace, name, await read_json(receive))
        raise ApiError(405, "MethodNotAllowed", f"{method} is not supported on this resource")

    async def create(self, namespace: str, pod: dict) -> dict:
        metadata, spec = pod.setdefault("metadata", {}), pod.get("spec") or {}
        name = metadata.get("name")
        if not name or not spec.get("containers"):
            raise ApiError(422, "Invalid", "a pod needs metadata.name and spec.containers")
        if metadata.get("namespace", namespace) != namespace:
            raise ApiError(400, "BadRequest", "the namespace of the object does not match the request")
        metadata.update(namespace=namespace, uid=str(uuid.uuid4()), creationTimestamp=now())
        metadata.pop("resourceVersion", None)
        pod.update(apiVersion="v1", kind="Pod", status={"phase": "Pending"})
        put = storage_pb2.PutRequest(key=key(namespace, name), value=encode(pod), expected_revision=0)
        return decode((await self.kv.Put(put)).kv)

    async def get(self, namespace: str, name: str) -> dict:
        return decode((await self.kv.Get(storage_pb2.GetRequest(key=key(namespace, name)))).kv)

    async def list(self, namespace: str | None, fields: list) -> dict:
        listing = await self.kv.Range(
            storage_pb2.RangeRequest(prefix=PREFIX + (f"{namespace}/" if namespace else ""))
        )
        pods = [pod for pod in map(decode, listing.kvs) if matches(pod, fields)]
        return {
            "apiVersion": "v1",
            "kind": "PodList",
            "metadata": {"resourceVersion": str(listing.revision)},
            "items": pods,
        }

    async def update_status(self, namespace: str, name: str, update: dict) -> dict:
        stored = (await self.kv.Get(storage_pb2.GetRequest(key=key(namespace, name)))).kv
        pod, given = decode(stored), (update.get("metadata") or {}).get("resourceVersion")
        if given and given != pod["metadata"]["resourceVersion"]:
            raise ApiError(
                409,
                "Conflict",
                f'Operation cannot be fulfilled on pods "{name}": the object has been modified',
            )
        pod["status"] = update.get("status") or {}  # the status subresource changes nothing else
        put = storage_pb2.PutRequest(key=stored.key, value=encode(pod), expected_revision=stored.mod_revision)
        return decode((await self.kv.Put(put)).kv)

    async def watch(self, send, receive, namespace: str | None, query: dict) -> None:
        """Stream events until the client goes away: a watch's span ends when its client does."""
        fields = selector(query)
        if namespace:
            fields.append((FIELDS["metadata.namespace"], True, namespace))
        since = number(query, "resourceVersion", 0)
        timeout = number(query, "timeoutSeconds", 3600)
        queue = self.cache.subscribe(since or None)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        gone = asyncio.ensure_future(disconnected(receive))
        deadline = asyncio.get_running_loop().time() + timeout
        try:
            while True:
                event = asyncio.ensure_future(queue.get())
                remaining = deadline - asyncio.get_running_loop().time()
                await asyncio.wait(
                    {event, gone}, timeout=max(remaining, 0), return_when=asyncio.FIRST_COMPLETED
                )
                if not event.done():
                    event.cancel()
                    break
                kind, pod = event.result()
                if matches(pod, fields):
                    line = json.dumps({"type": kind, "object": pod}).encode() + b"\n"
                    await send({"type": "http.response.body", "body": line, "more_body": True})
        finally:
            self.cache.watchers.discard(queue)
            gone.cancel()
        if not gone.done():  # timeoutSeconds passed: end the response; a client that left needs nothing
            await send({"type": "http.response.body", "body": b""})


def selector(query: dict) -> list[tuple[tuple[str, str], bool, str]]:
    """fieldSelector=spec.nodeName=node-1,status.phase!=Running -> [(field path, equal?, value)]."""
    terms = []
    for term in filter(None, query.get("fieldSelector", [""])[0].split(",")):
        parsed = re.fullmatch(r"([^!=]+)(!=|==|=)(.*)", term)
        if parsed is None:
            raise ApiError(400, "BadRequest", f"invalid field selector term: {term!r}")
        field, operator, value = parsed.groups()
        if field not in FIELDS:
            raise ApiError(400, "BadRequest", f'field label not supported: "{field}"')
        terms.append((FIELDS[field], operator != "!=", value))
    return terms


def number(query: dict, name: str, default: int) -> int:
    value = query.get(name, [""])[0]
    if not value:
        return default
    if not value.isdigit():
        raise ApiError(400, "BadRequest", f"{name}: not a number: {value!r}")
    return int(value)


def matches(pod: dict, fields: list) -> bool:
    return all(
        ((pod.get(part) or {}).get(leaf, "") == value) == equal for (part, leaf), equal, value in fields
    )


def key(namespace: str, name: str) -> str:
    return f"{PREFIX}{namespace}/{name}"


def encode(pod: dict) -> bytes:
    return json.dumps(pod, separators=(",", ":")).encode()


def decode(kv: storage_pb2.KeyValue) -> dict:
    """A stored pod as clients see it: its resourceVersion is the revision that last wrote it."""
    pod = json.loads(kv.value)
    pod["metadata"]["resourceVersion"] = str(kv.mod_revision)
    return pod


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


async def read_json(receive) -> dict:
    body, more = b"", True
    while more:
        message = await receive()
        body, more = body + message.get("body", b""), message.get("more_body", False)
    try:
        document = json.loads(body)
    except ValueError as err:
        raise ApiError(400, "BadRequest", f"the body is not JSON: {err}") from None
    if not isinstance(document, dict):
        raise ApiError(400, "BadRequest", "the body must be a JSON object")
    return document


async def disconnected(receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def respond(send, code: int, body: dict) -> None:
    data = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    await send({"type": "http.response.start", "status": code, "headers": headers})
    await send({"type": "http.response.body", "body": data})


async def serve() -> None:
    target = os.environ.get("STORAGE_ADDRESS", "127.0.0.1:2379")
    # The cache's own storage Watch lasts as long as this process: it is not a request, and a span
    # for it would only end, cancelled, at shutdown. Every other storage call is traced.
    all_but_watch = kgrpc.negate(kgrpc.method_in("storage.v1.KV/Watch"))
    traced = kgrpc.instrument_channel(grpc.aio.insecure_channel(target), filter=all_but_watch)
    async with traced as channel:
        kv = storage_pb2_grpc.KVStub(channel)
        cache = WatchCache(kv)
        following = await cache.start()
        app = AsgiMiddleware(PodsApi(kv, cache))

        host, _, port = os.environ.get("APISERVER_LISTEN", "127.0.0.1:8080").rpartition(":")
        listener = socket.create_server((host, int(port)))
        print(f"LISTENING {host}:{listener.getsockname()[1]}", flush=True)
        config = uvicorn.Config(app, lifespan="off", log_level="warning", timeout_graceful_shutdown=1)
        try:
            await uvicorn.Server(config).serve(sockets=[listener])
        finally:
            following.cancel()


def main() -> None:
    os.environ.setdefault("OTEL_SERVICE_NAME", "apiserver")
    tracing.setup()
    # uvicorn stops gracefully on SIGINT and SIGTERM, then raises the signal again: let SIGTERM
    # arrive here as Ctrl-C does, so the spans still queued are exported before the process ends.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        pass
    finally:
        tracing.shutdown()


if __name__ == "__main__":
    main()
