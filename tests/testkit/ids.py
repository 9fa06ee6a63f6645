"""Deterministic span and trace ids: two providers given one each draw the same ids in the same
order, so a fast path and the SDK's own path can be compared id for id."""

from __future__ import annotations

import itertools

from opentelemetry.sdk.trace.id_generator import IdGenerator


class CountingIds(IdGenerator):
    def __init__(self):
        self._span = itertools.count(1)
        # An odd 64-bit step walks the low bits, which ratio samplers compare, across their range.
        self._trace = itertools.count(0x1000_0000_0000_0000_0000_0000_0000_0001, 0x9E37_79B9_7F4A_7C15)

    def generate_span_id(self) -> int:
        return next(self._span)

    def generate_trace_id(self) -> int:
        return next(self._trace) & ((1 << 128) - 1) or 1
