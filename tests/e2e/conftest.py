"""e2e fixtures: the Jaeger v2 binary, built before the first e2e test runs.

The build (collector-config/build-jaeger.sh) happens in pytest_collection_finish, outside any
test, so pytest-timeout's per-test limit does not cut a cold build short. Without Go and
without a binary the e2e tests skip, or fail under CI=true.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import pytest

try:
    from backends import BuildError, jaeger_binary, require_or_skip
except ImportError:  # tests/ is on sys.path under pytest's default (prepend) import mode
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from backends import BuildError, jaeger_binary, require_or_skip

_state: dict[str, object] = {}


def _wants_jaeger(session: pytest.Session) -> bool:
    return any(item.get_closest_marker("e2e") is not None for item in session.items)


def pytest_collection_finish(session: pytest.Session) -> None:
    if "result" in _state or not _wants_jaeger(session):
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
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
