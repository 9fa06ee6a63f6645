"""Every piece of OpenTelemetry's private state kubetrace reads, in this one module, checked at import.

The public API costs a few Python calls per step, and inside a real RPC every call on the per-request
path costs about a microsecond (cold caches after the wait for the network), several times its cost
in a loop: benchmarks/grpc_overhead.py and benchmarks/grpc_breakdown.py measure it. Where that
matters kubetrace reads the state behind the API directly, here and nowhere else:

- the current Context: the contextvars runtime context's ContextVar, read and set in one step
  (current/attach/detach), where the API goes through three layers of calls. With another runtime
  context configured (OTEL_PYTHON_CONTEXT) these are the public functions, and behave the same;
- the keys the API files a span, baggage and "suppress instrumentation" under in a Context;
- a span's SpanContext read from its `_context` (NonRecordingSpan and the SDK's span), where
  get_span_context() is a Python call;
- SpanContext as the tuple (trace_id, span_id, is_remote, trace_flags, trace_state, is_valid) read
  by position (a property call each otherwise; an unsampled RPC reads a dozen), built without its
  Python-level __new__, and NonRecordingSpan built without its __init__;
- TraceState built without its key check: it checks keys by the W3C Trace Context Level 1 grammar
  and drops what Level 2 allows (`1vendor`, `tenant@vendor@x`); trace_state() builds one from
  members our Level 2 parser has checked already (tracing/propagation/_w3c_tracestate.py);
- the SDK's ParentBased delegates and StaticSampler decision, which tracing/_decisions.py reduces to
  trace-id bounds; the SDK tracer's "enabled" flag (newer SDKs) and its span class;
- the global propagator as the module global get_global_textmap() returns, and a composite
  propagator's parts (tracing/propagation/_metadata_w3c.py; _composite.py subclasses it);
- the global tracer provider as the module global get_tracer_provider() returns once one is set
  (None before), read by a C call where the function is two Python calls (it and typing.cast) on
  every span decision of an instrumentation that uses the global provider, the default;
- the guard that lets the global tracer provider be set once, re-armed by setup() after shutdown();
- the SDK tracer provider's resource, replaced in a forked child (a service.instance.id of its own,
  tracing/_resource.py): the SDK has no public way to change it.

_check() proves at import that each piece is still what these functions assume: on an
OpenTelemetry release that changed any of them, `import tracing` raises ImportError naming the
installed versions and the piece, rather than reading the wrong thing.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Sequence
from contextvars import ContextVar, Token
from importlib.metadata import PackageNotFoundError, version

from opentelemetry import baggage as baggage_api
from opentelemetry import context as context_api
from opentelemetry import propagate
from opentelemetry import trace as trace_api
from opentelemetry.context import Context
from opentelemetry.context.contextvars_context import ContextVarsRuntimeContext
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.propagators.textmap import TextMapPropagator
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Tracer as SdkTracer
from opentelemetry.sdk.trace import TracerProvider, sampling
from opentelemetry.sdk.trace import _Span as SdkSpan
from opentelemetry.trace import (
    INVALID_SPAN_CONTEXT,
    NonRecordingSpan,
    Span,
    SpanContext,
    TraceFlags,
    TraceState,
)
from opentelemetry.trace.propagation import _SPAN_KEY
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.trace.span import DEFAULT_TRACE_STATE

# --- Context keys ---------------------------------------------------------------------------------

SPAN_KEY: str = _SPAN_KEY
BAGGAGE_KEY: str = baggage_api._BAGGAGE_KEY
# What opentelemetry-instrumentation's suppress_instrumentation()/suppress_http_instrumentation() set:
# honoured so that a client span is not started twice (requests rides on urllib3).
SUPPRESS_INSTRUMENTATION_KEY: str = context_api._SUPPRESS_INSTRUMENTATION_KEY
SUPPRESS_HTTP_INSTRUMENTATION_KEY: str = context_api._SUPPRESS_HTTP_INSTRUMENTATION_KEY

# --- the current Context --------------------------------------------------------------------------

_runtime = context_api._RUNTIME_CONTEXT
if type(_runtime) is ContextVarsRuntimeContext:
    _var: ContextVar[Context] | None = _runtime._current_context
    current: Callable[[], Context] = _var.get
    attach: Callable[[Context], Token] = _var.set
    # Restores the context `token` replaced (same thread or task, same frame: never fails).
    detach: Callable[[Token], None] = _var.reset
else:  # pragma: no cover - another runtime context was configured
    _var = None
    current = context_api.get_current
    attach = context_api.attach
    detach = context_api.detach

# The span classes nearly every Context holds, whose span context is their `_context`: read by a
# C-level getter, where get_span_context() is a Python call (checked below for OpenTelemetry's two;
# kubetrace's lean span adds itself, plain_span_class()).
PLAIN_SPANS: set[type] = {NonRecordingSpan, SdkSpan}
span_context_of: Callable[[Span], SpanContext] = operator.attrgetter("_context")


def plain_span_class(cls: type) -> type:
    """Count a span class of kubetrace's own, which keeps its span context in the slot `_context`
    and returns it from get_span_context(), among PLAIN_SPANS."""
    if "_context" not in getattr(cls, "__slots__", ()) or not issubclass(cls, Span):
        raise TypeError(f"{cls.__name__}: a plain span keeps its SpanContext in the slot _context")
    PLAIN_SPANS.add(cls)
    return cls


def span_context_in(context: Context | None) -> SpanContext:
    """The span context of the span in `context` (default: the current one), or the invalid one."""
    span = (current() if context is None else context).get(SPAN_KEY)
    if span is None:
        return INVALID_SPAN_CONTEXT
    if span.__class__ in PLAIN_SPANS:
        return span_context_of(span)
    if isinstance(span, Span):  # Span is an ABC: isinstance is slow
        return span.get_span_context()
    return INVALID_SPAN_CONTEXT


def with_span(span: Span, context: Context | None) -> Context:
    """`context` (default: the current one) with `span` as its current span."""
    values = dict(current() if context is None else context)
    values[SPAN_KEY] = span
    return Context(values)


# --- SpanContext by position, NonRecordingSpan without __init__ -----------------------------------

TRACE_ID, SPAN_ID, IS_REMOTE, TRACE_FLAGS, TRACE_STATE, IS_VALID = range(6)
_MAX_TRACE_ID, _MAX_SPAN_ID = (1 << 128) - 1, (1 << 64) - 1
FLAGS = {bits: TraceFlags(bits) for bits in range(256)}  # TraceFlags(int) per span costs a call
# W3C trace context level 2's "random trace id" flag, which a child keeps; 0 where the API lacks it.
RANDOM_FLAG = getattr(TraceFlags, "RANDOM_TRACE_ID", 0)


def new(
    trace_id: int, span_id: int, remote: bool, flags: TraceFlags, state: TraceState | None
) -> SpanContext:
    """SpanContext(...) without its Python-level __new__ (same fields, same validity rule)."""
    valid = 0 < trace_id <= _MAX_TRACE_ID and 0 < span_id <= _MAX_SPAN_ID
    return tuple.__new__(
        SpanContext,
        (trace_id, span_id, remote, flags, DEFAULT_TRACE_STATE if state is None else state, valid),
    )


def trace_state(members: dict[str, str]) -> TraceState:
    """A TraceState of `members`, in order, as given: the caller has checked them by the Level 2
    grammar (tracing/propagation/_w3c_tracestate.py). TraceState([...]) would check them again by the
    Level 1 grammar and drop, with a warning per request, keys current tracers send."""
    state = _NEW_STATE(TraceState)
    state._dict = members
    return state


_NEW_STATE = object.__new__


# NonRecordingSpan(span_context) without its Python-level __init__, which sets only the attribute
# SPAN_CONTEXT_SLOT (checked below): `span = NEW_SPAN(NonRecordingSpan)`, then
# `setattr(span, SPAN_CONTEXT_SLOT, span_context)`, a C call, where the constructor is a Python one.
NEW_SPAN = object.__new__
SPAN_CONTEXT_SLOT = "_context"


def non_recording_context(span_context: SpanContext) -> Context:
    """Context({SPAN_KEY: NonRecordingSpan(span_context)}), in the one Python frame that
    NonRecordingSpan's __init__ alone would take."""
    span = NEW_SPAN(NonRecordingSpan)
    setattr(span, SPAN_CONTEXT_SLOT, span_context)
    return Context({SPAN_KEY: span})


# --- the SDK's samplers and tracer ----------------------------------------------------------------


def parent_based_delegates(sampler: sampling.ParentBased) -> tuple[sampling.Sampler, ...]:
    """A ParentBased sampler's delegates: (root, remote sampled, remote not sampled, local sampled,
    local not sampled)."""
    return (
        sampler._root,
        sampler._remote_parent_sampled,
        sampler._remote_parent_not_sampled,
        sampler._local_parent_sampled,
        sampler._local_parent_not_sampled,
    )


def static_decision(sampler: sampling.StaticSampler) -> sampling.Decision:
    """The decision a StaticSampler (ALWAYS_ON, ALWAYS_OFF) always returns."""
    return sampler._decision


def tracer_enabled(tracer: object) -> bool:
    """Whether an SDK tracer records at all (SDKs before 1.40 have no such switch: always)."""
    is_enabled = getattr(tracer, "_is_enabled", None)
    return is_enabled() if is_enabled is not None else True


# --- propagators ----------------------------------------------------------------------------------

# get_global_textmap() returns this module global: read through a C-level partial, a Python frame
# fewer on every RPC than the function.
global_textmap: Callable[[], TextMapPropagator] = functools.partial(getattr, propagate, "_HTTP_TEXT_FORMAT")


def composite_parts(textmap: TextMapPropagator) -> Sequence[TextMapPropagator] | None:
    """The propagators a CompositePropagator (or a subclass: ours isolates its parts' failures,
    tracing/propagation/_composite.py) runs, in order; None for any other propagator."""
    return textmap._propagators if isinstance(textmap, CompositePropagator) else None


# --- the global tracer provider -------------------------------------------------------------------

# get_tracer_provider() returns this module global once a provider is set (the proxy provider, or
# OTEL_PYTHON_TRACER_PROVIDER's, while it is None): read through a C-level partial, None until then.
global_tracer_provider: Callable[[], trace_api.TracerProvider | None] = functools.partial(
    getattr, trace_api, "_TRACER_PROVIDER"
)


def rearm_global_tracer_provider() -> None:
    """Let set_tracer_provider() replace the global provider once more: the API allows one set per
    process, and setup() -> shutdown() -> setup() must install the second provider."""
    trace_api._TRACER_PROVIDER_SET_ONCE._done = False


# --- a tracer provider's resource ------------------------------------------------------------------


def replace_provider_resource(provider: TracerProvider, resource: Resource) -> None:
    """Make `resource` the SDK `provider`'s and its tracers'. Newer SDKs update both with
    _update_resource (merging: `resource`'s attributes win); older ones keep it in _resource and
    nowhere a list of the tracers made, so those a LeanTracerProvider handed out are updated here
    (their `resource` is public)."""
    update = getattr(provider, "_update_resource", None)
    if update is not None:
        update(resource)
    else:
        provider._resource = resource
    for tracer in list(getattr(provider, "handed_out", ())):
        tracer.resource = resource


# --- the check ------------------------------------------------------------------------------------


def _installed(distribution: str) -> str:
    try:
        return version(distribution)
    except PackageNotFoundError:  # pragma: no cover - run from a source tree
        return "unknown"


def problems() -> list[str]:
    """What of the above no longer holds for the installed OpenTelemetry (empty when all does)."""
    found: list[str] = []

    def check(ok: Callable[[], bool], what: str) -> None:
        try:
            if ok():
                return
        except Exception as exc:
            what = f"{what} ({type(exc).__name__}: {exc})"
        found.append(what)

    check(_current_context_is_the_var, "the contextvars runtime context's ContextVar _current_context")
    check(_keys_are_the_apis, "the Context keys of the current span, baggage and suppression")
    check(
        _span_context_layout, "SpanContext as the tuple (trace_id, span_id, is_remote, flags, state, valid)"
    )
    check(_bare_non_recording_span, "NonRecordingSpan holding nothing but its span context")
    check(_trace_state_as_built, "TraceState holding its members in _dict")
    check(_span_context_of_plain_spans, "NonRecordingSpan's and the SDK span's span context in _context")
    check(_sampler_state, "ParentBased's _root/_*_parent_* delegates and StaticSampler's _decision")
    check(_global_textmap_is_the_global, "opentelemetry.propagate._HTTP_TEXT_FORMAT as the global propagator")
    check(_composite_parts, "CompositePropagator._propagators")
    check(_provider_guard, "opentelemetry.trace._TRACER_PROVIDER_SET_ONCE._done")
    check(_provider_resource, "the SDK TracerProvider's resource in _resource, handed to its tracers")
    check(_provider_global, "opentelemetry.trace._TRACER_PROVIDER as what get_tracer_provider() returns")
    return found


def _current_context_is_the_var() -> bool:
    if _var is None:  # another runtime context: only the public API is used
        return True
    probe = Context({"kubetrace-probe": True})
    token = context_api.attach(probe)
    try:
        return current() is probe
    finally:
        context_api.detach(token)


def _keys_are_the_apis() -> bool:
    span = NonRecordingSpan(INVALID_SPAN_CONTEXT)
    with_baggage = baggage_api.set_baggage("k", "v", Context())
    return (
        trace_api.set_span_in_context(span, Context()).get(SPAN_KEY) is span
        and with_baggage.get(BAGGAGE_KEY) == {"k": "v"}
        and isinstance(SUPPRESS_INSTRUMENTATION_KEY, str)
        and isinstance(SUPPRESS_HTTP_INSTRUMENTATION_KEY, str)
    )


def _span_context_layout() -> bool:
    state = TraceState([("k", "v")])
    probe = SpanContext(3, 4, True, TraceFlags(1), state)
    fields = (
        probe.trace_id,
        probe.span_id,
        probe.is_remote,
        probe.trace_flags,
        probe.trace_state,
        probe.is_valid,
    )
    return tuple(probe) == fields and new(3, 4, True, FLAGS[1], state) == probe


def _bare_non_recording_span() -> bool:
    probe = SpanContext(3, 4, True, TraceFlags(1))
    bare = NEW_SPAN(NonRecordingSpan)
    setattr(bare, SPAN_CONTEXT_SLOT, probe)
    return vars(NonRecordingSpan(probe)) == vars(bare) and bare.get_span_context() is probe


def _span_context_of_plain_spans() -> bool:
    probe = SpanContext(3, 4, False, TraceFlags(1))
    sdk = SdkSpan("probe", probe)
    return (
        span_context_of(NonRecordingSpan(probe)) is probe and span_context_of(sdk) is sdk.get_span_context()
    )


def _trace_state_as_built() -> bool:
    members = {"1tenant@vendor@x": "v", "k": "w"}  # a Level 2 key the constructor refuses
    built = trace_state(dict(members))
    return (
        vars(TraceState([("k", "w")])) == {"_dict": {"k": "w"}}
        and dict(built) == members
        and len(built) == 2
        and built.to_header() == "1tenant@vendor@x=v,k=w"
    )


def _sampler_state() -> bool:
    ratio = sampling.TraceIdRatioBased(0.5)
    parent_based = sampling.ParentBased(ratio)
    return (
        parent_based_delegates(parent_based)[0] is ratio
        and parent_based_delegates(parent_based)[3] is sampling.ALWAYS_ON
        and static_decision(sampling.ALWAYS_ON) is sampling.Decision.RECORD_AND_SAMPLE
        and static_decision(sampling.ALWAYS_OFF) is sampling.Decision.DROP
    )


def _global_textmap_is_the_global() -> bool:
    return global_textmap() is propagate.get_global_textmap()


def _composite_parts() -> bool:
    parts = [TraceContextTextMapPropagator()]
    return list(composite_parts(CompositePropagator(parts)) or ()) == parts


def _provider_guard() -> bool:
    return isinstance(trace_api._TRACER_PROVIDER_SET_ONCE._done, bool)


def _provider_resource() -> bool:
    provider = TracerProvider(resource=Resource({"k": "1"}), shutdown_on_exit=False)
    before = provider.get_tracer("kubetrace-probe")
    replace_provider_resource(provider, Resource({"k": "2"}))
    made = provider.get_tracer("kubetrace-probe-2")
    if not isinstance(made, SdkTracer):  # OTEL_SDK_DISABLED: the SDK hands out no-op tracers, no resource
        return dict(provider.resource.attributes) == {"k": "2"}
    changed = dict(provider.resource.attributes) == dict(made.resource.attributes) == {"k": "2"}
    # an SDK that keeps its tracers updates the one made before; an older one leaves it to handed_out
    return changed and (before.resource is provider.resource or not hasattr(provider, "_update_resource"))


def _provider_global() -> bool:
    # Without setting a provider (an import must not): the global exists, is None or a provider, and
    # is what get_tracer_provider() reads and returns.
    value = global_tracer_provider()
    names = trace_api.get_tracer_provider.__code__.co_names
    return (value is None or isinstance(value, trace_api.TracerProvider)) and "_TRACER_PROVIDER" in names


def check() -> None:
    """Raise ImportError if the installed OpenTelemetry changed what this module reads."""
    found = problems()
    if found:
        raise ImportError(
            f"kubetrace: opentelemetry-api {_installed('opentelemetry-api')} / opentelemetry-sdk "
            f"{_installed('opentelemetry-sdk')} changed private state kubetrace reads on its hot path: "
            f"{'; '.join(found)}. Install an OpenTelemetry release in the range pyproject.toml allows "
            "(kubetrace is tested with the oldest and the newest of it), or report this to kubetrace."
        )


check()
