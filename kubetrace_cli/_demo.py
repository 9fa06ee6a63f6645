"""`kubetrace demo`: the examples/ mini control plane on loopback, one pod applied, its trace drawn.

    storage, runtime  ->  apiserver (over storage)  ->  kubelet (watching the apiserver, driving the
    runtime)  ->  kubectl applies default/nginx and waits until it runs

Each example is its own process (`python <examples>/<name>.py`), configured only by environment
variables, on a free loopback port it reports itself. Once kubectl has seen the pod Running, every
process is stopped (each flushes its spans on the way out; Ctrl-C stops them too), and the trace
kubectl printed is drawn as a waterfall.

The examples are the repository's examples/, installed with kubetrace as the package
kubetrace_cli.examples (see pyproject.toml) and found through the import system: from a wheel, a
non-editable or an editable install alike.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import json
import signal
import sys
import tempfile
import textwrap
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from tracing.config import DOWNWARD_API, read_environment
from tracing.propagation import environment_for_child

from ._demo_backend import NOTHING_FOR_S, Backend, Wait, choose_backend
from ._demo_stack import STOP_GRACE_S, DemoError, Service, Stack, shielded
from ._jaeger_query import ui_link
from ._waterfall import render_waterfall
from .receiver import ReceivedSpan

EXAMPLES_PACKAGE = "kubetrace_cli.examples"
NODE = "node-1"
POD = "default/nginx"
LOOPBACK = "127.0.0.1:0"  # each service binds a free port and prints it
SERVICES = ("kubectl", "apiserver", "storage", "kubelet", "runtime")
# What the examples need beyond kubetrace itself: the demo extra.
NEEDS = ("uvicorn", "httpx", "kubernetes")
INSTALL_HINT = (
    'install kubetrace with its demo extra (pip install -e ".[demo]" in a checkout, as the README says)'
)
# The examples' tracing: every trace sampled, exported within 100 ms, flushed within 3 s at exit.
TRACING = {
    "OTEL_TRACES_SAMPLER": "parentbased_always_on",
    "OTEL_BSP_SCHEDULE_DELAY": "100",
    "KUBETRACE_SHUTDOWN_TIMEOUT_MS": "3000",
}
LEGEND = (
    "kubectl's apply reached storage through the apiserver (HTTP, then gRPC); the kubelet got the pod "
    "from its watch, continued the trace from the pod's kubetrace.io/traceparent annotation, and "
    "started the pod through the runtime (CRI over gRPC)."
)
EMBEDDED_NOTE = (
    "These spans lived in the demo's embedded OTLP receiver and are gone now. To keep and browse "
    "them, run Jaeger (collector-config/README.md): `kubetrace demo` finds it on 127.0.0.1:16686."
)
# kubectl marks its root span so; collector-config's tail sampling keeps the traces marked so.
FORCED_ATTRIBUTE = "kubetrace.sampling.forced"
_DOWNWARD_NAMES = frozenset(name for names in DOWNWARD_API.values() for name in names)


@dataclass(frozen=True)
class DemoOptions:
    jaeger: str | None = None
    otlp: str | None = None
    embedded: bool = False
    examples: Path | None = None  # None: the examples installed with kubetrace
    timeout: float = 30.0
    width: int = 80
    color: bool = False
    spans_json: Path | None = None
    pids_file: Path | None = None


def run(options: DemoOptions, out: TextIO | None = None) -> int:
    """Run the demo; 0 when the pod ran and its trace was drawn, 1 on failure, 130 on Ctrl-C."""
    say = _Progress(out or sys.stdout)
    # SIGTERM stops the demo as Ctrl-C does: never leave the examples running.
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler) if main else None
    try:
        say.title("kubetrace demo: one pod's journey through a traced mini control plane")
        return _run(options, say)
    except DemoError as err:
        say.failed()
        print(f"kubetrace demo: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        say.failed("interrupted")
        say("interrupted: stopped everything the demo started")
        return 130
    finally:
        if main:
            signal.signal(signal.SIGTERM, previous)


def _run(options: DemoOptions, say: _Progress) -> int:
    examples = _check_setup(options.examples)
    backend = choose_backend(read_environment(), options.jaeger, options.otlp, options.embedded)
    try:
        say(f"spans go to {backend.description}")
        with tempfile.TemporaryDirectory(prefix="kubetrace-demo-") as logs:
            stack = Stack(examples, _child_environment(backend), Path(logs), options.pids_file)
            try:
                trace_id = _control_plane(stack, options.timeout, say)
            except BaseException as exc:
                say.failed("interrupted" if isinstance(exc, KeyboardInterrupt) else "failed")
                raise
            finally:
                with shielded():
                    say.begin("stopping the control plane ...")
                    stack.stop(first=("kubectl", "kubelet"))  # kubelet first: its watch ends cleanly
                    say.end("ok")
            log_line = _logged_in_trace(stack, "kubelet", trace_id)
        say.begin("waiting for spans ...")
        spans = backend.collect(trace_id, Wait(len(SERVICES), max(options.timeout, 10.0), tick=say.tick))
        say.end(f"{len(spans)} spans" if spans else "none")
        if options.spans_json is not None:
            _write_json(options.spans_json, spans)
        return _show(trace_id, spans, backend, options, say, log_line)
    finally:
        backend.close()


def _control_plane(stack: Stack, timeout: float, say: _Progress) -> str:
    """Start the services in dependency order, apply the pod; the trace ID kubectl printed."""
    deadline = time.monotonic() + timeout
    storage = stack.start("storage", STORAGE_LISTEN=LOOPBACK)
    runtime = stack.start("runtime", RUNTIME_LISTEN=LOOPBACK)
    storage_address = _ready(storage, "LISTENING", deadline, say)
    runtime_address = _ready(runtime, "LISTENING", deadline, say)
    apiserver = stack.start("apiserver", APISERVER_LISTEN=LOOPBACK, STORAGE_ADDRESS=storage_address)
    url = "http://" + _ready(apiserver, "LISTENING", deadline, say)
    kubelet = stack.start("kubelet", APISERVER_URL=url, RUNTIME_ADDRESS=runtime_address, NODE_NAME=NODE)
    _ready(kubelet, "WATCHING", deadline, say, shown=f"watching the pods of {NODE}")

    say(f"applying pod {POD} with kubectl, then waiting until it runs ...")
    remaining = max(deadline - time.monotonic(), 1.0)
    kubectl = stack.start(
        "kubectl", APISERVER_URL=url, KUBECTL_POD=POD, KUBECTL_NODE=NODE, KUBECTL_TIMEOUT=f"{remaining:.0f}"
    )
    code = kubectl.wait_exit(time.monotonic() + remaining + STOP_GRACE_S)
    trace_id = next((line[len("TRACE_ID=") :] for line in kubectl.output if line.startswith("TRACE_ID=")), "")
    if code != 0 or not trace_id:
        said = "; ".join(line for line in kubectl.output if not line.startswith("TRACE_ID="))
        # A service that died on the way (the kubelet, say) explains more than kubectl's timeout.
        logs = "".join(s.log_tail() for s in stack.services if s.process.poll() is not None)
        raise DemoError(f"kubectl exited with status {code}: {said or 'no output'}{logs}")
    took = next(
        (line.partition(" Running after ")[2] for line in kubectl.output if " Running after " in line), ""
    )
    say(f"pod {POD} Running after {took}" if took else f"pod {POD} Running")
    return trace_id


def _ready(service: Service, prefix: str, deadline: float, say: _Progress, shown: str | None = None) -> str:
    say.begin(f"starting {service.name:<9} ...")
    value = service.expect(prefix + " ", deadline)
    say.end(f"ok  {shown or value}")
    return value


def _show(
    trace_id: str,
    spans: list[ReceivedSpan],
    backend: Backend,
    options: DemoOptions,
    say: _Progress,
    log_line: dict[str, Any] | None = None,
) -> int:
    """Draw the trace and say where it lives; 1 when the Jaeger it went to does not have it."""
    print(file=say.out)
    if not spans:
        say.note(_no_trace(trace_id, backend), options.width)
        return 1 if backend.kind == "jaeger" else 0
    print(render_waterfall(spans, width=options.width, color=options.color), file=say.out)
    print(file=say.out)
    span = next((s for s in spans if log_line and s.span_id == log_line.get("span_id")), None)
    if log_line is not None and span is not None:
        say.note(f"The kubelet logged this inside its {span.name} span, whose IDs it carries:", options.width)
        print(_wrapped_json(log_line, options.width), file=say.out)
        print(file=say.out)
    say.note(LEGEND, options.width)
    say.title("")
    if backend.jaeger_url:
        say.note(ui_link(backend.jaeger_url, trace_id), options.width)
    else:  # the embedded receiver
        say.note(EMBEDDED_NOTE, options.width)
    return 0


def _logged_in_trace(stack: Stack, name: str, trace_id: str) -> dict[str, Any] | None:
    """The first JSON log line service `name` wrote (to stderr, its log file) inside the trace."""
    for service in stack.services:
        if service.name != name or not service.log_path.exists():
            continue
        for line in service.log_path.read_text(errors="replace").splitlines():
            if line.startswith("{") and trace_id in line:
                with contextlib.suppress(ValueError):
                    return json.loads(line)
    return None


def _wrapped_json(doc: dict[str, Any], width: int) -> str:
    """`doc` as one JSON object over lines of at most `width` columns, broken between fields."""
    lines, line = [], "{"
    for key, value in doc.items():
        field = json.dumps({key: value}, ensure_ascii=False)[1:-1]
        if len(line) + len(field) + 3 > width and line != "{":  # room for ", " and a "," or "}"
            lines.append(line + ",")
            line = " " + field
        else:
            line += ("" if line == "{" else ", ") + field
    return "\n".join([*lines, line + "}"])


def _no_trace(trace_id: str, backend: Backend) -> str:
    """Why the trace cannot be drawn, and what to change."""
    if backend.jaeger_url is None:
        return (
            f"This demo cannot show trace {trace_id}: its spans went to {backend.description}. "
            f"`kubetrace view {trace_id} --jaeger URL` draws it from the Jaeger they reach."
        )
    return (
        f"Jaeger at {backend.jaeger_url} has no span of trace {trace_id} {NOTHING_FOR_S:.0f} s after "
        f"the services exported theirs ({backend.description}). Either they do not reach this "
        "Jaeger, or its tail sampling dropped the trace: collector-config/jaeger.yaml keeps a trace "
        "with an error, one slower than KUBETRACE_TAIL_LATENCY_THRESHOLD_MS (500), one with a span marked "
        f"{FORCED_ATTRIBUTE}=true (the demo marks its root span so) and "
        "KUBETRACE_TAIL_PROBABILISTIC_PERCENT (10) percent of the others; a config without the "
        "forced-trace policy keeps the demo's trace only by that share. "
        "KUBETRACE_TAIL_PROBABILISTIC_PERCENT=100 keeps every trace."
    )


def _check_setup(named: Path | None) -> Path:
    """The directory of the example services, once it and their dependencies are there."""
    examples = installed_examples() if named is None else named
    absent = [f"{name}.py" for name in SERVICES if not (examples / f"{name}.py").is_file()]
    if absent:
        raise DemoError(f"--examples {examples}: no {', '.join(absent)} there")
    missing = [module for module in NEEDS if importlib.util.find_spec(module) is None]
    if missing:
        raise DemoError(f"the examples need {', '.join(missing)}: {INSTALL_HINT}")
    return examples


def installed_examples() -> Path:
    """Where the example services were installed with kubetrace (the package kubetrace_cli.examples)."""
    spec = importlib.util.find_spec(EXAMPLES_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise DemoError(
            f"the example services are not installed with kubetrace (no package {EXAMPLES_PACKAGE}): "
            f"{INSTALL_HINT}, or name their directory with --examples DIR"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def _child_environment(backend: Backend) -> dict[str, str]:
    """This process's environment for the examples, with one tracing setup of the demo's own: any
    OTEL_*, KUBETRACE_* or Downward-API variable set here could change what they trace or where to."""
    kept = ("OTEL_EXPORTER_OTLP_",) if backend.keep_exporter_env else ()
    env = {
        name: value
        for name, value in environment_for_child().items()  # without any trace context of ours
        if name not in _DOWNWARD_NAMES
        and (not name.startswith(("OTEL_", "KUBETRACE_")) or (kept and name.startswith(kept)))
    }
    # PYTHONPATH is left as it is: the examples, run by this interpreter, import the kubetrace it has.
    return {**env, **TRACING, **backend.exporter_env}


def _write_json(path: Path, spans: list[ReceivedSpan]) -> None:
    path.write_text(json.dumps([dataclasses.asdict(span) for span in spans], indent=1), encoding="utf-8")


class _Progress:
    """Progress lines, flushed as they happen; a line begun and not ended is closed by the next.
    Writing is best effort: a closed stdout (`kubetrace demo | head`) must not stop the cleanup."""

    def __init__(self, out: TextIO):
        self.out = out
        self._open = False

    def title(self, text: str) -> None:
        self._line(text)

    def __call__(self, text: str) -> None:
        self._line(f"  {text}")

    def begin(self, text: str) -> None:
        self._line(f"  {text}", end="")
        self._open = True

    def end(self, text: str) -> None:
        self._write(f" {text}\n")
        self._open = False

    def tick(self, seconds: int) -> None:
        """Seconds waited so far, on the line begun."""
        if self._open:
            self._write(f" {seconds}s")

    def failed(self, text: str = "failed") -> None:
        if self._open:
            self.end(text)

    def note(self, text: str, width: int) -> None:
        self._line(textwrap.fill(text, width))

    def _line(self, text: str, end: str = "\n") -> None:
        self._write(("\n" if self._open else "") + text + end)
        self._open = False

    def _write(self, text: str) -> None:
        try:
            self.out.write(text)
            self.out.flush()
        except OSError:
            pass
