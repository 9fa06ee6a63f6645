"""HTTP clients: every requests Session, urllib3 PoolManager and httpx client is traced from birth.

requests rides on urllib3: kubetrace's requests span marks the request "HTTP instrumentation
suppressed" (as contrib's does), so the urllib3 pool underneath adds no second span.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

from interceptors._contrib import traced_by_contrib

from ._patches import replace
from ._plan import Plan

# contrib's per-client instrument_client() leaves a client with this mark alone: it is traced already.
_MARK = "_is_instrumented_by_opentelemetry"


def patch_requests(requests: ModuleType, plan: Plan) -> None:
    if not plan.enabled("requests"):
        return
    from interceptors.http import instrument_requests_session

    replace(requests.Session, "__init__", _after_init("requests", instrument_requests_session))


def patch_urllib3(urllib3: ModuleType, plan: Plan) -> None:
    if not plan.enabled("urllib3"):
        return
    from interceptors.http import instrument_pool_manager

    replace(urllib3.PoolManager, "__init__", _after_init("urllib3", instrument_pool_manager))
    default = getattr(urllib3, "_DEFAULT_POOL", None)  # urllib3.request()'s, made when urllib3 was imported
    if default is not None and not traced_by_contrib("urllib3"):
        instrument_pool_manager(default)


def patch_httpx(httpx: ModuleType, plan: Plan) -> None:
    if not plan.enabled("httpx"):
        return
    from interceptors.http import AsyncTracingTransport, TracingTransport

    replace(httpx.Client, "__init__", _after_init("httpx", _wrapping_transports(TracingTransport)))
    replace(httpx.AsyncClient, "__init__", _after_init("httpx", _wrapping_transports(AsyncTracingTransport)))


def _after_init(
    name: str, instrument: Callable[[Any], Any]
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def make(original: Callable[..., Any]) -> Callable[..., None]:
        def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
            original(self, *args, **kwargs)
            if not traced_by_contrib(name, self):
                instrument(self)

        return __init__

    return make


def _wrapping_transports(transport_type: type) -> Callable[[Any], None]:
    """httpx builds a client's transports from its arguments (verify, proxies, limits...) in __init__;
    each is wrapped afterwards, so the arguments keep their meaning. A client given one of kubetrace's
    transports by the program is traced already."""

    def instrument(client: Any) -> None:
        transport = client._transport
        if isinstance(transport, transport_type):
            return
        client._transport = transport_type(transport)
        client._mounts = {
            pattern: mounted
            if mounted is None or isinstance(mounted, transport_type)
            else transport_type(mounted)
            for pattern, mounted in client._mounts.items()
        }
        setattr(client, _MARK, True)

    return instrument
