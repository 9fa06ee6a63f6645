"""Drive the collector-tier workload: a pipeline of _tier_hop.py processes, each exporting to a
node agent of its own choosing, that together make every trace of a plan.

    with Workload(plan, agents=[a.otlp_grpc_endpoint, b.otlp_grpc_endpoint], service="tier-x") as w:
        ...                      # the traces are being made
    sent = w.result()            # {trace_id: SentTrace}, once every hop has exited
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from testkit import stop_process

HOP = Path(__file__).resolve().with_name("_tier_hop.py")
HOPS = 3
HOP_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class SentTrace:
    key: int
    shape: str
    start_ns: int  # the root span's start
    spans: int
    emitted_ns: tuple[int, ...]  # when each hop had made its spans (wall clock)


class WorkloadError(RuntimeError):
    """A hop failed or dropped spans; the message carries every hop's stderr."""


class Workload:
    """HOPS processes chained by pipes; hop i is service `{service}-hop{i}` and exports to
    agents[i % len(agents)], so one trace enters the tier through several agents."""

    def __init__(
        self, plan: Sequence[str], agents: Sequence[str], service: str, rate: float = 0.0, slow_ms: int = 800
    ):
        self.plan = plan
        self.procs: list[subprocess.Popen] = []
        self._lines: list[str] = []
        base = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "KUBETRACE_"))}
        previous = subprocess.PIPE
        for hop in range(HOPS):
            env = dict(
                base,
                OTEL_SERVICE_NAME=f"{service}-hop{hop}",
                OTEL_EXPORTER_OTLP_ENDPOINT=f"http://{agents[hop % len(agents)]}",
                OTEL_BSP_SCHEDULE_DELAY="100",
                OTEL_BSP_MAX_QUEUE_SIZE="50000",
                OTEL_BSP_MAX_EXPORT_BATCH_SIZE="512",
                KUBETRACE_SHUTDOWN_TIMEOUT_MS="30000",
            )
            args = ["--hop", str(hop), "--hops", str(HOPS), "--rate", str(rate), "--slow-ms", str(slow_ms)]
            proc = subprocess.Popen(
                [sys.executable, str(HOP), *args],
                stdin=previous,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
                text=True,
                start_new_session=True,
            )
            if hop > 0:
                previous.close()  # the next hop owns the read end now
            previous = proc.stdout
            self.procs.append(proc)
        self._feeder = threading.Thread(target=self._feed, daemon=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._stderr: dict[int, str] = {}
        self._err_readers = [
            threading.Thread(target=self._read_stderr, args=(i,), daemon=True) for i in range(HOPS)
        ]
        for thread in (self._feeder, self._reader, *self._err_readers):
            thread.start()

    def _feed(self) -> None:
        stdin = self.procs[0].stdin
        assert stdin is not None
        try:
            for line in self.plan:
                stdin.write(line + "\n")
            stdin.close()
        except BrokenPipeError:
            pass  # hop 0 died; result() reports it

    def _read(self) -> None:
        out = self.procs[-1].stdout
        assert out is not None
        self._lines.extend(out)

    def _read_stderr(self, hop: int) -> None:
        err = self.procs[hop].stderr
        assert err is not None
        self._stderr[hop] = err.read()

    def wait(self, timeout: float = HOP_TIMEOUT_S) -> None:
        for proc in self.procs:
            proc.wait(timeout)
        for thread in (self._feeder, self._reader, *self._err_readers):
            thread.join(timeout)

    def result(self) -> dict[str, SentTrace]:
        """Wait for every hop; {trace_id hex: SentTrace}. WorkloadError if a hop failed, did not
        flush, or dropped a span (then the tier would be blamed for the SDK's loss)."""
        self.wait()
        problems = []
        for hop, proc in enumerate(self.procs):
            err = self._stderr.get(hop, "")
            summary = _summary(err)
            if proc.returncode != 0 or not summary or summary["dropped"] or not summary["flushed"]:
                problems.append(f"hop {hop}: exit {proc.returncode}, summary {summary}\n{err[-3000:]}")
        if problems:
            raise WorkloadError("\n".join(problems))
        sent: dict[str, SentTrace] = {}
        for line in self._lines:
            key, shape, start, _duration, spans, traceparent, *emitted = line.split()
            times = tuple(int(t) for t in emitted)
            sent[traceparent.split("-")[1]] = SentTrace(int(key), shape, int(start), int(spans), times)
        if len(sent) != len(self.plan):
            raise WorkloadError(f"{len(self.plan)} traces planned, {len(sent)} came out of the last hop")
        return sent

    def stop(self) -> None:
        for proc in self.procs:
            stop_process(proc, 5.0)

    def __enter__(self) -> Workload:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _summary(stderr: str) -> dict | None:
    for line in reversed(stderr.splitlines()):
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                return None
    return None
