"""Tracing for gRPC servers and clients, sync and grpc.aio, all four RPC kinds.

    from interceptors import grpc as kgrpc

    server = kgrpc.instrument_server(grpc.server(executor))     # then add services to it
    server = kgrpc.instrument_server(grpc.aio.server())
    server = grpc.server(executor, interceptors=[kgrpc.server_interceptor()])  # same spans, slower
    server = grpc.aio.server(interceptors=[kgrpc.aio_server_interceptor()])
    channel = kgrpc.instrument_channel(grpc.insecure_channel(target))
    channel = kgrpc.instrument_channel(grpc.aio.insecure_channel(target))
    channel = grpc.intercept_channel(grpc.insecure_channel(target), kgrpc.client_interceptor())  # slower
    channel = grpc.aio.insecure_channel(target, interceptors=kgrpc.aio_client_interceptors(target=target))

Spans follow the OpenTelemetry RPC conventions as otelgrpc (kubelet, kube-apiserver) does: name
"package.Service/Method", rpc.system/service/method, rpc.grpc.status_code, server.address/port
on clients, client.address/port on servers. A server span is an error only for UNKNOWN,
DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE and DATA_LOSS; a client span for any
non-OK code. Calls for methods a server does not implement get no span.

Options, for every entry point:
  tracer_provider     default: the global one, looked up per call (so setup() may come later)
  filter              CallMeta -> bool, True to trace; default: all but grpc.health.v1.Health and
                      grpc.reflection.*. Asked once per method, not per call. Compose with any_of,
                      all_of, negate, service_in, method_in.
  message_events      False; True adds a "message" event (type, id, uncompressed size) per message
  request_attributes  (CallMeta, request) -> mapping of extra span attributes, e.g.
                      interceptors.k8s.cri_attributes. Called only for sampled calls whose request
                      is a single message (unary and server-streaming); a failing hook is logged once.
Under opentelemetry-instrument with upstream's distro, contrib's grpc instrumentors trace every server
and channel grpc makes; each entry point then adds nothing (instrument_server and instrument_channel
return what they were given, the interceptor factories an interceptor that hands each call on, and
aio_client_interceptors an empty list) and one log line per library says so: one span per call,
contrib's. Run under kubetrace's distro (OTEL_PYTHON_DISTRO=kubetrace, or `kubetrace run`) for
kubetrace's; see interceptors._contrib for why contrib's is the one kept.

Servers also take trust_policy (default: the one setup() configured, else trust all): whether
incoming context becomes the parent or only a link on a new root. Clients take target (the
channel target, for server.address/server.port; instrument_channel reads it from the channel).
"""

from __future__ import annotations

import grpc
from opentelemetry.trace import TracerProvider

from tracing.propagation import TrustPolicy

from .._contrib import traced_by_contrib
from ._aio_channel import TracedAioChannel
from ._aio_client import aio_interceptors
from ._aio_server import AioServerInterceptor, wrap_aio
from ._callmeta import CallMeta, RpcKind, Side
from ._channel import TracedChannel
from ._filters import Filter, all_of, any_of, default_filter, method_in, negate, service_in
from ._grpc_private import channel_target, holds_services
from ._handlers import TracedHandlers
from ._recipe import Recipe, RequestAttributes
from ._sync_client import ClientInterceptor
from ._sync_server import ServerInterceptor, wrap_sync
from ._traced_server import ServicesAlreadyAdded, TracedAioServer, TracedServer
from ._untraced import UntracedAioServerInterceptor, UntracedClientInterceptor, UntracedServerInterceptor


def instrument_server(
    server: grpc.Server | grpc.aio.Server,
    *,
    tracer_provider: TracerProvider | None = None,
    trust_policy: TrustPolicy | None = None,
    filter: Filter | None = None,
    message_events: bool = False,
    request_attributes: RequestAttributes | None = None,
) -> grpc.Server | grpc.aio.Server:
    """`server` (grpc.server or grpc.aio.server) with server tracing for the services added to it.

    The fastest form: handlers are traced once, when they are added, instead of being looked up
    through grpc's interceptor pipeline on every call as with server_interceptor() (use that to
    compose with other interceptors; the spans are the same). Add services after instrumenting:
    a server that already has some raises ServicesAlreadyAdded, as they would go untraced."""
    options = _options(locals())
    if isinstance(server, (TracedServer, TracedAioServer)):
        raise ServicesAlreadyAdded("instrument_server(): this server is instrumented already")
    aio = _is_aio(server, grpc.aio.Server, grpc.Server, "instrument_server")
    if traced_by_contrib("grpc_aio_server" if aio else "grpc_server"):
        return server
    if holds_services(server):
        raise ServicesAlreadyAdded(
            "instrument_server(): the server already has services, which would not be traced; "
            "instrument it first, then add them (not through grpc.server(handlers=...))"
        )
    if aio:
        return TracedAioServer(server, TracedHandlers(Recipe(Side.SERVER, **options), wrap_aio))
    return TracedServer(server, TracedHandlers(Recipe(Side.SERVER, **options), wrap_sync))


def server_interceptor(
    *,
    tracer_provider: TracerProvider | None = None,
    trust_policy: TrustPolicy | None = None,
    filter: Filter | None = None,
    message_events: bool = False,
    request_attributes: RequestAttributes | None = None,
) -> grpc.ServerInterceptor:
    """An interceptor for grpc.server(interceptors=[...])."""
    if traced_by_contrib("grpc_server"):
        return UntracedServerInterceptor()
    return ServerInterceptor(**_options(locals()))


def aio_server_interceptor(
    *,
    tracer_provider: TracerProvider | None = None,
    trust_policy: TrustPolicy | None = None,
    filter: Filter | None = None,
    message_events: bool = False,
    request_attributes: RequestAttributes | None = None,
) -> grpc.aio.ServerInterceptor:
    """An interceptor for grpc.aio.server(interceptors=[...])."""
    if traced_by_contrib("grpc_aio_server"):
        return UntracedAioServerInterceptor()
    return AioServerInterceptor(**_options(locals()))


def client_interceptor(
    *,
    tracer_provider: TracerProvider | None = None,
    target: str | None = None,
    filter: Filter | None = None,
    message_events: bool = False,
    request_attributes: RequestAttributes | None = None,
) -> grpc.UnaryUnaryClientInterceptor:
    """One interceptor for all four RPC kinds, for grpc.intercept_channel(channel, ...)."""
    if traced_by_contrib("grpc_client"):
        return UntracedClientInterceptor()
    return ClientInterceptor(**_options(locals()))


def aio_client_interceptors(
    *,
    tracer_provider: TracerProvider | None = None,
    target: str | None = None,
    filter: Filter | None = None,
    message_events: bool = False,
    request_attributes: RequestAttributes | None = None,
) -> list[grpc.aio.ClientInterceptor]:
    """Interceptors for grpc.aio.insecure_channel(target, interceptors=...), one per RPC kind."""
    if traced_by_contrib("grpc_aio_client"):
        return []
    return aio_interceptors(**_options(locals()))


def instrument_channel(
    channel: grpc.Channel | grpc.aio.Channel,
    *,
    tracer_provider: TracerProvider | None = None,
    target: str | None = None,
    filter: Filter | None = None,
    message_events: bool = False,
    request_attributes: RequestAttributes | None = None,
) -> grpc.Channel | grpc.aio.Channel:
    """`channel` (sync or grpc.aio) with client tracing; server.address/port come from its target
    unless target= is given.

    The fastest form: each of the channel's multi-callables is wrapped once, when the stub is made;
    per call, no interceptor machinery runs, as it does for grpc.intercept_channel(channel,
    client_interceptor()) and for grpc.aio's interceptors= (use those to compose with other
    interceptors; the spans are the same)."""
    options = _options(locals())
    if isinstance(channel, (TracedChannel, TracedAioChannel)):
        raise ValueError("instrument_channel(): this channel is instrumented already")
    aio = _is_aio(channel, grpc.aio.Channel, grpc.Channel, "instrument_channel")
    if traced_by_contrib("grpc_aio_client" if aio else "grpc_client"):
        return channel
    options["target"] = target or channel_target(channel)
    if aio:
        return TracedAioChannel(channel, Recipe(Side.CLIENT, **options))
    return TracedChannel(channel, Recipe(Side.CLIENT, **options))


def _is_aio(target: object, aio_type: type, sync_type: type, function: str) -> bool:
    """Whether `target` is grpc.aio's kind of object or grpc's; TypeError when it is neither."""
    if isinstance(target, aio_type):
        return True
    if isinstance(target, sync_type):
        return False
    raise TypeError(
        f"{function}(): expected a grpc.{sync_type.__name__} or grpc.aio.{aio_type.__name__}, "
        f"got {type(target).__name__}"
    )


def _options(arguments: dict) -> dict:
    return {k: v for k, v in arguments.items() if k not in ("channel", "server")}


__all__ = [
    "CallMeta",
    "Filter",
    "RpcKind",
    "ServicesAlreadyAdded",
    "Side",
    "aio_client_interceptors",
    "aio_server_interceptor",
    "all_of",
    "any_of",
    "client_interceptor",
    "default_filter",
    "instrument_channel",
    "instrument_server",
    "method_in",
    "negate",
    "server_interceptor",
    "service_in",
]
