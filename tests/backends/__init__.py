"""Real tracing backends for tests: the Jaeger v2 binary built from its Go module, run on
free loopback ports with the configs in collector-config/.

    from backends import jaeger_binary, run_jaeger, run_collector, require_or_skip

    bin = jaeger_binary() or require_or_skip("jaeger", "Go is not installed")
    with run_jaeger() as jaeger:                      # collector-config/jaeger.yaml
        ... export OTLP to jaeger.otlp_grpc_endpoint ...
        trace = jaeger.wait_for_trace(trace_id_hex)

Only the standard library and pytest are used.
"""

from __future__ import annotations

from ._binary import CONFIG_DIR, REPO_ROOT, BuildError, jaeger_binary, run_build_script
from ._metrics import Metrics, scrape
from ._otelcol import k8scheck_binary, otelcol_binary
from ._ports import assign_ports, free_port, listen_vars
from ._process import TEST_DEFAULTS, Collector, Jaeger, StartError, get_json, run_collector, run_jaeger
from ._skip import in_ci, require_or_skip
from ._tier import TIER_DIR, Tier, TierSpec

__all__ = [
    "CONFIG_DIR",
    "REPO_ROOT",
    "TEST_DEFAULTS",
    "TIER_DIR",
    "BuildError",
    "Collector",
    "Jaeger",
    "Metrics",
    "StartError",
    "Tier",
    "TierSpec",
    "assign_ports",
    "free_port",
    "get_json",
    "in_ci",
    "jaeger_binary",
    "k8scheck_binary",
    "listen_vars",
    "otelcol_binary",
    "require_or_skip",
    "run_build_script",
    "run_collector",
    "run_jaeger",
    "scrape",
]
