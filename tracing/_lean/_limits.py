"""The SDK's span limits, applied to plain dicts: what a lean span keeps of its attributes.

The SDK keeps a span's attributes in a BoundedAttributes (a lock, a cleaning pass per value, a
dict inside) and each event's and link's in another. A lean span keeps plain dicts. Values of
the plain types (str, bool, int, float) need no cleaning and go straight in, while the limits are
checked; anything else (sequences, mappings, bytes, None, other objects, bad keys) goes through
BoundedAttributes itself, so it is cleaned, converted, refused and logged exactly as the SDK does.
When a dict is full, the oldest attribute is dropped and counted, as in the SDK.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping

from opentelemetry.attributes import BoundedAttributes
from opentelemetry.sdk.trace import SpanLimits

PLAIN = frozenset((str, bool, int, float))
_STR = frozenset((str,))
_UNLIMITED = sys.maxsize


class Limits:
    """A tracer's SpanLimits as plain numbers (None, "no limit", becomes a number no dict reaches)."""

    __slots__ = (
        "attribute_length",
        "event_attributes",
        "events",
        "link_attributes",
        "links",
        "span_attribute_length",
        "span_attributes",
    )

    def __init__(self, limits: SpanLimits):
        self.span_attributes = _number(limits.max_span_attributes)
        self.span_attribute_length = limits.max_span_attribute_length
        self.events = _number(limits.max_events)
        self.links = _number(limits.max_links)
        self.event_attributes = _number(limits.max_event_attributes)
        self.link_attributes = _number(limits.max_link_attributes)
        self.attribute_length = limits.max_attribute_length  # events' and links' values, as in the SDK


def _number(limit: int | None) -> int:
    return _UNLIMITED if limit is None else limit


def is_plain(attributes: Mapping, count_limit: int, length_limit: int | None) -> bool:
    """True when `attributes` can be copied as is: plain values, non-empty str keys, within both limits.
    The type checks run as C loops (map(type, ...) into a frozenset test): a span's attributes are
    checked on every request."""
    if len(attributes) > count_limit or "" in attributes:
        return False
    if not PLAIN.issuperset(map(type, attributes.values())) or not _STR.issuperset(map(type, attributes)):
        return False
    if length_limit is None:
        return True
    return all(len(value) <= length_limit for value in attributes.values() if value.__class__ is str)


def bounded(attributes: Mapping | None, count_limit: int, length_limit: int | None) -> tuple[dict, int]:
    """A new dict holding `attributes` under the limits, and how many were dropped."""
    if not attributes:
        return {}, 0
    if is_plain(attributes, count_limit, length_limit):
        return dict(attributes), 0
    checked = BoundedAttributes(count_limit, attributes, immutable=True, max_value_len=length_limit)
    return dict(checked), checked.dropped


def cleaned_one(key: str, value: object, length_limit: int | None) -> tuple[bool, object, int]:
    """(kept, value, refused) for one set_attribute: the SDK's checks of the key and its cleaning of
    the value, and how many it counts as dropped for refusing (opentelemetry-api versions differ)."""
    probe = BoundedAttributes(None, immutable=False, max_value_len=length_limit)
    probe[key] = value
    kept = key in probe
    return kept, probe[key] if kept else None, probe.dropped


def cleaned_many(attributes: Mapping, length_limit: int | None) -> tuple[dict, int]:
    """What set_attributes keeps of `attributes`, cleaned, and how many it refused."""
    probe = BoundedAttributes(None, attributes, immutable=True, max_value_len=length_limit)
    return dict(probe), probe.dropped


def put(attributes: dict, key: str, value: object, count_limit: int) -> int:
    """Set one clean attribute; a re-set key moves to the end. Returns how many were dropped. A full
    dict (rare) is handed to BoundedAttributes itself, so the oldest goes with exactly the warning
    the installed opentelemetry-api logs (1.45 warns, older releases drop silently)."""
    if key in attributes:
        del attributes[key]
    elif len(attributes) >= count_limit:
        if count_limit == 0:
            return 1
        full = BoundedAttributes(count_limit, attributes, immutable=False)
        full[key] = value
        attributes.clear()
        attributes.update(full)
        return full.dropped
    attributes[key] = value
    return 0
