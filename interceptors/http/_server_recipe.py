"""The one HTTP server recipe: a request described by an adapter -> a decision, then a call.

WSGI and ASGI adapters only know how to read their request, see the response start and find the end
of the body; everything about the span (name, attributes, hooks, outcome) is decided here, on the
core's calls (tracing.instrumentation: the decision, the trust policy, forced traces, ending once).
The not-sampled path is the hot one: extract, decide, carry a non-recording context, nothing more;
the request's other fields are read only for a request that records.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from opentelemetry import context as context_api
from opentelemetry.context import Context
from opentelemetry.trace import INVALID_SPAN, SpanKind

import tracing
from tracing.instrumentation import Call, Caller, Instrumentation, new_start, safe_invoke

from .._authority import MAX_AUTHORITY_LENGTH
from ..k8s import RequestInfo, parse_request_info
from . import _k8s
from ._options import Options
from ._outcome import describe_server
from ._redact import redact_path, redact_query
from ._request import HeaderReader, ServerRequest, server_address
from ._semconv import (
    CLIENT_ADDRESS,
    PROTOCOL_VERSION,
    ROUTE,
    SERVER_ADDRESS,
    SERVER_PORT,
    URL_PATH,
    URL_QUERY,
    URL_SCHEME,
    USER_AGENT,
    protocol_version,
    put_method,
    span_name,
)

SCOPE = "kubetrace.http.server"
_CALL_KEY = context_api.create_key("kubetrace-http-server-call")
_MAX_TEXT = 2048  # request-controlled strings (query, user agent) are bounded on spans
_MAX_ORIGINS = 1024

ReadRequest = Callable[[Any, Any], ServerRequest]  # (native request, carrier) -> its fields


class ServerRecipe:
    """Starts a call per request for one middleware instance."""

    __slots__ = ("_core", "_origins", "_read", "_reader", "options")

    def __init__(self, options: Options, reader: HeaderReader, read_request: ReadRequest):
        self.options = options
        self._core = Instrumentation(
            SCOPE,
            describe_server,
            version=tracing.__version__,
            tracer_provider=options.tracer_provider,
            trust_policy=options.trust_policy,
            caller=self._caller,
        )
        self._reader, self._read = reader, read_request
        self._origins: dict[tuple[str, Any], dict[str, Any]] = {}

    def start(self, path: str, carrier: Any, native: Any) -> ServerCall | Context | None:
        """What to do with one request whose URL path is `path`, whose headers `carrier` holds (as
        the adapter's reader reads them) and whose native form (WSGI environ, ASGI scope) is `native`:

        - None: an excluded path; call the app, untraced;
        - a Context: not sampled, and no audit ID to echo; run the app with it current, there is
          nothing to watch and nothing to end;
        - a ServerCall: feed it the response start and end it (finish()).
        """
        options = self.options
        if path in options.excluded.exact or path.startswith(options.excluded.prefixes):  # inlined: hot
            return None
        reader = self._reader
        decided = self._core.decide_server(carrier, reader, (native, carrier))
        audit_id = None
        kubernetes = options.kubernetes and _k8s.is_api_request(path)
        if kubernetes:
            audit_id = reader.value(carrier, "audit-id") or _k8s.new_audit_id()
        if decided.__class__ is Context:
            return decided if audit_id is None else unsampled_call(decided, audit_id)
        request = self._read(native, carrier)
        info = parse_request_info(path, request.method, request.query) if kubernetes else None
        template = info.path_template if info is not None else None
        route = safe_invoke(options.route, native) if options.route is not None else None
        attributes, name_method = self._start_attributes(request)
        # Sampled already (an int): the sampler will not look, so every attribute goes in at the start.
        sampled = decided.trace_id is not None
        if sampled:
            self._late_attributes(attributes, request, route or template, info, audit_id)
        # kube-apiserver's name wins for a resource request: Go peers and dashboards expect it.
        start = new_start((span_name(name_method, template or route), SpanKind.SERVER, attributes, ()))
        call = self._core.start_server(start, decided, ServerCall)
        _init(call, audit_id, route, None if template else name_method)
        if call.recording:
            # Only a recording span can take a route from set_route(): only then is the call in the context.
            call.context = Context({**call.context, _CALL_KEY: call})
            call.request, call.options = request, options
            if not sampled:
                call.span.set_attributes(
                    self._late_attributes({}, request, route or template, info, audit_id)
                )
            if options.request_hook is not None:  # guarded: a call fewer per request without one
                safe_invoke(options.request_hook, call.span, native)
        return call

    def _caller(self, request: tuple[Any, Any]) -> Caller:
        """The caller of the request (native, carrier), as a trust predicate sees it."""
        return self._read(*request).caller()

    def _start_attributes(self, request: ServerRequest) -> tuple[dict[str, Any], str]:
        """What a sampler may look at (semconv's sampling-relevant attributes), and the method for the
        span name. The rest waits until the span is known to record."""
        scheme, host, server = request.scheme, request.host, request.server
        attributes = (
            self._origins.get((scheme, host or server)) or self._new_origin(scheme, host, server)
        ).copy()
        path = request.path
        # redact_path's test, inlined: hot
        attributes[URL_PATH] = path if "=" not in path and "@" not in path else redact_path(path)
        name_method = put_method(attributes, request.method)
        if request.query:
            attributes[URL_QUERY] = redact_query(request.query[:_MAX_TEXT])
        if request.client:
            attributes[CLIENT_ADDRESS] = request.client
        if request.user_agent:
            attributes[USER_AGENT] = request.user_agent[:_MAX_TEXT]
        return attributes, name_method

    def _new_origin(self, scheme: str, host: str | None, server: Any) -> dict[str, Any]:
        """url.scheme, server.address and server.port, built once per scheme and Host (or listening
        address): a service sees few. Host is request-controlled, so the cache is bounded, and so are its keys."""
        address, port = server_address(scheme, host, server)
        origin: dict[str, Any] = {URL_SCHEME: scheme}
        if address:
            origin[SERVER_ADDRESS] = address
            if port is not None:
                origin[SERVER_PORT] = port
        if len(self._origins) < _MAX_ORIGINS and (host is None or len(host) <= MAX_AUTHORITY_LENGTH):
            self._origins[(scheme, host or server)] = origin
        return origin

    def _late_attributes(
        self,
        attributes: dict[str, Any],
        request: ServerRequest,
        route: str | None,
        info: RequestInfo | None,
        audit_id: str | None,
    ) -> dict[str, Any]:
        """The attributes only a recording span needs, added to `attributes`."""
        version = protocol_version(request.protocol)
        if version:
            attributes[PROTOCOL_VERSION] = version
        if route:
            attributes[ROUTE] = route
        if info is not None:
            _k8s.put_request_info(attributes, info)
        if audit_id is not None:
            attributes[_k8s.AUDIT_ID] = _k8s.audit_attribute(audit_id)
        capture = self.options.request_headers
        if capture.enabled:
            attributes.update(capture.attributes(request.reader.request_headers(request.carrier)))
        return attributes


class ServerCall(Call):
    """One request's call, with what the HTTP adapters and set_route() need besides the span (set
    by the recipe: _init())."""

    __slots__ = (
        "_rename_as",
        "audit_id",
        "client_gone",
        "options",
        "request",
        "route",
        "status",
        "watches_response",
    )

    def response_started(self, status: int, headers: Any = None) -> None:
        """The app sent its status line (and headers, in the adapter's own form)."""
        self.status = status
        if not self.recording:
            return
        options = self.options
        if options.response_headers.enabled or options.response_hook is not None:
            pairs = list(self.request.reader.response_headers(headers or ()))
            self.span.set_attributes(options.response_headers.attributes(pairs))
            safe_invoke(options.response_hook, self.span, self.request.native, status, pairs)

    def found_route(self, route: str | None) -> None:
        """The framework matched a route template; used unless a hook or set_route() named one."""
        if route and self.route is None:
            self.set_route(route)

    def set_route(self, route: str) -> None:
        """Name the span after `route` (kept: a Kubernetes resource request's name) and record it."""
        if not self.recording or self.ended:
            return
        self.route = route
        self.span.set_attribute(ROUTE, route)
        if self._rename_as is not None:
            self.span.update_name(span_name(self._rename_as, route))

    def finish(self, exc: BaseException | None = None) -> None:
        """End the call with the status the app sent; `exc` is what the app raised, if anything.
        A client that went away is not the server failing, even if the app then raised."""
        self.end(self.status, None, None if self.client_gone else exc)


def _init(call: ServerCall, audit_id: str | None, route: str | None, rename_as: str | None) -> None:
    """A new call's own fields (one store each: ServerCall has no __init__ to keep the hot path a
    frame shorter). `request` and `options` are set only for a call that records."""
    call.audit_id, call.route, call._rename_as, call.status, call.client_gone = (
        audit_id,
        route,
        rename_as,
        None,
        False,
    )
    call.request = call.options = None
    # Unsampled and no audit ID to echo: the adapters need not look at the response at all.
    call.watches_response = call.recording or audit_id is not None


def unsampled_call(context: Context, audit_id: str | None = None) -> ServerCall:
    """A call that does not record, for the adapters' code that wants one: it runs what it wraps in
    `context` and echoes `audit_id`."""
    call = ServerCall(INVALID_SPAN, context)
    _init(call, audit_id, None, None)
    return call


def set_route(route: str) -> None:
    """Name the current server request's span after `route` (e.g. "/users/{id}"), from inside a handler.

    For frameworks whose routes the middleware cannot see (Django: call it from a middleware with
    request.resolver_match.route). A Kubernetes resource request keeps kube-apiserver's name.
    """
    call = context_api.get_value(_CALL_KEY)
    if isinstance(call, ServerCall):
        call.set_route(route)
