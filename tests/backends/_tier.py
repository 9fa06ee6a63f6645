"""Run the scale-out collector tier of collector-config/tier/ on loopback: node agents that
route by trace ID (static resolver) to tail-sampling gateways, in front of Jaeger with Badger.

    with Tier(TierSpec(badger_dir=tmp, gateways=3, agents=2), otelcol, jaeger) as tier:
        export OTLP to tier.agents[0].otlp_grpc_endpoint ...
        tier.kill_gateway(1); tier.restart_gateway(1); tier.restart_jaeger()

Every process started here is stopped when the `with` block ends.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ._binary import CONFIG_DIR
from ._metrics import Metrics, scrape
from ._process import Collector, Jaeger, run_collector, run_jaeger

TIER_DIR = CONFIG_DIR / "tier"
AGENT_CONFIGS = (TIER_DIR / "agent.yaml", TIER_DIR / "resolver-static.yaml")
GATEWAY_CONFIG = TIER_DIR / "gateway.yaml"
JAEGER_CONFIG = TIER_DIR / "jaeger.yaml"


@dataclass(frozen=True)
class TierSpec:
    """What to start: counts, where Badger keeps its files, and extra environment per role
    (tail-sampling policy knobs for the gateways, memory limits for the agents, ...)."""

    badger_dir: Path
    gateways: int = 3
    agents: int = 2
    gateway_env: Mapping[str, str] = field(default_factory=dict)
    agent_env: Mapping[str, str] = field(default_factory=dict)
    jaeger_env: Mapping[str, str] = field(default_factory=dict)


class Tier:
    def __init__(self, spec: TierSpec, otelcol: Path, jaeger: Path):
        self.spec = spec
        self.otelcol = otelcol
        self.jaeger_bin = jaeger
        self._stack = contextlib.ExitStack()
        self.jaeger: Jaeger
        self.gateways: list[Collector] = []
        self.agents: list[Collector] = []

    # --- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> Tier:
        try:
            self.jaeger = self._start_jaeger({})
            self.gateways = [self._start_gateway({}) for _ in range(self.spec.gateways)]
            endpoints = "[" + ", ".join(g.otlp_grpc_endpoint for g in self.gateways) + "]"
            for i in range(self.spec.agents):
                env = {
                    **self.spec.agent_env,
                    "KUBETRACE_GATEWAY_ENDPOINTS": endpoints,
                    "K8S_NODE_NAME": f"node-{i}",
                }
                self.agents.append(
                    self._stack.enter_context(run_collector(AGENT_CONFIGS, env, binary=self.otelcol))
                )
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self._stack.close()

    def _start_jaeger(self, ports: Mapping[str, str]) -> Jaeger:
        env = {**self.spec.jaeger_env, "KUBETRACE_JAEGER_BADGER_DIR": str(self.spec.badger_dir), **ports}
        return self._stack.enter_context(run_jaeger(JAEGER_CONFIG, env, binary=self.jaeger_bin))

    def _start_gateway(self, ports: Mapping[str, str]) -> Collector:
        env = {**self.spec.gateway_env, "KUBETRACE_JAEGER_ENDPOINT": self.jaeger.otlp_grpc_endpoint, **ports}
        return self._stack.enter_context(run_collector(GATEWAY_CONFIG, env, binary=self.otelcol))

    # --- failures ------------------------------------------------------------------------------
    def kill_gateway(self, index: int) -> None:
        """SIGKILL: the gateway loses whatever it held, as a crashed or OOM-killed pod does."""
        process = self.gateways[index].process
        assert process is not None
        process.kill()
        process.wait(10)

    def restart_gateway(self, index: int) -> Collector:
        """Start the gateway again on the same ports (the agents' static list names them)."""
        old = self.gateways[index]
        self.gateways[index] = self._start_gateway({k: old.env[k] for k in old.ports})
        return self.gateways[index]

    def restart_jaeger(self) -> Jaeger:
        """Stop Jaeger (SIGTERM, as a rolling update does) and start it again on the same ports
        with the same Badger directory."""
        old = self.jaeger
        old.stop()
        self.jaeger = self._start_jaeger({k: old.env[k] for k in old.ports})
        return self.jaeger

    # --- metrics -------------------------------------------------------------------------------
    @staticmethod
    def metrics(collector: Collector) -> Metrics:
        return scrape(collector.metrics_url)
