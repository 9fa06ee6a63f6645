"""On-demand tracing: a trusted caller forces one request to be sampled end to end.

A request that carries `kubetrace-force-trace: 1` (an HTTP header, gRPC metadata) from a caller the
server's trust policy trusts is sampled whatever the sampler and its rate say, and so is every span
started under it in this process (tracing/_starter.py reads the mark this module puts in the
Context). Every outgoing call under it sends the key on, with a sampled traceparent, so a trusted
downstream hop does the same. Each such span carries `kubetrace.sampling.forced = true`, the
attribute the collector tier's tail-sampling policy keeps traces on.

An untrusted caller's request is never forced: the trust policy drops its whole context (it becomes a
link on a new root), and the mark with it. Why a key of its own rather than baggage: baggage is
application data that every hop, ours or not, forwards and any library may set, while this key is
read only at a server that trusts its caller, and re-sent only by our own clients.
"""

from __future__ import annotations

from opentelemetry.context import Context, create_key

FORCE_TRACE_HEADER = "kubetrace-force-trace"  # lower case: HTTP/2 and gRPC metadata send it so
FORCE_TRACE_VALUE = "1"  # exactly; anything else asks for nothing
FORCED_ATTRIBUTE = "kubetrace.sampling.forced"
FORCED_KEY = create_key("kubetrace-forced-trace")  # in a Context: True while a forced request runs


def marked(context: Context) -> Context:
    """`context` with the forced-trace mark."""
    values = dict(context)
    values[FORCED_KEY] = True
    return Context(values)


def forced(context: Context) -> bool:
    """Whether spans started under `context` belong to a forced trace."""
    return context.get(FORCED_KEY) is True
