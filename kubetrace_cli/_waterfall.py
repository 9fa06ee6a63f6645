"""Draw traces as text waterfalls: the span tree on the left, bars on a shared time axis on the right.

Everything here is pure text layout over ReceivedSpan records, so the same picture comes from the
embedded receiver and from Jaeger. Widths are counted in terminal cells, not characters, and every
string that came over the network is stripped of control characters first: a span name must not be
able to move the cursor or recolour the user's terminal.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ._span_notes import attribute_notes
from .receiver import ReceivedSpan

MIN_WIDTH = 40
_INDENT = 2
_DURATION_CELLS = 6  # "812µs", "12.3ms", "1.20s"
_RIGHT = 1 + _DURATION_CELLS + 2  # gap, duration, gap, status mark
_EIGHTHS = ("", "▏", "▎", "▍", "▌", "▋", "▊", "▉")
_FULL = "█"
_ERROR_MARK = "✗"
_ORPHAN_MARK = "↳? "  # the parent never arrived: sampled out, dropped, or still in flight
_LINK_MARK = "⤷ link"
_NOTE_SEPARATOR = " · "
_MAX_LINKS = 3  # a batch consumer can link hundreds of spans; the picture needs a taste

_RED, _BOLD, _DIM = "31", "1", "2"
_SERVICE_COLOURS = ("36", "33", "35", "34", "32", "96", "93", "95")

Paint = Callable[[str, str], str]


@dataclass(frozen=True)
class _Row:
    span: ReceivedSpan
    depth: int
    orphan: bool
    entered: bool  # the first span of its process on this path: a root, or a hop to another resource


@dataclass(frozen=True)
class _Layout:
    """Column widths (in cells) and the time axis of one trace."""

    service: int
    label: int
    bar: int
    origin_ns: int
    total_ns: int


def render_waterfall(spans: Sequence[ReceivedSpan], width: int = 80, color: bool = False) -> str:
    """Render spans as one waterfall per trace, each at most `width` cells wide.

    Traces come in order of their first span, each headed by its 32-hex trace ID. `color` adds ANSI
    colours (one per service, red for errors); leave it off when the output is not a terminal.
    No spans give an empty string.
    """
    if width < MIN_WIDTH:
        raise ValueError(f"waterfall width must be >= {MIN_WIDTH} columns, got {width}")
    paint = _ansi if color else _plain
    return "\n\n".join("\n".join(_trace_lines(trace, width, paint)) for trace in _by_trace(spans))


def _by_trace(spans: Sequence[ReceivedSpan]) -> list[list[ReceivedSpan]]:
    traces: dict[str, list[ReceivedSpan]] = {}
    for span in spans:
        traces.setdefault(span.trace_id, []).append(span)
    return sorted(traces.values(), key=lambda trace: min(s.start_ns for s in trace))


def _trace_lines(spans: list[ReceivedSpan], width: int, paint: Paint) -> list[str]:
    layout = _layout(spans, width)
    services = list(dict.fromkeys(s.service for s in sorted(spans, key=lambda s: s.start_ns)))
    colours = {name: _SERVICE_COLOURS[i % len(_SERVICE_COLOURS)] for i, name in enumerate(services)}
    names = {s.span_id: _clean(s.name) for s in spans}
    lines = [*_header(spans, layout, width, paint), _ruler(layout, paint)]
    for row in _tree(spans):
        lines.append(_row_line(row, layout, colours[row.span.service], paint))
        lines += _notes_lines(_notes(row, names), row, layout, width, paint)
    return lines


def _tree(spans: list[ReceivedSpan]) -> list[_Row]:
    """Depth-first by parentage, siblings by start time. Spans whose parent is missing, and any
    caught in a parent cycle, become roots marked as orphans, so every span is drawn exactly once."""
    ordered = sorted(range(len(spans)), key=lambda i: (spans[i].start_ns, spans[i].end_ns, i))
    ids = {s.span_id for s in spans}
    children: dict[str, list[int]] = {}
    for i in ordered:
        children.setdefault(spans[i].parent_span_id, []).append(i)
    seen: set[int] = set()
    rows: list[_Row] = []

    def visit(root: int, orphan: bool) -> None:
        stack = [(root, 0, orphan, True)]  # iterative: a deep trace must not hit the recursion limit
        while stack:
            i, depth, orphan, entered = stack.pop()
            if i in seen:
                continue
            seen.add(i)
            rows.append(_Row(spans[i], depth, orphan, entered))
            kids = children.get(spans[i].span_id, []) if spans[i].span_id else []
            stack.extend(
                (k, depth + 1, False, spans[k].resource != spans[i].resource) for k in reversed(kids)
            )

    for i in ordered:
        parent = spans[i].parent_span_id
        if not parent or parent not in ids:
            visit(i, orphan=bool(parent))
    for i in ordered:  # only spans in a parent cycle are left
        visit(i, orphan=True)
    return rows


def _layout(spans: list[ReceivedSpan], width: int) -> _Layout:
    origin = min(s.start_ns for s in spans)
    total = max(max(s.end_ns for s in spans) - origin, 1)
    # Wide enough for the column title and most service names, never more than a sixth of the line.
    service = min(max(7, *(_cells(_clean(s.service)) for s in spans)), 14, width // 6)
    rest = width - (service + 2) - _RIGHT - 1  # label and bar share what is left, with a gap
    label = rest // 2
    return _Layout(service=service, label=label, bar=rest - label, origin_ns=origin, total_ns=total)


def _header(spans: list[ReceivedSpan], layout: _Layout, width: int, paint: Paint) -> list[str]:
    errors = sum(s.status == "ERROR" for s in spans)
    facts = [
        format_duration(layout.total_ns),
        _plural(len(spans), "span"),
        _plural(len({s.service for s in spans}), "service"),
    ]
    if errors:
        facts.append(_plural(errors, "error"))
    title, summary = f"Trace {spans[0].trace_id}", ", ".join(facts)
    if _cells(title) + 2 + _cells(summary) <= width:
        return [f"{paint(title, _BOLD)}  {summary}"]
    return [paint(title, _BOLD), summary]


def _ruler(layout: _Layout, paint: Paint) -> str:
    """Column titles, then tick labels on the time axis, each tick at the cell where its time falls."""
    axis = [" "] * (layout.bar + _RIGHT)
    step = _tick_step(layout.total_ns, layout.bar)
    tick = 0
    while tick <= layout.total_ns:
        text = "╷" + _tick_label(tick)
        at = tick * layout.bar // layout.total_ns
        if all(c == " " for c in axis[max(at - 1, 0) : at + len(text)]) and at + len(text) <= len(axis):
            axis[at : at + len(text)] = text
        tick += step
    left = _pad(_clip("service", layout.service), layout.service + 2) + _pad("span", layout.label + 1)
    return paint(left + "".join(axis).rstrip(), _DIM)


def _tick_step(total_ns: int, cells: int) -> int:
    """The smallest 1-2-5 step whose ticks are far enough apart for their labels."""
    step = 1
    while True:
        for candidate in (step, 2 * step, 5 * step):
            room = candidate * cells / total_ns
            if room >= 3 + _cells(_tick_label(candidate * (total_ns // candidate))):
                return candidate
        step *= 10


def _tick_label(ns: int) -> str:
    """Like a duration, without trailing zeros: ticks are round numbers ("20ms", "1.5s")."""
    if ns == 0:
        return "0"
    text = format_duration(ns)
    number = text.rstrip("nµmsh")
    unit = text[len(number) :]
    return (number.rstrip("0").rstrip(".") if "." in number else number) + unit


def _row_line(row: _Row, layout: _Layout, colour: str, paint: Paint) -> str:
    span = row.span
    failed = span.status == "ERROR"
    service = _pad(_clip(_clean(span.service), layout.service), layout.service)
    indent = " " * min(row.depth * _INDENT, layout.label // 2 // _INDENT * _INDENT)
    marker = _ORPHAN_MARK if row.orphan else ""
    room = layout.label - len(indent) - len(marker)
    label = _pad(indent + marker + _fit_name(_clean(span.name), room), layout.label)
    offset, bar = _bar(span, layout)
    bar_cell = " " * offset + paint(bar, _RED if failed else colour) + " " * (layout.bar - offset - len(bar))
    duration = format_duration(max(span.duration_ns, 0)).rjust(_DURATION_CELLS)
    mark = paint(_ERROR_MARK, _RED) if failed else ""
    return f"{paint(service, colour)}  {label} {bar_cell} {duration} {mark}".rstrip()


def _bar(span: ReceivedSpan, layout: _Layout) -> tuple[int, str]:
    """(start cell, bar text). The start snaps to the nearest cell edge, since no block character
    fills a cell from the right; the end is drawn to an eighth of a cell. Even a zero-length span
    gets one thin mark, so it is never invisible."""
    start = min(max(span.start_ns - layout.origin_ns, 0), layout.total_ns)
    end = min(max(span.end_ns - layout.origin_ns, start), layout.total_ns)
    first = min((2 * start * layout.bar + layout.total_ns) // (2 * layout.total_ns), layout.bar - 1)
    eighths = max(round(end * layout.bar * 8 / layout.total_ns) - first * 8, 1)
    full, part = divmod(eighths, 8)
    return first, (_FULL * full + _EIGHTHS[part])[: layout.bar - first]


def _notes(row: _Row, names: dict[str, str]) -> list[str]:
    """The few facts that explain a span at a glance: what failed, what it links to, then what its
    attributes say (_span_notes)."""
    span = row.span
    notes = [f"{_ERROR_MARK} {span.status_message or 'error'}" if span.status == "ERROR" else ""]
    for trace_id, span_id in span.links[:_MAX_LINKS]:
        # Within the trace the linked span's name says most; across traces, the ID to view next.
        here = trace_id == span.trace_id and span_id in names
        notes.append(f"{_LINK_MARK} {names[span_id] if here else f'trace {trace_id}'}")
    if len(span.links) > _MAX_LINKS:
        notes.append(f"+{len(span.links) - _MAX_LINKS} more links")
    notes += attribute_notes(span, row.entered)
    return [_clean(note) for note in notes if note]


def _notes_lines(notes: list[str], row: _Row, layout: _Layout, width: int, paint: Paint) -> list[str]:
    """Notes packed into as few lines as fit, breaking only between notes, so an ID is never cut."""
    # Under the span name, one step deeper than the name itself; the blank service column tells
    # these apart from child rows.
    lead = layout.service + 2 + min((row.depth + 1) * _INDENT, layout.label // 2)
    room = width - lead
    packed: list[str] = []
    for note in notes:
        joined = f"{packed[-1]}{_NOTE_SEPARATOR}{note}" if packed else note
        if packed and _cells(joined) <= room:
            packed[-1] = joined
        else:
            packed.append(_clip(note, room))
    style = _RED if row.span.status == "ERROR" else _DIM
    return [" " * lead + paint(text, style) for text in packed]


def format_duration(ns: int) -> str:
    """Three significant digits in the largest unit that fits: 812µs, 12.3ms, 1.20s, 2.50m."""
    for unit, size in (("h", 3600e9), ("m", 60e9), ("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= size:
            value = ns / size
            decimals = 0 if value >= 100 else 1 if value >= 10 else 2
            return f"{value:.{decimals}f}{unit}"
    return f"{ns}ns"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _plain(text: str, code: str) -> str:
    return text


def _ansi(text: str, code: str) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if text.strip() else text


# --- terminal cells ---------------------------------------------------------------------------


def _clean(text: object) -> str:
    """One line of printable text: control characters (escape sequences, newlines) become spaces."""
    return "".join(" " if unicodedata.category(c).startswith("C") else c for c in str(text))


def _char_cells(c: str) -> int:
    if unicodedata.combining(c):
        return 0
    return 2 if unicodedata.east_asian_width(c) in ("W", "F") else 1


def _cells(text: str) -> int:
    return sum(_char_cells(c) for c in text)


def _clip(text: str, room: int) -> str:
    """`text` cut to `room` cells, ending in … when anything was cut."""
    if _cells(text) <= room:
        return text
    out, used = [], 0
    for c in text:
        if used + _char_cells(c) > room - 1:
            break
        out.append(c)
        used += _char_cells(c)
    return "".join(out) + "…" if room > 0 else ""


def _fit_name(name: str, room: int) -> str:
    """Cut in the middle when the name ends in a path segment (a gRPC method, an HTTP route), since
    the last segment is what tells spans apart; otherwise cut at the end."""
    if _cells(name) <= room:
        return name
    tail = name[name.rfind("/") :] if "/" in name else ""
    if tail and _cells(tail) + 4 <= room:
        return _clip(name[: -len(tail)], room - _cells(tail)) + tail
    if tail:  # keep the end: "…PodSandbox" tells more than "runtime.v…"
        return _clip(name[::-1], room)[::-1]
    return _clip(name, room)


def _pad(text: str, cells: int) -> str:
    return text + " " * max(cells - _cells(text), 0)
