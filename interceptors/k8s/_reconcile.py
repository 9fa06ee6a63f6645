"""A span per Kubernetes-controller reconcile, on the core's calls (tracing.instrumentation).

    @reconciler("pod-labeler")
    def reconcile(pod): ...              # or `async def`; the object comes first

An operator's handler for an object is to a controller what a handler is to a server: each call is
one span, `<controller> reconcile`, with the object's identity (k8s.object.kind, k8s.object.name,
k8s.namespace.name, k8s.object.uid) and the controller's name (k8s.controller.name). The object
carries the trace context of whoever last wrote it in its annotations (inject_into_object): like
incoming headers, under a trust policy. The default, TRUST_NONE, starts a new trace linked to the
writer's (a reconcile is its own work, often for many writes, and anyone who may write the object
may write those annotations); TRUST_ALL makes the writer's span the parent, and honours a forced
trace (`kubetrace.io/kubetrace-force-trace: "1"`). What the function raises is recorded and re-raised
unchanged; what it returns is returned.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

from opentelemetry.context import Context
from opentelemetry.trace import SpanKind, TracerProvider

import tracing
from tracing.instrumentation import Call, Caller, Instrumentation, Outcome, Start
from tracing.propagation import ANNOTATIONS_GETTER, TRUST_NONE, TrustPolicy, object_annotations

SCOPE = "kubetrace.k8s.reconcile"
_OK = Outcome(False)
_UNSAMPLED = Start("", SpanKind.INTERNAL)  # never started: what start_server() needs for a Context
F = TypeVar("F", bound=Callable[..., Any])


def reconciler(
    controller: str, *, trust_policy: TrustPolicy | None = None, tracer_provider: TracerProvider | None = None
) -> Callable[[F], F]:
    """Trace each call of a reconcile function (sync or async) whose first argument is the object."""
    core = Instrumentation(
        SCOPE,
        _describe,
        version=tracing.__version__,
        tracer_provider=tracer_provider,
        trust_policy=trust_policy or TRUST_NONE,
        caller=_caller,
    )

    def decorate(fn: F) -> F:
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def reconcile_async(obj: Any, *args: Any, **kwargs: Any) -> Any:
                call = _start(core, controller, obj)
                with _running(call):
                    result = await fn(obj, *args, **kwargs)
                call.end(result)
                return result

            return reconcile_async  # type: ignore[return-value]

        @functools.wraps(fn)
        def reconcile(obj: Any, *args: Any, **kwargs: Any) -> Any:
            call = _start(core, controller, obj)
            with _running(call):
                result = fn(obj, *args, **kwargs)
            call.end(result)
            return result

        return reconcile  # type: ignore[return-value]

    return decorate


@contextlib.contextmanager
def _running(call: Call) -> Iterator[None]:
    """The call's span current around the reconcile (an await inside stays in the same task); what
    escapes it is recorded and re-raised unchanged."""
    token = call.enter()
    try:
        yield
    except BaseException as exc:
        call.fail(exc)
        raise
    finally:
        call.exit(token)


def _start(core: Instrumentation, controller: str, obj: Any) -> Call:
    decided = core.decide_server(object_annotations(obj), ANNOTATIONS_GETTER, obj)
    if decided.__class__ is Context:  # not sampled: a call that enters that context, nothing to end
        return core.start_server(_UNSAMPLED, decided)
    start = Start(f"{controller} reconcile", SpanKind.INTERNAL, _attributes(controller, obj))
    return core.start_server(start, decided)


def _attributes(controller: str, obj: Any) -> dict[str, str]:
    meta = _field(obj, "metadata")
    found = {
        "k8s.controller.name": controller,
        "k8s.object.kind": _field(obj, "kind") or type(obj).__name__,
        "k8s.object.name": _field(meta, "name"),
        "k8s.namespace.name": _field(meta, "namespace"),
        "k8s.object.uid": _field(meta, "uid"),
    }
    return {key: value for key, value in found.items() if isinstance(value, str) and value}


def _field(obj: Any, name: str) -> Any:
    """A field of a plain-dict object (as the API server returns it) or of a kubernetes-client model."""
    return obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)


def _caller(obj: Any) -> Caller:
    """The object as a trust predicate sees it: header(name) reads its annotation `name`."""
    annotations = object_annotations(obj)

    def annotation(name: str) -> str | None:
        value = annotations.get(name)
        return value if isinstance(value, str) else None

    return Caller("k8s", None, annotation, obj)


def _describe(result: object, details: str | None, exception: BaseException | None) -> Outcome:
    """A reconcile fails by raising (controller-runtime: by returning an error); any return is success."""
    if exception is None:
        return _OK
    if not isinstance(exception, Exception):  # cancelled or interrupted: stopped, not failed
        return _OK
    error = type(exception).__qualname__
    return Outcome(True, f"{error}: {exception}", exception, {"error.type": error})
