"""Where the demo's spans go, and how the demo gets them back to draw them.

In order: the embedded receiver when asked for (--embedded); Jaeger when one is named (--jaeger,
KUBETRACE_JAEGER_URL); the OTLP endpoint configured (--otlp, OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT),
drawn from a Jaeger query API on 127.0.0.1:16686 if one answers; a Jaeger found on 127.0.0.1
(query API on 16686 and OTLP on 4317); else the embedded in-process OTLP receiver, so that the
first run on a fresh machine works with nothing else installed.
"""

from __future__ import annotations

import socket
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from ._demo_stack import DemoError
from ._jaeger_query import ViewError, fetch_trace, services
from .receiver import OtlpReceiver, ReceivedSpan

LOCAL_JAEGER = "http://127.0.0.1:16686"
LOCAL_OTLP = ("127.0.0.1", 4317)
_EXPORTER_PREFIX = "OTEL_EXPORTER_OTLP_"
_SETTLE_S = 1.0  # Jaeger mode: the trace is complete once its span count holds this long
# Jaeger mode: no span of the trace this long after the services sent theirs, and none is coming.
# collector-config's longest path, agent -> gateway -> Jaeger, holds a trace about 5 s (two tail
# sampling decision waits of 2 s, and batching); a dropped trace is said so after twice that.
NOTHING_FOR_S = 10.0


def _no_progress(seconds: int) -> None:
    pass


@dataclass(frozen=True)
class Wait:
    """How the demo waits for its trace: complete once it has spans of `services` services (and
    their count holds a moment), for at most `timeout` seconds; `tick` hears each second waited."""

    services: int
    timeout: float
    tick: Callable[[int], None] = _no_progress


@dataclass
class Backend:
    """The spans' destination; `exporter_env` is what the examples need to export there."""

    kind: str  # "embedded", "jaeger" or "collector"
    description: str
    exporter_env: dict[str, str] = field(default_factory=dict)
    keep_exporter_env: bool = False  # a configured collector: keep its headers, certificates, ...
    jaeger_url: str | None = None
    receiver: OtlpReceiver | None = None

    def collect(self, trace_id: str, wait: Wait) -> list[ReceivedSpan]:
        """The spans of `trace_id`, once every process that made them has exited (and flushed)."""
        if self.receiver is not None:
            return [s for s in self.receiver.spans if s.trace_id == trace_id]
        if self.jaeger_url is None:
            return []
        return _from_jaeger(self.jaeger_url, trace_id, wait)

    def close(self) -> None:
        if self.receiver is not None:
            self.receiver.stop()


def choose_backend(
    env: Mapping[str, str], jaeger: str | None = None, otlp: str | None = None, embedded: bool = False
) -> Backend:
    """The backend for these flags and this environment (tracing.config.read_environment())."""
    if embedded:
        return _embedded("--embedded")
    jaeger = (jaeger or env.get("KUBETRACE_JAEGER_URL") or "").rstrip("/") or None
    configured = env.get(f"{_EXPORTER_PREFIX}TRACES_ENDPOINT") or env.get(f"{_EXPORTER_PREFIX}ENDPOINT")
    if otlp:
        otlp = _grpc_url(otlp)
        target = Backend("collector", f"OTLP {otlp}", _exporter(otlp))
    elif configured:
        target = Backend("collector", f"OTLP {configured} (configured)", keep_exporter_env=True)
    elif jaeger:
        otlp = _default_otlp(jaeger)
        target = Backend("collector", f"OTLP {otlp}", _exporter(otlp))
    else:
        return _local_jaeger() or _embedded(f"no Jaeger on {LOCAL_JAEGER.partition('://')[2]}")
    if jaeger:
        _check_jaeger(jaeger)
        target.kind, target.jaeger_url = "jaeger", jaeger
        target.description = f"Jaeger {jaeger}, {target.description}"
    elif _answers(LOCAL_JAEGER):  # a collector that may well feed the local Jaeger: draw from there
        target.jaeger_url = LOCAL_JAEGER
    return target


def _local_jaeger() -> Backend | None:
    """A Jaeger running here with its default ports, if there is one."""
    if not (_answers(LOCAL_JAEGER) and _listening(*LOCAL_OTLP)):
        return None
    endpoint = "http://{}:{}".format(*LOCAL_OTLP)
    description = f"Jaeger {LOCAL_JAEGER} (found running)"
    return Backend("jaeger", description, _exporter(endpoint), jaeger_url=LOCAL_JAEGER)


def _embedded(why: str) -> Backend:
    receiver = OtlpReceiver().start()
    endpoint = f"http://{receiver.grpc_endpoint}"
    return Backend(
        "embedded",
        f"the embedded receiver {receiver.grpc_endpoint} ({why})",
        _exporter(endpoint),
        receiver=receiver,
    )


def _exporter(endpoint: str) -> dict[str, str]:
    return {f"{_EXPORTER_PREFIX}ENDPOINT": endpoint, f"{_EXPORTER_PREFIX}PROTOCOL": "grpc"}


def _grpc_url(endpoint: str) -> str:
    """host:port or a URL -> an http(s):// URL, as OTEL_EXPORTER_OTLP_ENDPOINT wants it."""
    return endpoint if "://" in endpoint else f"http://{endpoint}"


def _default_otlp(jaeger_url: str) -> str:
    """Jaeger's OTLP/gRPC receiver on the query API's host, at its default port."""
    host = urllib.parse.urlsplit(jaeger_url).hostname or "127.0.0.1"
    return f"http://{host}:4317"


def _check_jaeger(url: str) -> None:
    try:
        services(url)
    except ViewError as err:
        raise DemoError(f"{err} (from --jaeger or KUBETRACE_JAEGER_URL)") from None


def _answers(url: str) -> bool:
    try:
        services(url)
    except ViewError:
        return False
    return True


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _from_jaeger(url: str, trace_id: str, wait: Wait) -> list[ReceivedSpan]:
    """Poll Jaeger until the trace has spans of every service and its span count holds for a moment,
    or until NOTHING_FOR_S has passed without a single span of it. Jaeger's tail sampling shows a
    trace only after its decision wait (collector-config: 2 s), and never one it dropped."""
    started = time.monotonic()
    spans: list[ReceivedSpan] = []
    settled_at, waited = started, 0
    while (now := time.monotonic()) < started + wait.timeout:
        if not spans and now - started >= NOTHING_FOR_S:
            break
        if now - started >= waited + 1:
            waited += 1
            wait.tick(waited)
        try:
            latest = fetch_trace(url, trace_id)
        except ViewError:
            latest = []  # not there yet
        if len(latest) != len(spans):
            spans, settled_at = latest, time.monotonic()
        complete = len({s.service for s in spans}) >= wait.services
        if complete and time.monotonic() - settled_at >= _SETTLE_S:
            break
        time.sleep(0.2)
    return spans
