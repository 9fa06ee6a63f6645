"""Assertions over spans an OtlpReceiver collected from Python and Go peers."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from kubetrace_cli.receiver import ReceivedSpan


def describe(spans: Sequence[ReceivedSpan]) -> str:
    """The spans as an indented tree (by parent id), for failure messages."""
    ids = {s.span_id for s in spans}
    children: dict[str, list[ReceivedSpan]] = {}
    for s in sorted(spans, key=lambda s: s.start_ns):
        children.setdefault(s.parent_span_id if s.parent_span_id in ids else "", []).append(s)
    lines: list[str] = []

    def walk(parent: str, depth: int) -> None:
        for s in children.get(parent, []):
            parent_note = f" parent={s.parent_span_id}" if depth == 0 and s.parent_span_id else ""
            lines.append(
                f"{'  ' * depth}{s.service} {s.kind} {s.name!r} trace={s.trace_id} span={s.span_id}{parent_note}"
            )
            walk(s.span_id, depth + 1)

    walk("", 0)
    return "\n".join(lines) or "(no spans)"


def one(spans: Sequence[ReceivedSpan], *, service: str, kind: str, name: str | None = None) -> ReceivedSpan:
    """The single span of `service` with `kind` (and `name`, if given)."""
    hits = [s for s in spans if s.service == service and s.kind == kind and (name is None or s.name == name)]
    assert len(hits) == 1, (
        f"want one {kind} span of {service} named {name!r}, got {len(hits)}:\n{describe(spans)}"
    )
    return hits[0]


def assert_chain(spans: Sequence[ReceivedSpan], *chain: ReceivedSpan) -> None:
    """`chain` is one trace, each span the parent of the next; the first one is a root."""
    tree = describe(spans)
    assert len({s.trace_id for s in chain}) == 1, f"more than one trace:\n{tree}"
    assert chain[0].parent_span_id == "", f"{chain[0].service} {chain[0].name!r} is not a root:\n{tree}"
    for parent, child in itertools.pairwise(chain):
        assert child.parent_span_id == parent.span_id, (
            f"{child.service} {child.kind} {child.name!r} has parent {child.parent_span_id}, "
            f"want {parent.service} {parent.kind} {parent.name!r} ({parent.span_id}):\n{tree}"
        )


def traceparent_parts(value: str) -> tuple[str, str, bool]:
    """(trace id, parent span id, sampled) of a W3C traceparent header. Flags other than sampled (the
    Python SDK sets the level-2 "random trace id" bit, 0x02) do not matter here."""
    version, trace_id, span_id, flags = value.split("-")
    assert version == "00", value
    return trace_id, span_id, bool(int(flags, 16) & 0x01)
