"""The compact record of one ended, sampled span: what the request thread hands to the export pipeline.

A record is a plain tuple, built in one step when a span ends; nothing in it is converted or
encoded on the request's thread. Its fields, by position:

| index | field | type |
|---|---|---|
| TRACE_ID | trace id | int (128 bits) |
| SPAN_ID | span id | int (64 bits) |
| PARENT_ID | parent span id, 0 for a root | int |
| FLAGS | OTLP Span.flags: W3C trace flags, HAS_IS_REMOTE, IS_REMOTE when the parent is remote | int |
| TRACE_STATE | the span's trace state | opentelemetry.trace.TraceState |
| NAME | span name | str |
| KIND | span kind | opentelemetry.trace.SpanKind |
| START, END | start and end times | int, nanoseconds since the epoch |
| ATTRIBUTES | span attributes, already cleaned and bounded | Mapping[str, AnyValue] or None |
| EVENTS | events, oldest first | tuple of Event (below) |
| LINKS | links | tuple of Link (below) |
| STATUS | (StatusCode value, description or None) | tuple[int, str or None] |
| DROPPED | (attributes, events, links) dropped by the span limits | tuple[int, int, int] |
| SCOPE | the tracer's instrumentation scope | InstrumentationScope or None |
| RESOURCE | the tracer provider's resource | Resource |

An Event is (name, time_ns, attributes, dropped_attributes); a Link is (trace_id, span_id,
trace_state, flags, attributes, dropped_attributes), flags as in FLAGS for the linked context.
Records are never mutated after they are built (a span's attribute dict is not written after end()).
"""

from __future__ import annotations

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanContext

(
    TRACE_ID,
    SPAN_ID,
    PARENT_ID,
    FLAGS,
    TRACE_STATE,
    NAME,
    KIND,
    START,
    END,
    ATTRIBUTES,
    EVENTS,
    LINKS,
    STATUS,
    DROPPED,
    SCOPE,
    RESOURCE,
) = range(16)

# OTLP SpanFlags: the low byte is the W3C trace flags; these two say whether the parent (for a span)
# or the linked context (for a link) was remote.
HAS_IS_REMOTE = 0x100
IS_REMOTE = 0x200
NO_DROPS = (0, 0, 0)
UNSET_STATUS = (0, None)

# What one queued record costs in memory, estimated from its structure: the tuple, its ids and times,
# the attribute dict, and per attribute, event and link. tracemalloc measures a gRPC server span's
# record (6 attributes) at about 630 bytes and each further attribute at about 35; the estimate is
# set above that (768 for the gRPC span), and test_export_accounting holds it between 1x and 1.6x
# the measurement. String values are shared with the caller and not counted: bound them with
# OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT.
RECORD_BYTES = 480
ITEM_BYTES = 48
EVENT_BYTES = 256
LINK_BYTES = 320


def estimated_bytes(record: tuple) -> int:
    """The memory one queued record is charged against the export queue's budget."""
    size = RECORD_BYTES
    attributes = record[ATTRIBUTES]
    if attributes:
        size += ITEM_BYTES * len(attributes)
    if record[EVENTS]:
        size += sum(EVENT_BYTES + ITEM_BYTES * len(e[2] or ()) for e in record[EVENTS])
    if record[LINKS]:
        size += sum(LINK_BYTES + ITEM_BYTES * len(link[4] or ()) for link in record[LINKS])
    return size


def span_flags(context: SpanContext, parent: SpanContext | None) -> int:
    """OTLP Span.flags for a span with `context` whose parent is `parent` (None for a root)."""
    flags = int(context.trace_flags) | HAS_IS_REMOTE
    if parent is not None and parent.is_remote:
        flags |= IS_REMOTE
    return flags


def link_flags(context: SpanContext) -> int:
    """OTLP Link.flags: the linked context's trace flags and whether it was remote."""
    return int(context.trace_flags) | HAS_IS_REMOTE | (IS_REMOTE if context.is_remote else 0)


def from_readable(span: ReadableSpan) -> tuple:
    """The record of an SDK span (the path taken when a user's own SpanProcessor needs SDK spans)."""
    context, parent = span.context, span.parent
    status = span.status
    events = tuple((e.name, e.timestamp, e.attributes, _dropped(e)) for e in span.events)
    links = tuple(
        (
            link.context.trace_id,
            link.context.span_id,
            link.context.trace_state,
            link_flags(link.context),
            link.attributes,
            _dropped(link),
        )
        for link in span.links
    )
    dropped = (span.dropped_attributes, span.dropped_events, span.dropped_links)
    return (
        context.trace_id,
        context.span_id,
        parent.span_id if parent is not None else 0,
        span_flags(context, parent),
        context.trace_state,
        span.name,
        span.kind,
        span.start_time,
        span.end_time,
        span.attributes,
        events,
        links,
        (status.status_code.value, status.description),
        dropped if any(dropped) else NO_DROPS,
        span.instrumentation_scope,
        span.resource,
    )


def _dropped(item) -> int:
    return getattr(item, "dropped_attributes", 0) or 0
