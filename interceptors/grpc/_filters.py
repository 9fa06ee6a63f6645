"""Which calls get a span: small predicates over CallMeta that compose.

A filter returns True for a call that should be traced. Filters run once per method and side (the
answer is cached), never per call.
"""

from __future__ import annotations

from collections.abc import Callable

from ._callmeta import CallMeta

Filter = Callable[[CallMeta], bool]

# Probes and tooling that would otherwise flood traces: health checks (kubelet probes every few seconds)
# and server reflection (grpcurl, debugging UIs).
_UNTRACED_SERVICES = frozenset({"grpc.health.v1.Health"})
_UNTRACED_PREFIXES = ("grpc.reflection.",)


def default_filter(meta: CallMeta) -> bool:
    """Trace everything except grpc.health.v1.Health and grpc.reflection.* services."""
    return meta.service not in _UNTRACED_SERVICES and not meta.service.startswith(_UNTRACED_PREFIXES)


def service_in(*services: str) -> Filter:
    """True for calls to any of the named services ("package.Service")."""
    wanted = frozenset(services)
    return lambda meta: meta.service in wanted


def method_in(*methods: str) -> Filter:
    """True for calls to any of the named methods ("package.Service/Method", leading slash optional)."""
    wanted = frozenset(m.lstrip("/") for m in methods)
    return lambda meta: meta.name in wanted


def any_of(*filters: Filter) -> Filter:
    return lambda meta: any(f(meta) for f in filters)


def all_of(*filters: Filter) -> Filter:
    return lambda meta: all(f(meta) for f in filters)


def negate(f: Filter) -> Filter:
    return lambda meta: not f(meta)
