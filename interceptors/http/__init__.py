"""HTTP tracing: WSGI and ASGI server middleware, and requests, urllib3 and httpx clients.

    from interceptors.http import AsgiMiddleware, WsgiMiddleware
    app.wsgi_app = WsgiMiddleware(app.wsgi_app)            # Flask; Django: WsgiMiddleware(application)
    app = AsgiMiddleware(app)                              # Starlette, FastAPI, any ASGI app

    from interceptors.http import TracingTransport, instrument_pool_manager, instrument_requests_session
    instrument_requests_session(requests.Session())
    instrument_pool_manager(kubernetes_api_client.rest_client.pool_manager)
    httpx.Client(transport=TracingTransport())             # AsyncTracingTransport for httpx.AsyncClient

Spans follow the stable HTTP semantic conventions. Server spans are named `{METHOD} {route}` when a
route is known (the framework's: Flask, Starlette/FastAPI; the `route` option; or set_route() from a
handler), else `{METHOD}`. With kubernetes=True (the default), Kubernetes API requests (paths under
/api and /apis) get kube-apiserver's semantics: a resource request is named as kube-apiserver names it
(`GET /api/v1/namespaces/{:namespace}/pods/{:name}`) with its request info as attributes
k8s.request.{verb,api_group,api_version,resource,subresource,namespace,name}, and the `audit-id` comes from the Audit-Id request header or is generated, and is echoed
in the response. Client spans to such paths get the same name and attributes (and `url.template`).
Incoming context is the parent only when the trust policy trusts the caller; otherwise it becomes a
link on a new root, and the untrusted caller's baggage is dropped.

Options (keyword arguments; an argument wins over the settings of tracing.setup(), else the environment):
    tracer_provider   default: the global one
    trust_policy      servers: TRUST_ALL, TRUST_NONE or trust_callers(predicate);
                      default: tracing.setup()'s KUBETRACE_TRUST_INCOMING, else trust all
    excluded_urls     paths not traced (with everything under them); default: the http_excluded_urls
                      setting (KUBETRACE_HTTP_EXCLUDED_URLS, comma-separated, or "none"), else
                      /healthz, /livez, /readyz, /metrics
    route             servers: request (environ or scope) -> route template, known before the app runs
    request_hook      servers: (span, environ|scope); clients: (span, method, url, headers)
    response_hook     servers: (span, environ|scope, status, headers); clients: (span, status, headers)
    kubernetes        default True
Hooks run only for sampled requests, and a hook that raises is logged once and ignored.

Headers are captured only when listed in OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_{SERVER,CLIENT}_{REQUEST,RESPONSE};
Authorization, Proxy-Authorization, Cookie and Set-Cookie never are. Captured headers whose names
contain a credential word (token, secret, passw, auth, key, signature, credential, session, cookie) or
match OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SANITIZE_FIELDS are recorded as "[REDACTED]". URL
userinfo and credential-like query parameters are redacted in url.*, captured header values and
exception events alike (the README lists them).
"""

from typing import Any

from tracing.propagation import TRUST_ALL, TRUST_NONE, Caller, TrustPolicy, trust_callers

from ._asgi import AsgiMiddleware
from ._requests import instrument_requests_session
from ._server_recipe import set_route
from ._urllib3 import instrument_pool_manager
from ._wsgi import WsgiMiddleware

__all__ = [
    "TRUST_ALL",
    "TRUST_NONE",
    "AsgiMiddleware",
    "AsyncTracingTransport",
    "Caller",
    "TracingTransport",
    "TrustPolicy",
    "WsgiMiddleware",
    "instrument_pool_manager",
    "instrument_requests_session",
    "set_route",
    "trust_callers",
]


def __getattr__(name: str) -> Any:
    # httpx is an optional dependency: import its transports only when asked for.
    if name in ("TracingTransport", "AsyncTracingTransport"):
        from . import _httpx

        return getattr(_httpx, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
