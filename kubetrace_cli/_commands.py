"""Commands that need more than configuration (demo, view, run) register here, so cli.py stays small.

Each command is one `_add_*` function that declares its arguments and one `_run_*` function; the
modules doing the work are imported when the command runs, so `kubetrace validate` stays quick.
"""

from __future__ import annotations

import argparse
import shutil
import sys

_DEFAULT_JAEGER = "http://127.0.0.1:16686"
_WIDTH_HELP = "columns (default: the terminal's width, else $COLUMNS, else 80)"


def register(sub: argparse._SubParsersAction) -> None:
    """Add the demo, view and run commands."""
    from . import _run

    _add_demo(sub)
    _add_view(sub)
    _run.add(sub)


def _add_demo(sub: argparse._SubParsersAction) -> None:
    demo = sub.add_parser(
        "demo",
        help="run a traced mini control plane, apply a pod, and draw its trace",
        description="Start the example control plane (apiserver, storage, kubelet, runtime) on free "
        "loopback ports, apply a pod with kubectl, wait until it runs, stop everything and draw the "
        "pod's trace as a waterfall. Spans go to Jaeger when one is named or found on 127.0.0.1 "
        "(query API on 16686, OTLP on 4317), to the OTLP endpoint configured, or else to an "
        "embedded in-process receiver.",
    )
    demo.add_argument(
        "--jaeger",
        metavar="URL",
        help="Jaeger query URL to export to and draw from (default: $KUBETRACE_JAEGER_URL)",
    )
    demo.add_argument(
        "--otlp",
        metavar="ENDPOINT",
        help="OTLP/gRPC endpoint to export to (default: $OTEL_EXPORTER_OTLP_ENDPOINT, else Jaeger's host:4317)",
    )
    demo.add_argument(
        "--embedded", action="store_true", help="use the embedded receiver even if Jaeger is running"
    )
    demo.add_argument(
        "--examples",
        metavar="DIR",
        help="run the example services from DIR, a copy of examples/ you changed, say "
        "(default: the ones installed with kubetrace)",
    )
    demo.add_argument(
        "--timeout", type=float, default=30.0, metavar="S", help="seconds for the pod to run (default: 30)"
    )
    demo.add_argument("--width", type=int, metavar="N", help=_WIDTH_HELP)
    demo.add_argument("--no-color", action="store_true", help="no colours, even on a terminal")
    demo.add_argument("--spans-json", metavar="PATH", help="also write the trace's spans to PATH as JSON")
    demo.add_argument("--pids-file", metavar="PATH", help=argparse.SUPPRESS)  # tests: what to check is gone
    demo.set_defaults(run=_run_demo)


def _run_demo(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ._demo import DemoOptions, run
    from ._jaeger_query import ViewError

    try:
        width = _view_width(args.width)
    except ViewError as err:
        print(f"kubetrace demo: {err}", file=sys.stderr)
        return 2
    options = DemoOptions(
        jaeger=args.jaeger,
        otlp=args.otlp,
        embedded=args.embedded,
        examples=Path(args.examples).resolve() if args.examples else None,
        timeout=args.timeout,
        width=width,
        color=sys.stdout.isatty() and not args.no_color,
        spans_json=Path(args.spans_json) if args.spans_json else None,
        pids_file=Path(args.pids_file) if args.pids_file else None,
    )
    return run(options)


def _add_view(sub: argparse._SubParsersAction) -> None:
    view = sub.add_parser(
        "view",
        help="draw a trace stored in Jaeger as a waterfall in the terminal",
        description="Fetch one trace from Jaeger's query API and draw its spans as a waterfall: "
        "the span tree, bars on a shared time axis, durations, errors and key attributes.",
    )
    view.add_argument("trace_id", nargs="?", metavar="TRACE_ID", help="1 to 32 hex digits")
    view.add_argument("--service", metavar="NAME", help="with --last: whose latest trace to draw")
    view.add_argument("--last", action="store_true", help="draw the latest trace of --service (last hour)")
    view.add_argument(
        "--jaeger",
        metavar="URL",
        help=f"Jaeger query URL (default: $KUBETRACE_JAEGER_URL, else {_DEFAULT_JAEGER})",
    )
    view.add_argument("--width", type=int, metavar="N", help=_WIDTH_HELP)
    view.add_argument("--no-color", action="store_true", help="no colours, even on a terminal")
    view.set_defaults(run=_run_view)


def _run_view(args: argparse.Namespace) -> int:
    from ._jaeger_query import ViewError, fetch_trace, ui_link
    from ._waterfall import render_waterfall

    try:
        base, width = _jaeger_url(args.jaeger), _view_width(args.width)
        trace_id = _wanted_trace(args, base)
        spans = fetch_trace(base, trace_id)
    except ViewError as err:
        print(f"kubetrace view: {err}", file=sys.stderr)
        return 1
    print(render_waterfall(spans, width=width, color=sys.stdout.isatty() and not args.no_color))
    print(f"\n{ui_link(base, trace_id)}")
    return 0


def _wanted_trace(args: argparse.Namespace, base: str) -> str:
    """The 32-hex trace ID named on the command line, or the latest one of --service."""
    from ._jaeger_query import ViewError, latest_trace_id, normalise_trace_id, services

    if args.trace_id is not None:
        if args.service or args.last:
            raise ViewError("give either TRACE_ID or --service NAME --last, not both")
        return normalise_trace_id(args.trace_id)
    if not (args.service and args.last):
        raise ViewError("give a TRACE_ID, or --service NAME --last for that service's latest trace")
    trace_id = latest_trace_id(base, args.service)
    if trace_id is None:
        known = ", ".join(services(base)) or "none"
        raise ViewError(f"no traces for service {args.service} in the last hour (Jaeger knows: {known})")
    return trace_id


def _jaeger_url(flag: str | None) -> str:
    # The environment is read through config, the one place that touches os.environ.
    from tracing.config import read_environment

    return (flag or read_environment().get("KUBETRACE_JAEGER_URL") or _DEFAULT_JAEGER).rstrip("/")


def _view_width(flag: int | None) -> int:
    from ._jaeger_query import ViewError
    from ._waterfall import MIN_WIDTH

    if flag is None:
        # The terminal's width when stdout is one; COLUMNS, when set, wins, as for any terminal
        # program; a pipe or a file gets 80.
        return max(MIN_WIDTH, shutil.get_terminal_size((80, 24)).columns)
    if flag < MIN_WIDTH:
        raise ViewError(f"--width: must be at least {MIN_WIDTH} columns, got {flag}")
    return flag
