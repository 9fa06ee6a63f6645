"""The one HTTP client recipe, shared by the requests, urllib3 and httpx (sync and async) adapters,
on the core's calls (tracing.instrumentation).

A call starts before the request is sent (its context injected into the outgoing headers) and ends
when the response body is consumed or closed, or when the transport fails. While a call is open, the
adapters underneath it (requests rides on urllib3) see the OpenTelemetry "suppress HTTP
instrumentation" key and start no second span; upstream instrumentations honour the same key.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any, TypeVar
from urllib.parse import SplitResult, urlsplit

from opentelemetry import trace as trace_api
from opentelemetry.context import Context
from opentelemetry.trace import INVALID_SPAN, SpanContext, SpanKind

import tracing
from tracing.instrumentation import (
    Call,
    Instrumentation,
    current_context,
    inject,
    new_start,
    safe_invoke,
    suppressed,
    suppressing_nested_http,
    unsampled_context,
)
from tracing.propagation import HEADERS_SETTER

from ..k8s import parse_request_info
from . import _k8s
from ._options import Options
from ._outcome import describe_client
from ._redact import redact_url
from ._semconv import (
    PROTOCOL_VERSION,
    SERVER_ADDRESS,
    SERVER_PORT,
    URL_FULL,
    URL_TEMPLATE,
    default_port,
    protocol_version,
    put_method,
    span_name,
)

SCOPE = "kubetrace.http.client"
T = TypeVar("T")


class ClientRecipe:
    """Starts a ClientCall per outgoing request for one instrumented client."""

    __slots__ = ("_core", "options")

    def __init__(self, options: Options):
        self.options = options
        self._core = Instrumentation(
            SCOPE, describe_client, version=tracing.__version__, tracer_provider=options.tracer_provider
        )

    def start(self, method: str, url: str, headers: MutableMapping[str, str]) -> ClientCall | None:
        """A started call whose context is already in `headers`; None when another client span is
        open for this request, instrumentation is suppressed, or the path is excluded."""
        current = current_context()
        if suppressed(current):
            return None
        try:
            target = urlsplit(url)
        except ValueError:  # not a URL urllib can split: the library will fail it, untraced
            return None
        if target.path in self.options.excluded:
            return None
        core = self._core
        decided = core.decide(current)
        if decided.__class__ is SpanContext:  # not sampled: nothing to describe
            call = ClientCall(INVALID_SPAN, unsampled_context(decided, current))
        else:
            attributes, name = self._describe(method, target)
            start = new_start((name, SpanKind.CLIENT, attributes, ()))
            call = core.start_client(start, current, decided, ClientCall)
        call.context = suppressing_nested_http(call.context)
        inject(headers, HEADERS_SETTER, call.context)
        if call.recording:
            call.options = self.options
            self._recording_started(call, method, url, headers)
        return call

    def _describe(self, method: str, target: SplitResult) -> tuple[dict[str, Any], str]:
        """Start attributes and span name: `{METHOD}`, or kube-apiserver's name for a Kubernetes API call."""
        attributes: dict[str, Any] = {URL_FULL: redact_url(target)}
        name_method = put_method(attributes, method)
        if target.hostname:
            attributes[SERVER_ADDRESS] = target.hostname
        port = _port(target)
        if port is not None:
            attributes[SERVER_PORT] = port
        info = None
        if self.options.kubernetes and _k8s.is_api_request(target.path):
            info = parse_request_info(target.path, method, target.query)
        if info is None:
            return attributes, name_method
        _k8s.put_request_info(attributes, info)
        attributes[URL_TEMPLATE] = info.path_template
        return attributes, span_name(name_method, info.path_template)

    def _recording_started(
        self, call: ClientCall, method: str, url: str, headers: MutableMapping[str, str]
    ) -> None:
        options = self.options
        if options.request_headers.enabled:
            call.span.set_attributes(options.request_headers.attributes(headers.items()))
        safe_invoke(options.request_hook, call.span, method, url, headers)


class ClientCall(Call):
    """One outgoing request's call: the response status it saw, for its end."""

    __slots__ = ("options", "status")

    def __init__(self, span: trace_api.Span, context: Context, owner: Instrumentation | None = None):
        super().__init__(span, context, owner)
        self.options: Options | None = None  # set when the span records: only then is it needed
        self.status: int | None = None

    def response(self, status: int, protocol: str | None, headers: Mapping[str, str]) -> None:
        """The response's status line and headers arrived (its body may still be on the way)."""
        self.status = status
        if not self.recording:
            return
        version = protocol_version(protocol)
        if version:
            self.span.set_attribute(PROTOCOL_VERSION, version)
        options = self.options
        if options.response_headers.enabled or options.response_hook is not None:
            pairs = list(headers.items())
            self.span.set_attributes(options.response_headers.attributes(pairs))
            safe_invoke(options.response_hook, self.span, status, pairs)

    def finish(self, exc: BaseException | None = None) -> None:
        """End the call with the response status seen; `exc` is the transport failure, if any."""
        self.end(self.status, None, exc)


def send_through(call: ClientCall, send: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run the library's own send in the call's context; a failure ends the call and propagates."""
    token = call.enter()
    try:
        return send(*args, **kwargs)
    except BaseException as exc:
        call.finish(exc)
        raise
    finally:
        call.exit(token)


async def send_through_async(
    call: ClientCall, send: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any
) -> T:
    """send_through for coroutine transports."""
    token = call.enter()
    try:
        return await send(*args, **kwargs)
    except BaseException as exc:
        call.finish(exc)
        raise
    finally:
        call.exit(token)


def _port(target: SplitResult) -> int | None:
    try:
        return target.port or default_port(target.scheme)
    except ValueError:  # a port urllib cannot read: leave server.port out
        return None
