"""Hostile trace context, defect by defect (issue 13): a traceparent that made the old regex
quadratic."""

from __future__ import annotations

import pytest
from opentelemetry import trace
from testkit.carriers import CARRIERS
from testkit.linear import assert_linear, cost

T, S = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
VALID = f"00-{T}-{S}-01"


def _parent(context):
    span_context = trace.get_current_span(context).get_span_context()
    return (
        (f"{span_context.trace_id:032x}", f"{span_context.span_id:016x}") if span_context.is_valid else None
    )


@pytest.mark.parametrize("carrier", CARRIERS)
def test_a_tab_run_before_a_line_break_costs_linear_time(carrier):
    """Defect 1: `01-<ids>-01-` + tabs + "\\nx" made the propagator's regex backtrack: a second of CPU
    for 16,000 tabs. Every carrier now reads it in time linear in its size (and ignores it)."""
    extract = CARRIERS[carrier]
    baseline = cost(lambda: extract([("traceparent", VALID)]))

    def hostile(tabs: int) -> str:
        return f"01-{T}-{S}-01-" + "\t" * tabs + "\nx"

    assert_linear(lambda value: extract([("traceparent", value)]), hostile, 500, baseline)
    assert _parent(extract([("traceparent", hostile(16000))])) is None
