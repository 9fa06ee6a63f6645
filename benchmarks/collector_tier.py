"""What the scale-out collector tier (collector-config/tier/) sustains on this machine.

    python benchmarks/collector_tier.py                      # both parts, default sizes
    python benchmarks/collector_tier.py --part throughput --gateways 1 3 --seconds 10
    python benchmarks/collector_tier.py --part burst --burst-seconds 5 --limit-mib 150 4000

throughput: 2 agents -> N gateways -> Jaeger (Badger), the gateways' tail sampling as shipped
(errors, slow, on-demand, strategy, 10 % of the rest). Sender processes push pre-encoded OTLP
requests (40 traces x 5 spans, unique trace IDs) into the agents as fast as the agents accept
them, for --seconds after a warm-up. Reported: spans/s the gateways took in (what the tier
sustains), spans the agents refused (memory_limiter), and the CPU each role used in the window:
the sum against the machine's cores says what limits it.

burst: one agent whose only gateway is down (the worst case: nothing drains), memory_limiter
at --limit-mib (4000 is as good as off here) checked every --check-interval, with and without
Go's GOMEMLIMIT (--gomemlimit), and senders pushing as fast as it accepts for
--burst-seconds. Reported: the agent's peak RSS, and how many spans it refused instead of
growing (an SDK retries those).

Senders, agents, gateways and Jaeger share the machine's cores: on a 2-core machine shared with
other work the figures are a floor, not a capacity plan.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the loopback harness

import grpc
from backends import TIER_DIR, Tier, TierSpec, free_port, jaeger_binary, otelcol_binary, run_collector
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
TRACES_PER_REQUEST, SPANS_PER_TRACE = 40, 5
TEMPLATES = 50
MARK = bytes.fromhex("5eed7a11c0de")  # the first 6 bytes of every template trace ID
WARMUP_S = 3.0


# --- the sender (a process of its own: encoding and gRPC are CPU, and the GIL is one core) -------


def _request(rng: random.Random, service: str) -> bytes:
    """One request whose trace IDs all begin with MARK: _rounds() rewrites it per round."""
    now = time.time_ns()
    spans = []
    for _ in range(TRACES_PER_REQUEST):
        trace_id = MARK + rng.randbytes(16 - len(MARK))
        parent = b""
        for i in range(SPANS_PER_TRACE):
            span_id = rng.randbytes(8)
            spans.append(
                Span(
                    trace_id=trace_id,
                    span_id=span_id,
                    parent_span_id=parent,
                    name=f"op-{i}",
                    kind=Span.SPAN_KIND_SERVER if i == 0 else Span.SPAN_KIND_INTERNAL,
                    start_time_unix_nano=now + i * 1000,
                    end_time_unix_nano=now + 2_000_000 - i * 1000,
                    attributes=[KeyValue(key="http.route", value=AnyValue(string_value="/api/v1/pods"))],
                )
            )
            parent = span_id
    resource = ResourceSpans(scope_spans=[ScopeSpans(spans=spans)])
    resource.resource.attributes.append(KeyValue(key="service.name", value=AnyValue(string_value=service)))
    body = ExportTraceServiceRequest(resource_spans=[resource]).SerializeToString()
    assert body.count(MARK) == TRACES_PER_REQUEST * SPANS_PER_TRACE, "MARK collided with other bytes"
    return body


def _rounds(templates: list[bytes], sender_id: int):
    """The templates again and again, each round with new trace IDs (MARK replaced by the
    sender's id and the round number): unique traces without encoding on the hot path."""
    for round_no in itertools.count():
        prefix = sender_id.to_bytes(2, "big") + round_no.to_bytes(len(MARK) - 2, "big")
        for body in templates:
            yield body.replace(MARK, prefix)


def sender(endpoint: str, seconds: float, threads: int) -> None:
    """Send for `seconds` from `threads` threads, each its own stream of unique traces; print JSON."""
    rng = random.Random(os.getpid())
    templates = [_request(rng, "bench") for _ in range(TEMPLATES)]
    channel = grpc.insecure_channel(endpoint)
    export = channel.unary_unary(EXPORT)  # bytes in, bytes out: nothing encoded on the hot path
    counts = {"sent": 0, "refused": 0}
    lock = threading.Lock()
    print("READY", flush=True)
    sys.stdin.readline()  # go
    deadline = time.monotonic() + seconds

    def work(stream) -> None:
        for body in stream:
            if time.monotonic() > deadline:
                return
            try:
                export(body, timeout=10)
                key = "sent"
            except grpc.RpcError:
                key = "refused"
            with lock:
                counts[key] += 1

    first_id = (os.getpid() % 1000) * threads
    workers = [
        threading.Thread(target=work, args=(_rounds(templates, first_id + i),)) for i in range(threads)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    spans = TRACES_PER_REQUEST * SPANS_PER_TRACE
    print(
        json.dumps({"sent_spans": counts["sent"] * spans, "refused_spans": counts["refused"] * spans}),
        flush=True,
    )


class Senders:
    """Sender processes, started and built before the clock starts, released together."""

    def __init__(self, endpoints: list[str], seconds: float, threads: int = 4):
        args = ["--seconds", str(seconds), "--threads", str(threads)]
        self.procs = [
            subprocess.Popen(
                [sys.executable, __file__, "--sender", endpoint, *args],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for endpoint in endpoints
        ]
        for proc in self.procs:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "READY"

    def go(self) -> None:
        for proc in self.procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()

    def results(self) -> dict[str, int]:
        total = {"sent_spans": 0, "refused_spans": 0}
        for proc in self.procs:
            out, _ = proc.communicate(timeout=300)
            for key, value in json.loads(out.strip().splitlines()[-1]).items():
                total[key] += value
        return total


# --- measuring ------------------------------------------------------------------------------------


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _pid(process) -> int:
    """A Collector's process id, or a Popen's."""
    return process.process.pid if hasattr(process, "process") else process.pid


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def throughput(otelcol: Path, jaeger: Path, gateways: int, seconds: float, senders: int) -> dict:
    with tempfile.TemporaryDirectory() as badger:
        env = {"KUBETRACE_TAIL_PROBABILISTIC_PERCENT": "10", "KUBETRACE_TAIL_DECISION_WAIT": "2s"}
        spec = TierSpec(badger_dir=Path(badger), gateways=gateways, agents=2, gateway_env=env)
        with Tier(spec, otelcol, jaeger) as tier:
            endpoints = [tier.agents[i % 2].otlp_grpc_endpoint for i in range(senders)]
            load = Senders(endpoints, seconds=seconds + WARMUP_S)
            roles = {
                "agents": tier.agents,
                "gateways": tier.gateways,
                "jaeger": [tier.jaeger],
                "senders": load.procs,
            }
            load.go()
            time.sleep(WARMUP_S)
            before = _snapshot(tier, roles)
            time.sleep(seconds)
            after = _snapshot(tier, roles)
            sent = load.results()
    window = after["t"] - before["t"]
    return {
        "gateways": gateways,
        "seconds": round(window, 1),
        "tier_spans_per_s": round((after["gateway_in"] - before["gateway_in"]) / window),
        "agent_spans_per_s": round((after["agent_in"] - before["agent_in"]) / window),
        "jaeger_spans_per_s": round((after["jaeger_in"] - before["jaeger_in"]) / window),
        "agent_refused_spans_per_s": round((after["agent_refused"] - before["agent_refused"]) / window),
        "agent_dropped_spans_per_s": round((after["agent_dropped"] - before["agent_dropped"]) / window),
        "cpu_cores_used": {
            role: round((after["cpu"][role] - before["cpu"][role]) / window, 2) for role in after["cpu"]
        },
        "senders": sent,
    }


def _snapshot(tier: Tier, roles: dict) -> dict:
    agents = [Tier.metrics(a) for a in tier.agents]
    return {
        "t": time.monotonic(),
        "agent_in": sum(m.sum("otelcol_receiver_accepted_spans") for m in agents),
        "agent_refused": sum(m.sum("otelcol_receiver_refused_spans") for m in agents),
        # a full per-gateway queue: the load_balancing exporter fails the batch, which is dropped
        "agent_dropped": sum(m.sum("otelcol_exporter_send_failed_spans") for m in agents),
        "gateway_in": sum(Tier.metrics(g).sum("otelcol_receiver_accepted_spans") for g in tier.gateways),
        "jaeger_in": Tier.metrics(tier.jaeger).sum("otelcol_receiver_accepted_spans"),
        "cpu": {role: sum(_cpu_seconds(_pid(p)) for p in procs) for role, procs in roles.items()},
    }


def burst(otelcol: Path, seconds: float, limit_mib: int, check_interval: str, gomemlimit: str) -> dict:
    dead_gateway = f"127.0.0.1:{free_port()}"
    env = {
        "KUBETRACE_GATEWAY_ENDPOINTS": f"[{dead_gateway}]",
        "KUBETRACE_AGENT_MEMORY_LIMIT_MIB": str(limit_mib),
        "KUBETRACE_AGENT_MEMORY_SPIKE_MIB": str(max(1, limit_mib // 5)),
        "KUBETRACE_AGENT_MEMORY_CHECK_INTERVAL": check_interval,
        "GOMEMLIMIT": gomemlimit or "off",  # Go's own soft limit: the GC works harder near it
    }
    configs = (TIER_DIR / "agent.yaml", TIER_DIR / "resolver-static.yaml")
    with run_collector(configs, env, binary=otelcol) as agent:
        pid = agent.process.pid
        idle = _rss_mib(pid)
        load = Senders([agent.otlp_grpc_endpoint] * 2, seconds=seconds)
        peak, stop = [idle], threading.Event()

        def watch() -> None:
            while not stop.is_set():
                peak.append(_rss_mib(pid))
                time.sleep(0.05)

        watcher = threading.Thread(target=watch)
        watcher.start()
        load.go()
        sent = load.results()
        time.sleep(2.0)
        stop.set()
        watcher.join()
        metrics = Tier.metrics(agent)
    return {
        "limit_mib": limit_mib,
        "check_interval": check_interval,
        "gomemlimit": gomemlimit or "off",
        "burst_spans": sent["sent_spans"] + sent["refused_spans"],
        "accepted_spans": metrics.sum("otelcol_receiver_accepted_spans"),
        "refused_spans": metrics.sum("otelcol_receiver_refused_spans"),
        "rss_idle_mib": round(idle),
        "rss_peak_mib": round(max(peak)),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=["throughput", "burst", "all"], default="all")
    parser.add_argument("--gateways", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--senders", type=int, default=2)
    parser.add_argument("--burst-seconds", type=float, default=5.0)
    parser.add_argument("--limit-mib", type=int, nargs="+", default=[150, 4000])
    parser.add_argument("--check-interval", nargs="+", default=["1s"])
    parser.add_argument("--gomemlimit", nargs="+", default=["", "150MiB"], help='"" leaves it unset')
    parser.add_argument("--sender", help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sender:
        sender(args.sender, args.seconds, args.threads)
        return 0

    otelcol, jaeger = otelcol_binary(), jaeger_binary()
    if otelcol is None or jaeger is None:
        print(
            "needs Go (or built .build/bin/otelcol and jaeger): collector-config/build-*.sh", file=sys.stderr
        )
        return 2
    print(f"# {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")
    if args.part in ("throughput", "all"):
        for gateways in args.gateways:
            print(json.dumps(throughput(otelcol, jaeger, gateways, args.seconds, args.senders)), flush=True)
    if args.part in ("burst", "all"):
        for limit in args.limit_mib:
            for interval in args.check_interval:
                for gomemlimit in args.gomemlimit:
                    result = burst(otelcol, args.burst_seconds, limit, interval, gomemlimit)
                    print(json.dumps(result), flush=True)
    print(f"# load average {os.getloadavg()[0]:.1f} at end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
