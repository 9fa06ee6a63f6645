"""The one HTTP server span recipe: a request described by an adapter -> a span, a context and a reporter.

WSGI and ASGI adapters only know how to read their request, see the response start and find the end
of the body; everything about the span (name, attributes, trust, hooks, outcome) is decided here.
The not-sampled path is the hot one: extract, decide, carry a non-recording context, nothing more.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from opentelemetry import context as context_api
from opentelemetry import trace as trace_api
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind

import tracing
from tracing import SpanStarter, safe_invoke
from tracing.propagation import CONFIGURED_TRUST, TRUST_ALL, extract

from .._authority import MAX_AUTHORITY_LENGTH
from ..k8s import RequestInfo, parse_request_info
from . import _k8s
from ._options import Options
from ._outcome import SERVER_ERROR_FROM, record_outcome
from ._redact import redact_path, redact_query
from ._request import ServerRequest, server_address
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


class ServerRecipe:
    """Starts a ServerCall per request for one middleware instance."""

    __slots__ = ("_origins", "_starter", "options")

    def __init__(self, options: Options):
        self.options = options
        self._starter = SpanStarter(SCOPE, tracing.__version__, options.tracer_provider)
        self._origins: dict[tuple[str, Any], dict[str, Any]] = {}

    def start(self, *request: Any) -> ServerCall | None:
        """A started call for the request described by ServerRequest's fields, in order; None for an
        excluded path (the adapter then just calls the app). The fields come as plain arguments: an
        unsampled request never needs them as a tuple, and building one is a tenth of its cost."""
        method, scheme, path, query, host, server, client, user_agent, _, carrier, reader, native = request
        options = self.options
        if path in options.excluded.exact or path.startswith(options.excluded.prefixes):  # inlined: hot
            return None
        extracted = extract(carrier, reader)
        policy = options.trust_policy or CONFIGURED_TRUST.policy
        if policy is TRUST_ALL:
            parent, links = extracted, ()
        else:
            parent, links = policy.parent_and_links(extracted, ServerRequest(*request).caller)
        audit_id = info = template = None
        if options.kubernetes and _k8s.is_api_request(path):
            audit_id = reader.value(carrier, "audit-id") or _k8s.new_audit_id()
            info = parse_request_info(path, method, query)
            template = info.path_template if info is not None else None
        route = safe_invoke(options.route, native) if options.route is not None else None
        attributes, name_method = self._start_attributes(
            method, scheme, path, query, host, server, client, user_agent
        )
        # kube-apiserver's name wins for a resource request: Go peers and dashboards expect it.
        span = self._starter.start(
            span_name(name_method, template or route), parent, SpanKind.SERVER, attributes, links
        )
        call = ServerCall(self, span, parent, audit_id, route, None if template else name_method)
        if call.recording:
            self._recording_started(call, ServerRequest(*request), info, template)
        return call

    def _start_attributes(
        self,
        method: str,
        scheme: str,
        path: str,
        query: str,
        host: str | None,
        server: Sequence[Any] | None,
        client: str | None,
        user_agent: str | None,
    ) -> tuple[dict[str, Any], str]:
        """What a sampler may look at (semconv's sampling-relevant attributes), and the method for the
        span name. The rest waits until the span is known to record."""
        attributes = (
            self._origins.get((scheme, host or server)) or self._new_origin(scheme, host, server)
        ).copy()
        # redact_path's test, inlined: hot
        attributes[URL_PATH] = path if "=" not in path and "@" not in path else redact_path(path)
        name_method = put_method(attributes, method)
        if query:
            attributes[URL_QUERY] = redact_query(query[:_MAX_TEXT])
        if client:
            attributes[CLIENT_ADDRESS] = client
        if user_agent:
            attributes[USER_AGENT] = user_agent[:_MAX_TEXT]
        return attributes, name_method

    def _new_origin(self, scheme: str, host: str | None, server: Sequence[Any] | None) -> dict[str, Any]:
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

    def _recording_started(
        self, call: ServerCall, request: ServerRequest, info: RequestInfo | None, template: str | None
    ) -> None:
        options, late = self.options, {}
        call.request = request
        version = protocol_version(request.protocol)
        if version:
            late[PROTOCOL_VERSION] = version
        if call.route or template:
            late[ROUTE] = call.route or template
        if info is not None:
            _k8s.put_request_info(late, info)
        if call.audit_id is not None:
            late[_k8s.AUDIT_ID] = _k8s.audit_attribute(call.audit_id)
        if options.request_headers.enabled:
            late.update(options.request_headers.attributes(request.reader.request_headers(request.carrier)))
        call.span.set_attributes(late)
        safe_invoke(options.request_hook, call.span, request.native)


class ServerCall:
    """One request's span from start to end: the reporter the adapters feed. Ends exactly once."""

    __slots__ = (
        "_ended",
        "_recipe",
        "_rename_as",
        "audit_id",
        "client_gone",
        "context",
        "recording",
        "request",
        "route",
        "span",
        "status",
        "watches_response",
    )

    def __init__(
        self,
        recipe: ServerRecipe,
        span: trace_api.Span,
        parent: Context,
        audit_id: str | None,
        route: str | None,
        rename_as: str | None,
    ):
        self._recipe, self.span, self.audit_id = recipe, span, audit_id
        self.request: ServerRequest | None = None  # set when the span records: only then is it needed
        self.recording = span.is_recording()
        context = trace_api.set_span_in_context(span, parent)
        # Only a recording span can take a route from set_route(): only then is the call in the context.
        self.context = context_api.set_value(_CALL_KEY, self, context) if self.recording else context
        self.route, self._rename_as = route, rename_as
        # Unsampled and no audit ID to echo: the adapters need not look at the response at all.
        self.watches_response = self.recording or audit_id is not None
        self.status: int | None = None
        self.client_gone = False
        self._ended = False

    def response_started(self, status: int, headers: Any = None) -> None:
        """The app sent its status line (and headers, in the adapter's own form)."""
        self.status = status
        if not self.recording:
            return
        options = self._recipe.options
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
        if not self.recording or self._ended:
            return
        self.route = route
        self.span.set_attribute(ROUTE, route)
        if self._rename_as is not None:
            self.span.update_name(span_name(self._rename_as, route))

    def end(self, exc: BaseException | None = None) -> None:
        """End the span; `exc` is what the app raised, if anything. Later calls do nothing."""
        if self._ended:
            return
        self._ended = True
        if self.recording:
            # A client that went away is not the server failing, even if the app then raised.
            record_outcome(self.span, self.status, None if self.client_gone else exc, SERVER_ERROR_FROM)
        self.span.end()


def set_route(route: str) -> None:
    """Name the current server request's span after `route` (e.g. "/users/{id}"), from inside a handler.

    For frameworks whose routes the middleware cannot see (Django: call it from a middleware with
    request.resolver_match.route). A Kubernetes resource request keeps kube-apiserver's name.
    """
    call = context_api.get_value(_CALL_KEY)
    if isinstance(call, ServerCall):
        call.set_route(route)
