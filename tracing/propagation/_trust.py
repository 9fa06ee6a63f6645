"""Whose incoming trace context may become the parent of our server span.

Kubernetes' API server respects incoming context only from privileged callers; everyone else gets a
new root span linked to what they sent (Go's otelhttp calls such a handler a public endpoint). One
predicate decides, shared by every HTTP and gRPC server adapter.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import trace as trace_api
from opentelemetry.context import Context
from opentelemetry.trace import Link

_EMPTY = Context()
_NO_LINKS: tuple[Link, ...] = ()


@dataclass(frozen=True)
class Caller:
    """What a trust predicate may look at. `request` is the protocol's own object: the WSGI environ,
    the ASGI scope, or the gRPC ServicerContext (for peer identity and auth_context())."""

    protocol: str  # "http" | "grpc"
    peer: str | None
    header: Callable[[str], str | None]  # a request header / metadata value by lower-case name
    request: Any = field(repr=False, default=None)


class TrustPolicy:
    """A named predicate over Caller. `constant` short-cuts policies that never look at the caller."""

    __slots__ = ("constant", "name", "predicate")

    def __init__(self, predicate: Callable[[Caller], bool], name: str, constant: bool | None = None):
        self.predicate, self.name, self.constant = predicate, name, constant

    def __repr__(self) -> str:
        return f"TrustPolicy({self.name})"

    def trusts(self, caller: Callable[[], Caller]) -> bool:
        """Whether the predicate trusts the caller `caller()` describes; one that raises does not."""
        if self.constant is not None:
            return self.constant
        try:
            return bool(self.predicate(caller()))
        except Exception:
            return False

    def parent_and_links(
        self, extracted: Context, caller: Callable[[], Caller]
    ) -> tuple[Context, Sequence[Link]]:
        """The parent context for a server span, and the links to put on it.

        `caller` is called only when the predicate needs it, so trust-all and trust-none cost
        nothing per request.
        """
        trusted = self.constant
        if trusted is None:
            trusted = self.trusts(caller)
        if trusted:
            return extracted, _NO_LINKS
        incoming = trace_api.get_current_span(extracted).get_span_context()
        return _EMPTY, ((Link(incoming),) if incoming.is_valid else _NO_LINKS)


TRUST_ALL = TrustPolicy(lambda caller: True, "trust all callers", constant=True)
TRUST_NONE = TrustPolicy(lambda caller: False, "public endpoint: trust no caller", constant=False)


def trust_callers(predicate: Callable[[Caller], bool], name: str | None = None) -> TrustPolicy:
    """Trust incoming context only from callers the predicate accepts (e.g. authenticated groups)."""
    return TrustPolicy(predicate, name or getattr(predicate, "__name__", "custom predicate"))


def trust_policy_named(name: str) -> TrustPolicy:
    """The ready policy for a KUBETRACE_TRUST_INCOMING value: "all" or "none"."""
    return {"all": TRUST_ALL, "none": TRUST_NONE}[name]


class _Incoming:
    """The trust policy for incoming context that setup() configured (KUBETRACE_TRUST_INCOMING),
    TRUST_ALL when none is, as otelgrpc and otelhttp trust. Interceptors read `.policy` on every
    request: an attribute read, where asking the active setup costs two calls."""

    __slots__ = ("policy",)

    def __init__(self):
        self.policy: TrustPolicy = TRUST_ALL


CONFIGURED_TRUST = _Incoming()
