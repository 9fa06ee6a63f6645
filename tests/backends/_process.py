"""Run the Jaeger v2 binary with a collector-config/ file on free loopback ports."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from testkit import stop_process

from ._binary import CONFIG_DIR, jaeger_binary
from ._ports import assign_ports, listen_vars

# What the tests want unless they say otherwise: the shared strategies file by absolute
# path, tail sampling that keeps everything and decides quickly.
TEST_DEFAULTS = {
    "KUBETRACE_SAMPLING_STRATEGIES": str(CONFIG_DIR / "sampling-strategies.json"),
    "KUBETRACE_TAIL_PROBABILISTIC_PERCENT": "100",
    "KUBETRACE_TAIL_DECISION_WAIT": "1s",
}

LOG_TAIL_LINES = 60
STOP_GRACE_S = 5.0


class StartError(RuntimeError):
    """The binary exited or never became healthy; the message carries its log tail."""


def _http(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    req = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def get_json(url: str, timeout: float = 5.0) -> tuple[int, Any]:
    """(HTTP status, parsed JSON body or text) of GET url; HTTP errors are returned, not raised."""
    status, body = _http(url, timeout)
    try:
        return status, json.loads(body) if body else None
    except ValueError:
        return status, body.decode("utf-8", "replace")


class Collector:
    """One running binary. `ports` maps each listen variable to what it was set to.

    `config` is the main file; `more_configs` are merged after it, in order (the Collector's own
    `--config a --config b`), as collector-config/tier/ adds a resolver to its agent."""

    def __init__(
        self,
        config: Path,
        binary: Path,
        env: dict[str, str],
        ports: dict[str, str],
        more_configs: tuple[Path, ...] = (),
    ):
        self.config = config
        self.more_configs = more_configs
        self.binary = binary
        self.env = env
        self.ports = ports
        self.process: subprocess.Popen | None = None
        self._log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed in stop()
            prefix=f"kubetrace-{config.stem}-", suffix=".log", delete=False
        )
        self.log_path = Path(self._log.name)

    # --- addresses -------------------------------------------------------------------
    def addr(self, var: str) -> str:
        """host:port a listen variable was set to (KeyError if the config has no such var)."""
        return self.env[var]

    def _addr_ending(self, suffix: str) -> str:
        hits = [v for v in self.ports if v.endswith(suffix)]
        if len(hits) != 1:
            raise KeyError(f"{self.config.name}: expected one listen var ending {suffix}, got {hits}")
        return self.env[hits[0]]

    @property
    def otlp_grpc_endpoint(self) -> str:
        return self._addr_ending("_OTLP_GRPC")

    @property
    def otlp_http_endpoint(self) -> str:
        return "http://" + self._addr_ending("_OTLP_HTTP")

    @property
    def health_url(self) -> str:
        return f"http://{self._addr_ending('_HEALTH')}/status"

    @property
    def metrics_url(self) -> str:
        """The Prometheus endpoint of the binary's own telemetry (service.telemetry.metrics)."""
        port = self._addr_ending("_METRICS_PORT")
        host_var = next(v for v in self.ports if v.endswith("_METRICS_PORT"))[: -len("PORT")] + "HOST"
        return f"http://{self.env.get(host_var, '127.0.0.1')}:{port}/metrics"

    # --- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        args = [str(self.binary)]
        for path in (self.config, *self.more_configs):
            args += ["--config", str(path)]
        self.process = subprocess.Popen(
            args,
            cwd=CONFIG_DIR.parent,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def _ready(self) -> bool:
        try:
            status, _ = _http(self.health_url, timeout=2)
        except OSError:
            return False
        return status == 200

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise StartError(
                    f"{self.binary.name} --config {self.config.name} exited with "
                    f"{self.process.returncode if self.process else '?'}\n{self.log_tail()}"
                )
            if self._ready():
                return
            time.sleep(0.1)
        raise StartError(
            f"{self.binary.name} --config {self.config.name} not healthy after {timeout:.0f}s\n{self.log_tail()}"
        )

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL after a grace period. Returns the exit code."""
        proc = self.process
        if proc is not None:
            stop_process(proc, STOP_GRACE_S)
        if not self._log.closed:
            self._log.close()
        return proc.returncode if proc is not None else None

    # --- log -----------------------------------------------------------------------------
    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        tail = self.log().splitlines()[-lines:]
        return f"--- last {len(tail)} lines of {self.log_path} ---\n" + "\n".join(tail)

    def address_in_use(self) -> bool:
        return "address already in use" in self.log()


class Jaeger(Collector):
    """A running Jaeger v2 (collector-config/jaeger.yaml or similar) and its query API."""

    @property
    def query_url(self) -> str:
        return "http://" + self.env["KUBETRACE_JAEGER_QUERY"]

    @property
    def sampling_url(self) -> str:
        """The remote_sampling extension's HTTP endpoint; add ?service=NAME.

        Jaeger v2 serves any path on this port (v1's collector used /api/sampling, the v1
        agent /sampling); /sampling is the conventional one."""
        return f"http://{self.env['KUBETRACE_JAEGER_SAMPLING_HTTP']}/sampling"

    @property
    def sampling_grpc_endpoint(self) -> str:
        return self.env["KUBETRACE_JAEGER_SAMPLING_GRPC"]

    def _ready(self) -> bool:
        if not super()._ready():
            return False
        try:
            status, _ = _http(self.query_url + "/api/services", timeout=2)
        except OSError:
            return False
        return status == 200

    def _api(self, path: str, **params: Any) -> tuple[int, Any]:
        query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None}, doseq=True)
        return get_json(self.query_url + path + (f"?{query}" if query else ""))

    def services(self) -> list[str]:
        status, body = self._api("/api/services")
        if status != 200:
            raise RuntimeError(f"GET /api/services: {status} {body}")
        return sorted((body or {}).get("data") or [])

    def operations(self, service: str) -> list[str]:
        status, body = self._api(f"/api/services/{urllib.parse.quote(service, safe='')}/operations")
        if status != 200:
            raise RuntimeError(f"GET operations of {service}: {status} {body}")
        return sorted((body or {}).get("data") or [])

    def traces(self, service: str, **params: Any) -> list[dict]:
        """GET /api/traces?service=...&<params> (lookback, limit, operation, tags, ...)."""
        params.setdefault("limit", 100)
        status, body = self._api("/api/traces", service=service, **params)
        if status != 200:
            raise RuntimeError(f"GET /api/traces?service={service}: {status} {body}")
        return (body or {}).get("data") or []

    def trace(self, trace_id_hex: str) -> dict | None:
        """GET /api/traces/{id}: the trace ({traceID, spans, processes}) or None if unknown."""
        status, body = self._api(f"/api/traces/{trace_id_hex.lower()}")
        if status == 404:
            return None
        if status != 200:
            raise RuntimeError(f"GET /api/traces/{trace_id_hex}: {status} {body}")
        data = (body or {}).get("data") or []
        return data[0] if data else None

    def wait_for_trace(self, trace_id_hex: str, min_spans: int = 1, timeout: float = 30) -> dict:
        """Poll until the trace has at least `min_spans` spans; TimeoutError (with the log) if not."""
        deadline = time.monotonic() + timeout
        last: dict | None = None
        while True:
            last = self.trace(trace_id_hex)
            if last is not None and len(last.get("spans") or []) >= min_spans:
                return last
            if time.monotonic() >= deadline:
                have = len(last.get("spans") or []) if last else 0
                raise TimeoutError(
                    f"trace {trace_id_hex}: {have} span(s) after {timeout:.0f}s, wanted {min_spans}; "
                    f"services={self.services()}\n{self.log_tail()}"
                )
            time.sleep(0.25)

    def sampling_strategy(self, service: str) -> tuple[int, Any]:
        """(status, JSON) of GET sampling_url?service=NAME."""
        return get_json(self.sampling_url + "?" + urllib.parse.urlencode({"service": service}))

    @staticmethod
    def service_names(trace: dict) -> set[str]:
        return {p.get("serviceName") for p in (trace.get("processes") or {}).values()}


def _config_path(config: str | os.PathLike) -> Path:
    path = Path(config)
    if not path.is_absolute() and not path.exists():
        path = CONFIG_DIR / path
    if not path.is_file():
        raise FileNotFoundError(path)
    return path.resolve()


@contextlib.contextmanager
def _run(
    cls: type[Collector],
    config: str | os.PathLike | Sequence[str | os.PathLike],
    env: Mapping[str, str] | None,
    binary: Path | None,
    ready_timeout: float,
    attempts: int = 3,
) -> Iterator[Collector]:
    configs = [config] if isinstance(config, (str, os.PathLike)) else list(config)
    path, *more = (_config_path(c) for c in configs)
    binary = binary or jaeger_binary()
    if binary is None:
        raise StartError("no Jaeger binary (Go not installed?); see collector-config/build-jaeger.sh")

    for attempt in range(1, attempts + 1):
        full_env = dict(os.environ)
        full_env.update(TEST_DEFAULTS)
        explicit = dict(env or {})
        for each in (path, *more):
            ports = assign_ports(each, explicit)
            full_env.update(ports)
            explicit.update(ports)
        full_env.update(explicit)
        listening = [name for each in (path, *more) for name in listen_vars(each)]
        proc = cls(path, binary, full_env, {k: full_env[k] for k in listening}, tuple(more))
        proc.start()
        try:
            proc.wait_ready(ready_timeout)
        except StartError:
            proc.stop()
            # Another process took a port between free_port() and bind: try fresh ports.
            if attempt < attempts and proc.address_in_use():
                proc.log_path.unlink(missing_ok=True)
                continue
            raise
        except BaseException:  # KeyboardInterrupt, pytest-timeout: never leave it running
            proc.stop()
            raise
        break

    failed = False
    try:
        yield proc
    except BaseException as exc:
        failed = True
        if hasattr(exc, "add_note"):
            exc.add_note(f"{path.name} log:\n{proc.log_tail()}")
        raise
    finally:
        proc.stop()
        if not failed and not os.environ.get("KUBETRACE_KEEP_LOGS"):
            proc.log_path.unlink(missing_ok=True)


def run_jaeger(
    config: str | os.PathLike = "jaeger.yaml",
    env_overrides: Mapping[str, str] | None = None,
    *,
    binary: Path | None = None,
    ready_timeout: float = 60,
) -> contextlib.AbstractContextManager[Jaeger]:
    """Start Jaeger v2 with `config` (relative to collector-config/) on free loopback ports,
    wait until /status and /api/services answer, yield a Jaeger, stop it on exit.

    Test defaults (TEST_DEFAULTS: keep 100 %, decide after 1 s, the shared strategies file)
    apply unless `env_overrides` says otherwise; so do explicit listen addresses."""
    return _run(Jaeger, config, env_overrides, binary, ready_timeout)  # type: ignore[return-value]


def run_collector(
    config_name: str | os.PathLike | Sequence[str | os.PathLike],
    env: Mapping[str, str] | None = None,
    *,
    binary: Path | None = None,
    ready_timeout: float = 60,
) -> contextlib.AbstractContextManager[Collector]:
    """Like run_jaeger for a pipeline-only config (agent.yaml, gateway.yaml): the same
    binary, every listen variable on a free port, ready when its health check says so.
    Outbound targets (KUBETRACE_*_ENDPOINT) come from `env`. A list of configs is merged in
    order (e.g. tier/agent.yaml then tier/resolver-static.yaml, with binary=otelcol)."""
    return _run(Collector, config_name, env, binary, ready_timeout)
