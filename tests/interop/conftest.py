"""Interop fixtures: the Go peer (interop/gopeer) built once per session, Go servers stopped after
each test, and a Python tracer provider exporting to the same in-process OTLP receiver as the Go
peers, so that one receiver holds the spans of both languages.

gopeer is built (interop/build-gopeer.sh, which reuses an up-to-date binary) in
pytest_collection_finish, outside any test, so pytest-timeout's per-test limit does not cut a cold
build short. Without Go and without a binary the tests skip, or fail under CI=true.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from opentelemetry import propagate

import tracing

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _gopeer import BuildError, GoServer, go_env, gopeer_binary, gopeer_path
from _pypeers import PY_SERVICE
from backends import require_or_skip

_state: dict[str, object] = {}


def _wants_gopeer(session: pytest.Session) -> bool:
    return any(item.get_closest_marker("interop") is not None for item in session.items)


def _build() -> None:
    try:
        _state["result"] = gopeer_binary()
    except BuildError as exc:
        _state["result"] = exc


def pytest_collection_finish(session: pytest.Session) -> None:
    if "result" in _state or not _wants_gopeer(session):
        return
    started = time.monotonic()
    _build()
    took = time.monotonic() - started
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None and isinstance(_state["result"], Path) and took > 1:
        reporter.write_line(f"interop: built {_state['result']} in {took:.0f}s")


@pytest.fixture(scope="session")
def gopeer() -> Path:
    """Path of the gopeer binary; skip (fail under CI=true) when it cannot be had."""
    if "result" not in _state:
        _build()
    result = _state["result"]
    if isinstance(result, BuildError):
        pytest.fail(f"building gopeer failed: {result}", pytrace=False)
    if result is None:
        require_or_skip(
            "go",
            f"Go is not on PATH and there is no {gopeer_path()}; install Go >= 1.26 (interop/build-gopeer.sh)",
        )
    return result  # type: ignore[return-value]


@pytest.fixture
def go_server(gopeer: Path, otlp_receiver) -> Iterator[Callable[..., GoServer]]:
    """start(command, service, *args, propagators=..., env={...}) -> a running GoServer exporting to the
    test's receiver as `service`. Every server started is stopped (SIGTERM, then SIGKILL) when the test ends, and must
    have exited 0; its stderr is attached to a failing test."""
    started: list[GoServer] = []

    def start(
        command: str,
        service: str,
        *args: str,
        propagators: str = "tracecontext,baggage",
        env: dict[str, str] | None = None,
    ) -> GoServer:
        server = GoServer.start(gopeer, command, go_env(otlp_receiver, service, propagators, env), *args)
        started.append(server)
        return server

    yield start
    codes = {}
    for server in reversed(started):
        codes[server.command + " " + server.address] = server.stop()
    logs = "\n".join(s.log() for s in started)
    for server in started:
        server.remove_log()
    bad = {k: v for k, v in codes.items() if v != 0}
    assert not bad, f"gopeer servers did not exit 0 on SIGTERM: {bad}\n{logs}"


@pytest.fixture
def py_tracing(otlp_receiver) -> Iterator[tracing.Tracing]:
    """kubetrace's own setup(), exporting over OTLP/gRPC to the test's receiver; shut down after.
    Pass `py_tracing.provider` to the interceptors so the spans go there even if some other
    provider is global."""
    assert tracing.active() is None, "tracing.setup() is already active; an earlier test did not shut down"
    handle = tracing.setup(
        service_name=PY_SERVICE,
        endpoint=otlp_receiver.grpc_endpoint,
        insecure=True,
        bsp_schedule_delay_ms=100,
        sampler="parentbased_always_on",
        propagators=("tracecontext", "baggage"),
        trust_incoming="all",
        parent_from_env=False,
    )
    assert handle.provider is not None, "setup() installed no provider (OTEL_SDK_DISABLED?)"
    try:
        yield handle
    finally:
        assert tracing.shutdown(), "tracing.shutdown() did not finish in time"


@pytest.fixture
def use_propagators() -> Callable[[str], contextlib.AbstractContextManager[None]]:
    """use_propagators("b3multi") -> a context manager making tracing.build_propagator(names) the
    global textmap; the previous one is restored on exit."""

    @contextlib.contextmanager
    def use(names: str) -> Iterator[None]:
        before = propagate.get_global_textmap()
        propagate.set_global_textmap(tracing.build_propagator(tuple(names.split(","))))
        try:
            yield
        finally:
            propagate.set_global_textmap(before)

    return use
