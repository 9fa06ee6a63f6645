"""The terminal waterfall: golden pictures of one control-plane trace, and properties of any trace."""

from __future__ import annotations

import os
import random
import re
import unicodedata
from pathlib import Path

import pytest

from kubetrace_cli._span_notes import attribute_notes
from kubetrace_cli._waterfall import format_duration, render_waterfall
from kubetrace_cli.receiver import ReceivedSpan

GOLDEN = Path(__file__).parent / "waterfall_golden"
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
T0 = 1_700_000_000_000_000_000
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def make_span(span_id, parent, service, name, start_us, end_us, *, trace=TRACE, resource=None, **fields):
    """A ReceivedSpan with times in microseconds after T0; `fields` are the other ReceivedSpan fields."""
    defaults = {"kind": "INTERNAL", "attributes": {}, "status": "UNSET", "status_message": ""}
    return ReceivedSpan(
        trace_id=trace,
        span_id=span_id,
        parent_span_id=parent,
        name=name,
        start_ns=T0 + start_us * 1000,
        end_ns=T0 + end_us * 1000,
        resource={"service.name": service, **(resource or {})},
        **{**defaults, **fields},
    )


def _http(method, code, **more):
    return {"http.request.method": method, "http.response.status_code": code, **more}


def _grpc(code):
    return {"rpc.grpc.status_code": code}


# kubectl -> apiserver -> storage, and kubelet -> runtime: an error, an orphan whose parent never
# arrived, a link, a 250µs span, names too long for their column, and a pod on the storage process.
CONTROL_PLANE = [
    make_span("a1", "", "kubectl", "kubectl create pod nginx", 0, 46_200, kind="CLIENT", attributes=_http("POST", 201)),
    make_span(
        "b2", "a1", "apiserver", "POST /api/v1/namespaces/{namespace}/pods", 1_200, 44_900,
        kind="SERVER", attributes=_http("POST", 201, **{"k8s.namespace.name": "default"}),
    ),
    make_span("c3", "b2", "apiserver", "admission", 1_500, 1_750),
    make_span("d4", "b2", "apiserver", "storage.v1.Storage/Create", 2_100, 9_800, kind="CLIENT", attributes=_grpc(0)),
    make_span(
        "e5", "d4", "storage", "storage.v1.Storage/Create", 2_600, 9_100, kind="SERVER", attributes=_grpc(0),
        resource={"k8s.pod.name": "etcd-0", "k8s.namespace.name": "kube-system"},
    ),
    make_span(
        "f6", "b2", "kubelet", "syncPod", 11_000, 44_000, links=((TRACE, "e5"),),
        attributes={"k8s.pod.name": "nginx", "k8s.namespace.name": "default"},
    ),
    make_span("g7", "f6", "kubelet", "runtime.v1.RuntimeService/RunPodSandbox", 12_000, 24_800, kind="CLIENT", attributes=_grpc(0)),
    make_span("h8", "g7", "runtime", "runtime.v1.RuntimeService/RunPodSandbox", 12_400, 24_300, kind="SERVER", attributes=_grpc(0)),
    make_span(
        "i9", "f6", "kubelet", "runtime.v1.ImageService/PullImage", 25_300, 43_600, kind="CLIENT",
        status="ERROR", status_message='image "nginx:1.27-typo" not found',
        attributes={**_grpc(5), "error.type": "NOT_FOUND"},
    ),
    make_span("j0", "ff", "runtime", "runc create", 30_000, 30_812),
]  # fmt: skip


def cells(text: str) -> int:
    """Terminal cells, measured independently of the renderer: wide East Asian characters take two."""
    plain = ANSI.sub("", text)
    return sum(
        0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in plain
    )


def span_rows(text: str) -> list[str]:
    """The lines that draw a span: below a ruler, starting with the service name (notes are indented)."""
    rows, drawing = [], False
    for line in ANSI.sub("", text).splitlines():
        if line.startswith(("Trace ", "servic")):
            drawing = line.startswith("servic")
        elif drawing and line and not line[0].isspace():
            rows.append(line)
    return rows


@pytest.mark.parametrize(
    ("width", "color", "golden"),
    [
        (80, False, "control-plane-80.txt"),
        (60, False, "control-plane-60.txt"),
        (80, True, "control-plane-80-color.txt"),
    ],
)
def test_control_plane_trace_matches_the_golden_picture(width, color, golden):
    text = render_waterfall(CONTROL_PLANE, width=width, color=color)
    path = GOLDEN / golden
    if os.environ.get("KUBETRACE_UPDATE_GOLDEN"):  # regenerate, then look at the files before committing
        path.write_text(text + "\n", encoding="utf-8")
    assert text + "\n" == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("width", [80, 60])
def test_colour_only_adds_ansi_codes_to_the_plain_picture(width):
    plain = render_waterfall(CONTROL_PLANE, width=width)
    coloured = render_waterfall(CONTROL_PLANE, width=width, color=True)
    assert "\x1b[" not in plain
    assert "\x1b[31m" in coloured  # the failed PullImage is red
    assert ANSI.sub("", coloured) == plain


def test_the_header_names_the_trace_and_counts_what_is_in_it():
    header = render_waterfall(CONTROL_PLANE).splitlines()[0]
    assert header == f"Trace {TRACE}  46.2ms, 10 spans, 5 services, 1 error"


def test_markers_show_errors_orphans_and_links():
    rows = {row.split()[1]: row for row in span_rows(render_waterfall(CONTROL_PLANE))}
    text = render_waterfall(CONTROL_PLANE)
    assert rows["runtime.v1.I…/PullImage"].endswith("✗")
    assert "↳? runc create" in text
    assert "⤷ link storage.v1.Storage/Create" in text
    assert '✗ image "nginx:1.27-typo" not found · grpc NOT_FOUND' in text
    assert sum(row.endswith("✗") for row in rows.values()) == 1


@pytest.mark.parametrize(
    ("ns", "text"),
    [(0, "0ns"), (999, "999ns"), (812_000, "812µs"), (1_000_000, "1.00ms"), (12_345_678, "12.3ms"),
     (123_456_789, "123ms"), (1_200_000_000, "1.20s"), (150 * 10**9, "2.50m"), (2 * 3600 * 10**9, "2.00h")],
)  # fmt: skip
def test_durations_read_as_three_significant_digits(ns, text):
    assert format_duration(ns) == text


def random_trace(seed: int, count: int = 40) -> list[ReceivedSpan]:
    """A random tree (some chains run 20 deep) with long, wide and hostile names, some orphans and a
    parent cycle; each span's name is unique and short enough to find in its row."""
    rng = random.Random(seed)
    spans = []
    for i in range(count):
        parent = f"{rng.randrange(i):04x}" if i and rng.random() < 0.9 else ("" if i == 0 else "dead")
        parent = f"{i - 1:04x}" if 10 <= i < 30 else parent
        start = rng.randrange(0, 1_000_000)
        spans.append(
            make_span(
                f"{i:04x}", parent, rng.choice(["a", "kube-apiserver-with-a-long-name", "節點代理"]),
                f"op{i:02d}" + rng.choice(["", " /a/very/long/path/segment/that/goes/on", " 処理\x1b[2J"]),
                start, start + rng.choice([0, 1, 50, 200_000, 5_000_000]),
                status=rng.choice(["UNSET", "OK", "ERROR"]), attributes=_http("GET", 500),
            )
        )  # fmt: skip
    spans[5] = make_span("0005", "0006", "a", "op05", 0, 10)  # 0005 <-> 0006 is a parent cycle
    spans[6] = make_span("0006", "0005", "a", "op06", 0, 10)
    return spans


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("width", [40, 57, 80, 132])
@pytest.mark.parametrize("color", [False, True])
def test_every_line_fits_the_width(seed, width, color):
    text = render_waterfall(random_trace(seed), width=width, color=color)
    assert all(cells(line) <= width for line in text.splitlines()), text


@pytest.mark.parametrize("seed", range(6))
def test_every_span_is_drawn_once_below_its_parent(seed):
    spans = random_trace(seed)
    rows = span_rows(render_waterfall(spans, width=132))
    found = [re.search(r"\bop(\d\d)\b", row) for row in rows]
    order = [int(m.group(1)) for m in found if m]
    assert sorted(order) == list(range(len(spans)))
    at = {f"{i:04x}": position for position, i in enumerate(order)}
    for span in spans:
        if span.parent_span_id in at and span.span_id not in ("0005", "0006"):
            assert at[span.parent_span_id] < at[span.span_id]


def test_children_follow_their_parent_in_start_order_one_indent_deeper():
    spans = [
        make_span("01", "", "svc", "root", 0, 100),
        make_span("03", "01", "svc", "second", 50, 60),
        make_span("02", "01", "svc", "first", 10, 20),
        make_span("04", "02", "svc", "grandchild", 12, 18),
    ]
    rows = span_rows(render_waterfall(spans))
    assert [row.split()[1] for row in rows] == ["root", "first", "grandchild", "second"]
    label_column = len("svc") + 4 + 2  # the service column is at least as wide as its title, "service"
    assert [len(row[label_column:]) - len(row[label_column:].lstrip()) for row in rows] == [0, 2, 4, 2]


def test_network_text_cannot_reach_the_terminal_as_control_characters():
    evil = make_span(
        "01", "", "svc\x1b]0;owned\x07", "GET\x1b[2J\r\nrm -rf", 0, 5, status="ERROR", status_message="a\nb"
    )
    text = render_waterfall([evil], color=False)
    assert not any(unicodedata.category(c) == "Cc" for c in text.replace("\n", ""))
    assert len(text.splitlines()) == 4  # header, ruler, row, notes: no injected line breaks


def test_notes_wrap_between_facts_so_a_linked_trace_id_is_never_cut():
    others = [f"{i:032x}" for i in range(1, 6)]
    linker = make_span(
        "01", "", "svc", "consume", 0, 10, links=tuple((t, "00000000000000aa") for t in others)
    )
    lines = render_waterfall([linker], width=60).splitlines()
    assert lines[4:] == [f"           ⤷ link trace {t}" for t in others[:3]] + ["           +2 more links"]


def test_a_tiny_span_on_a_long_trace_still_gets_a_bar():
    spans = [
        make_span("01", "", "svc", "long", 0, 10_000_000),
        make_span("02", "01", "svc", "blip", 5_000_000, 5_000_000),
    ]
    blip = span_rows(render_waterfall(spans))[1]
    assert re.search(r"[▏▎▍▌▋▊▉█]", blip)


def test_several_traces_are_drawn_one_after_another_in_start_order():
    later = make_span("01", "", "svc", "later", 500, 900, trace="0" * 31 + "2")
    earlier = make_span("02", "", "svc", "earlier", 0, 100, trace="0" * 31 + "1")
    text = render_waterfall([later, earlier])
    headers = [line.split()[1] for line in text.splitlines() if line.startswith("Trace ")]
    assert headers == ["0" * 31 + "1", "0" * 31 + "2"]
    assert text.index("earlier") < text.index("later")


def test_a_width_too_small_to_draw_is_refused():
    with pytest.raises(ValueError, match="width must be >= 40"):
        render_waterfall(CONTROL_PLANE, width=39)


# --- what attributes say (kubetrace_cli._span_notes) -----------------------------------------------


@pytest.mark.parametrize(
    ("attributes", "resource", "entered", "notes"),
    [
        (_http("GET", 200), {}, False, ["GET 200"]),
        ({"http.method": "PUT", "http.status_code": 409}, {}, False, ["PUT 409"]),  # older otelhttp names
        ({"http.request.method": "GET", "http.status_code": 404}, {}, False, ["GET 404"]),
        (_grpc(0), {}, False, []),
        (_grpc(5), {}, False, ["grpc NOT_FOUND"]),
        (_grpc(16), {}, False, ["grpc UNAUTHENTICATED"]),
        (_grpc(42), {}, False, ["grpc 42"]),
        ({**_grpc(5), "error.type": "NOT_FOUND"}, {}, False, ["grpc NOT_FOUND"]),
        ({**_http("GET", 503), "error.type": "503"}, {}, False, ["GET 503"]),
        ({"error.type": "TimeoutError"}, {}, False, ["error.type TimeoutError"]),
        ({}, {"k8s.pod.name": "etcd-0", "k8s.namespace.name": "kube-system"}, True, ["pod kube-system/etcd-0"]),
        ({}, {"k8s.pod.name": "etcd-0"}, False, []),  # the process's pod, said where the trace enters it
        ({"k8s.namespace.name": "default"}, {"k8s.pod.name": "etcd-0"}, True, ["ns default"]),
        ({"k8s.pod.name": "nginx"}, {}, False, ["pod nginx"]),
    ],
)  # fmt: skip
def test_attribute_notes_read_http_grpc_and_kubernetes_conventions(attributes, resource, entered, notes):
    span = make_span("a1", "", "svc", "op", 0, 10, attributes=attributes, resource=resource)
    assert attribute_notes(span, entered) == notes
