"""e2e fixtures: the Jaeger v2 binary, and the collector tier's otelcol and k8scheck, built
before the first e2e test runs.

The builds (collector-config/build-jaeger.sh, build-otelcol.sh) happen in
pytest_collection_finish, outside any test, so pytest-timeout's per-test limit does not cut a
cold build short; otelcol and k8scheck only when a collected test asks for them. Without Go and
without a binary the e2e tests skip, or fail under CI=true.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import pytest

try:
    from backends import BuildError, jaeger_binary, k8scheck_binary, otelcol_binary, require_or_skip
except ImportError:  # tests/ is on sys.path under pytest's default (prepend) import mode
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from backends import BuildError, jaeger_binary, k8scheck_binary, otelcol_binary, require_or_skip

_state: dict[str, object] = {}
# fixture name -> how to find or build its Go program (built once per session, before the tests)
_TIER_BUILDS = {"otelcol_bin": otelcol_binary, "k8scheck_bin": k8scheck_binary}


def _wants_jaeger(session: pytest.Session) -> bool:
    return any(item.get_closest_marker("e2e") is not None for item in session.items)


def pytest_collection_finish(session: pytest.Session) -> None:
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    wanted = {name for item in session.items for name in getattr(item, "fixturenames", ())}
    for fixture in sorted(wanted & _TIER_BUILDS.keys()):
        took = _build_tier_program(fixture)
        if reporter is not None and took > 1 and isinstance(_state[fixture], Path):
            reporter.write_line(f"e2e: built {_state[fixture]} in {took:.0f}s")
    if "result" in _state or not _wants_jaeger(session):
        return
    started = time.monotonic()
    try:
        _state["result"] = jaeger_binary(build=True)
    except BuildError as exc:
        _state["result"] = exc
    if reporter is not None and isinstance(_state["result"], Path):
        took = time.monotonic() - started
        if took > 1:
            reporter.write_line(f"e2e: built {_state['result']} in {took:.0f}s")


@pytest.fixture(scope="session")
def jaeger_bin() -> Path:
    """Path of the Jaeger v2 binary; skip (fail in CI) when it cannot be had."""
    if "result" not in _state:  # e.g. collected without the e2e marker
        try:
            _state["result"] = jaeger_binary(build=True)
        except BuildError as exc:
            _state["result"] = exc
    result = _state["result"]
    if isinstance(result, BuildError):
        pytest.fail(f"building Jaeger failed: {result}", pytrace=False)
    if result is None:
        why = "Go is not on PATH" if shutil.which("go") is None else "not built"
        require_or_skip("jaeger", f"no .build/bin/jaeger and {why}; run collector-config/build-jaeger.sh")
    return result  # type: ignore[return-value]


def _build_tier_program(fixture: str) -> float:
    started = time.monotonic()
    if fixture not in _state:
        try:
            _state[fixture] = _TIER_BUILDS[fixture]()
        except BuildError as exc:
            _state[fixture] = exc
    return time.monotonic() - started


def _tier_program(fixture: str) -> Path:
    _build_tier_program(fixture)
    result = _state[fixture]
    name = fixture.removesuffix("_bin")
    if isinstance(result, BuildError):
        pytest.fail(f"building {name} failed: {result}", pytrace=False)
    if result is None:
        why = "Go is not on PATH" if shutil.which("go") is None else "not built"
        require_or_skip(name, f"no .build/bin/{name} and {why}; run collector-config/build-otelcol.sh")
    return result  # type: ignore[return-value]


@pytest.fixture(scope="session")
def otelcol_bin() -> Path:
    """Path of the collector tier's OpenTelemetry Collector; skip (fail in CI) when it cannot be had."""
    return _tier_program("otelcol_bin")


@pytest.fixture(scope="session")
def k8scheck_bin() -> Path:
    """Path of the Kubernetes manifest checker; skip (fail in CI) when it cannot be had."""
    return _tier_program("k8scheck_bin")
