"""collector-config/tier/ checked against the binaries that run it: agent and gateway on
otelcol (the agent with either resolver merged in), Jaeger with Badger on the Jaeger binary.
The same tail-sampling policies are in every config that samples."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from backends import CONFIG_DIR, TEST_DEFAULTS, TIER_DIR, assign_ports

pytestmark = pytest.mark.e2e

OTELCOL_CONFIGS = {
    "agent+static": ("agent.yaml", "resolver-static.yaml"),
    "agent+dns": ("agent.yaml", "resolver-dns.yaml"),
    "gateway": ("gateway.yaml",),
}
SAMPLING_CONFIGS = (TIER_DIR / "gateway.yaml", CONFIG_DIR / "gateway.yaml", CONFIG_DIR / "jaeger.yaml")


def _validate(binary: Path, configs: list[Path]) -> subprocess.CompletedProcess:
    env = dict(os.environ, **TEST_DEFAULTS)
    args = [str(binary), "validate"]
    for path in configs:
        env.update(assign_ports(path, {}))
        args += ["--config", str(path)]
    return subprocess.run(
        args, cwd=CONFIG_DIR.parent, env=env, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.parametrize("name", sorted(OTELCOL_CONFIGS))
def test_otelcol_validates_tier_config(otelcol_bin, name):
    proc = _validate(otelcol_bin, [TIER_DIR / f for f in OTELCOL_CONFIGS[name]])
    assert proc.returncode == 0, f"{name}:\n{proc.stdout}\n{proc.stderr}"


def test_jaeger_validates_tier_jaeger_config(jaeger_bin):
    proc = _validate(jaeger_bin, [TIER_DIR / "jaeger.yaml"])
    assert proc.returncode == 0, f"{proc.stdout}\n{proc.stderr}"


def test_agent_without_a_resolver_is_refused(otelcol_bin):
    proc = _validate(otelcol_bin, [TIER_DIR / "agent.yaml"])
    assert proc.returncode != 0
    assert "resolver" in proc.stdout + proc.stderr


def test_validate_rejects_a_broken_tier_config(otelcol_bin, tmp_path):
    broken = tmp_path / "gateway.yaml"
    broken.write_text((TIER_DIR / "gateway.yaml").read_text().replace("threshold_ms:", "threshold_mss:"))
    proc = _validate(otelcol_bin, [broken])
    assert proc.returncode != 0
    assert "threshold_mss" in proc.stdout + proc.stderr


@pytest.mark.parametrize("path", sorted(TIER_DIR.glob("*.yaml")), ids=lambda p: p.name)
def test_every_tier_address_is_env_overridable(path):
    """Listen addresses, targets, resolver names and storage paths all come from KUBETRACE_* variables."""
    keys = r"endpoint|port|host|hostname|hostnames|path"
    for lineno, line in enumerate(path.read_text().splitlines(), 1):
        code = line.split("#", 1)[0]
        match = re.match(rf"\s*({keys}):\s*(\S.*)$", code)
        if match and not match.group(2).startswith("/"):  # an HTTP path such as /status
            assert "${env:KUBETRACE_" in match.group(2), f"{path.name}:{lineno}: {line.strip()}"


def test_badger_directories_are_env_overridable():
    storage = yaml.safe_load((TIER_DIR / "jaeger.yaml").read_text())["extensions"]["jaeger_storage"]
    badger = storage["backends"]["badger_store"]["badger"]
    assert badger["ephemeral"] is False
    for directory in badger["directories"].values():
        assert directory.startswith("${env:KUBETRACE_JAEGER_BADGER_DIR:-"), directory


def _policies(path: Path) -> list[tuple[str, str]]:
    doc = yaml.safe_load(path.read_text())
    return [(p["name"], p["type"]) for p in doc["processors"]["tail_sampling"]["policies"]]


def test_every_sampling_config_has_the_same_policies():
    want = [
        ("errors", "status_code"),
        ("slow", "latency"),
        ("on-demand", "boolean_attribute"),
        ("strategy", "string_attribute"),
        ("share", "probabilistic"),
    ]
    for path in SAMPLING_CONFIGS:
        assert _policies(path) == want, path
