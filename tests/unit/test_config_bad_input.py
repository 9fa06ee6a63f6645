"""The bad-configuration corpus: what a careless operator writes, and the one line each gets back.

Every case goes through each door an operator uses, and must give the same answer there:
- a bad file: one `FILE: field: message` line from `kubetrace validate` (exit 1), from
  `kubetrace config` (exit 1) when KUBETRACE_CONFIG names it, and as tracing.ConfigError from setup()
  (a strategies file: from validate and from setup(sampler="jaeger_file")), in bounded time;
- a bad environment variable: one warning naming the variable, the value and the fallback, from
  `kubetrace config` and setup(), which then work with the fallback and export what they trace;
- a bad setup() argument: tracing.ConfigError naming the argument.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from opentelemetry import trace

import tracing
from kubetrace_cli.cli import main as kubetrace
from tracing.config import resolve

CHECKOUT = str(Path(__file__).resolve().parents[2])
K8S = "apiVersion: apiserver.config.k8s.io/v1\nkind: TracingConfiguration\n"
K8S_JSON = '{"apiVersion": "apiserver.config.k8s.io/v1", "kind": "TracingConfiguration", '
STRATEGY = '{"default_strategy": {"type": "probabilistic", "param": '
DEEP_FLOW = "endpoint: " + "[" * 20000 + "]" * 20000 + "\n"
DEEP_BLOCK = "endpoint:\n  " + "- " * 20000 + "x\n"


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    """Each anchor holds `width` aliases of the one before: width**levels nodes in a few hundred bytes."""
    lines = ["a0: &a0 [" + ",".join(["x"] * width) + "]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _directory(path: Path) -> None:
    path.mkdir()


def _bytes(content: str | bytes) -> Callable[[Path], None]:
    data = content.encode() if isinstance(content, str) else content
    return lambda path: path.write_bytes(data)


@dataclass(frozen=True)
class BadFile:
    name: str
    make: Callable[[Path], None]
    message: str  # the line after "PATH: "
    strategies: bool = False  # a Jaeger sampling strategies file rather than a Kubernetes one


BAD_FILES = [
    BadFile(
        "not-utf8.yaml",
        _bytes(K8S.encode() + b"endpoint: \xff\xfe\n"),
        "not UTF-8 text: invalid start byte at byte 76",
    ),
    BadFile(
        "rate-5000-digits.yaml",
        _bytes(K8S + "samplingRatePerMillion: " + "9" * 5000 + "\n"),
        "samplingRatePerMillion: must be an integer (int32), got string '"
        + "9" * 79
        + "... (5002 characters)",
    ),
    BadFile(
        "rate-5000-digits.json",
        _bytes(K8S_JSON + '"samplingRatePerMillion": ' + "9" * 5000 + "}"),
        "samplingRatePerMillion: must be an integer (int32), got number inf",
    ),
    BadFile(
        "deep-flow-20k.yaml",
        _bytes(K8S + DEEP_FLOW),
        "not valid YAML or JSON at line 3, column 111: nested more than 100 levels deep",
    ),
    BadFile(
        "deep-block-20k.yaml",
        _bytes(K8S + DEEP_BLOCK),
        "not valid YAML or JSON at line 4, column 201: nested more than 100 levels deep",
    ),
    BadFile(
        "deep-100k.json",
        _bytes(K8S_JSON + '"endpoint": ' + "[" * 100000 + "]" * 100000 + "}"),
        "arrays and objects nested too deeply to decode",
    ),
    BadFile(
        "alias-bomb.yaml",
        _bytes(K8S + alias_bomb()),
        "not valid YAML or JSON at line 6, column 22: document contains excessive aliasing",
    ),
    BadFile(
        "alias-in-itself.yaml",
        _bytes(K8S + "endpoint: &e [*e]\n"),
        "not valid YAML or JSON at line 3, column 15: anchor 'e' value contains itself",
    ),
    BadFile(
        "named-pipe.yaml",
        _fifo,
        "cannot read file: not a regular file (a named pipe); give the path of a file",
    ),
    BadFile("a-directory.yaml", _directory, "cannot read file: Is a directory"),
    BadFile(
        "over-1MiB.yaml",
        _bytes(K8S + "#" * (1 << 20)),
        "cannot read file: larger than 1048576 bytes (1 MiB, the size limit of a ConfigMap)",
    ),
    BadFile(
        "rate-nan.yaml",
        _bytes(K8S + "samplingRatePerMillion: .nan\n"),
        "samplingRatePerMillion: must be an integer (int32), got number nan",
    ),
    BadFile(
        "rate-1e400.yaml",
        _bytes(K8S + "samplingRatePerMillion: 1e400\n"),
        "samplingRatePerMillion: must be an integer (int32), got number inf",
    ),
    BadFile(
        "rate-negative.yaml",
        _bytes(K8S + "samplingRatePerMillion: -1\n"),
        "samplingRatePerMillion: Invalid value: -1: sampling rate must be positive",
    ),
    BadFile(
        "rate-list.yaml",
        _bytes(K8S + "samplingRatePerMillion: [100]\n"),
        "samplingRatePerMillion: must be an integer (int32), got array",
    ),
    BadFile(
        "endpoint-number.yaml", _bytes(K8S + "endpoint: 4317\n"), "endpoint: must be a string, got integer"
    ),
    BadFile(
        "endpoint-newline.yaml",
        _bytes(K8S + 'endpoint: "collector:4317\\n"\n'),
        'endpoint: Invalid value: "dns://collector:4317\\n": parse "dns://collector:4317\\n": '
        "net/url: invalid control character in URL",
    ),
    BadFile(
        "kind-list.yaml",
        _bytes("apiVersion: v1\nkind: [TracingConfiguration]\n"),
        "kind: must be a string, got array",
    ),
    BadFile(
        "not-utf8.json",
        _bytes(b'{"default_strategy": \xff}'),
        "not UTF-8 text: invalid start byte at byte 21",
        True,
    ),
    BadFile(
        "param-5000-digits.json",
        _bytes(STRATEGY + "9" * 5000 + "}}"),
        "default_strategy.param: must be a finite number, got Infinity",
        True,
    ),
    BadFile(
        "param-nan.json",
        _bytes(STRATEGY + "NaN}}"),
        "default_strategy.param: must be a finite number, got NaN",
        True,
    ),
    BadFile(
        "deep-100k-strategies.json",
        _bytes('{"default_strategy": ' + "[" * 100000 + "]" * 100000 + "}"),
        "arrays and objects nested too deeply to decode",
        True,
    ),
    BadFile(
        "strategies-pipe.json",
        _fifo,
        "cannot read file: not a regular file (a named pipe); give the path of a file",
        True,
    ),
    BadFile(
        "strategies-over-1MiB.json",
        _bytes(STRATEGY + "0.5" + " " * (1 << 20) + "}}"),
        "cannot read file: larger than 1048576 bytes (1 MiB, the size limit of a ConfigMap)",
        True,
    ),
]

# A whole test run must not hang on a file that blocks: each case answers at once or fails here.
pytestmark = [pytest.mark.timeout(120), pytest.mark.usefixtures("no_setup_leaks")]


@pytest.fixture
def clean_env(monkeypatch):
    """No OTEL_*/KUBETRACE_* variable from the machine running the tests."""
    for name in list(os.environ):
        if name.startswith(("OTEL_", "KUBETRACE_")):
            monkeypatch.delenv(name)
    return monkeypatch


def _made(tmp_path: Path, case: BadFile) -> Path:
    path = tmp_path / case.name
    case.make(path)
    return path


@pytest.mark.parametrize("case", BAD_FILES, ids=lambda c: c.name)
def test_validate_prints_one_line_and_exits_1(case, tmp_path, capsys):
    path = _made(tmp_path, case)
    assert kubetrace(["validate", str(path)]) == 1
    out, err = capsys.readouterr()
    assert (out, err) == ("", f"{path}: {case.message}\n")


@pytest.mark.parametrize("case", [c for c in BAD_FILES if not c.strategies], ids=lambda c: c.name)
def test_config_with_the_file_prints_the_same_line_and_exits_1(case, tmp_path, capsys, clean_env):
    path = _made(tmp_path, case)
    clean_env.setenv("KUBETRACE_CONFIG", str(path))
    assert kubetrace(["config"]) == 1
    out, err = capsys.readouterr()
    assert (out, err) == ("", f"{path}: {case.message}\n")


@pytest.mark.parametrize("case", BAD_FILES, ids=lambda c: c.name)
def test_setup_raises_a_config_error_with_the_same_line(case, tmp_path, clean_env):
    path = _made(tmp_path, case)
    arguments = (
        {"sampler": "jaeger_file", "sampler_arg": str(path)}
        if case.strategies
        else {"config_file": str(path)}
    )
    with pytest.raises(tracing.ConfigError) as err:
        tracing.setup(**arguments)
    assert str(err.value) == f"{path}: {case.message}"


def _decode_seconds(path: Path) -> float:
    """The fastest of three `kubetrace validate` runs on `path`, in process."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        try:
            tracing.config.load_tracing_file(path)
        except tracing.ConfigError:
            pass
        best = min(best, time.perf_counter() - started)
    return best


@pytest.mark.parametrize(
    ("name", "hostile"),
    [
        ("alias-bomb", K8S + alias_bomb(12, 9)),
        ("deep-flow", K8S + DEEP_FLOW),
        ("deep-block", K8S + DEEP_BLOCK),
    ],
)
def test_a_hostile_file_costs_no_more_than_an_ordinary_file_of_its_size(name, hostile, tmp_path):
    """Bounded time, relative to a baseline measured in the same run: decoding the hostile file takes
    at most what a flat YAML list of the same size takes (a bomb expanded, or a scanner looking ahead
    over every open bracket, takes minutes to forever)."""
    hostile_path, flat_path = tmp_path / f"{name}.yaml", tmp_path / "flat.yaml"
    hostile_path.write_text(hostile)
    items = (len(hostile) - len(K8S) - len("endpoint: []\n")) // 2
    flat_path.write_text(K8S + "endpoint: [" + ",".join(["x"] * items) + "]\n")
    assert abs(flat_path.stat().st_size - hostile_path.stat().st_size) < 4
    assert _decode_seconds(hostile_path) <= _decode_seconds(flat_path) * 2


# --- environment variables: warn, name the variable, the value and the fallback ---------------------


@dataclass(frozen=True)
class BadVariable:
    env: dict[str, str]
    field: str
    fallback: object
    warning: str
    # False only where the fallback is the default endpoint, where no test collector listens.
    exported: bool = True

    @property
    def id(self) -> str:
        return ",".join(f"{k}={v[:12]}" for k, v in self.env.items())


_MS = "must be a whole number of milliseconds from 1 to 2147483647"
_COUNT = "must be a whole number from 1 to 2147483647"
_KNOWN_PROPAGATORS = "b3, b3multi, baggage, jaeger, none, tracecontext"
_ENDPOINT_FALLBACK = "using the configuration file's endpoint, else the default"

BAD_VARIABLES = [
    BadVariable(
        {"OTEL_BSP_SCHEDULE_DELAY": "²"},
        "bsp_schedule_delay_ms",
        5000,
        f'OTEL_BSP_SCHEDULE_DELAY: {_MS}, got "²"; using 5000',
    ),
    BadVariable(
        {"OTEL_BSP_SCHEDULE_DELAY": "9" * 30},
        "bsp_schedule_delay_ms",
        5000,
        f'OTEL_BSP_SCHEDULE_DELAY: {_MS}, got "{"9" * 30}"; using 5000',
    ),
    BadVariable(
        {"OTEL_BSP_SCHEDULE_DELAY": "0"},
        "bsp_schedule_delay_ms",
        5000,
        f'OTEL_BSP_SCHEDULE_DELAY: {_MS}, got "0"; using 5000',
    ),
    BadVariable(
        {"OTEL_BSP_SCHEDULE_DELAY": "-5"},
        "bsp_schedule_delay_ms",
        5000,
        f'OTEL_BSP_SCHEDULE_DELAY: {_MS}, got "-5"; using 5000',
    ),
    BadVariable(
        {"OTEL_BSP_SCHEDULE_DELAY": "1.5"},
        "bsp_schedule_delay_ms",
        5000,
        f'OTEL_BSP_SCHEDULE_DELAY: {_MS}, got "1.5"; using 5000',
    ),
    BadVariable(
        {"OTEL_BSP_SCHEDULE_DELAY": "NaN"},
        "bsp_schedule_delay_ms",
        5000,
        f'OTEL_BSP_SCHEDULE_DELAY: {_MS}, got "NaN"; using 5000',
    ),
    BadVariable(
        {"OTEL_BSP_EXPORT_TIMEOUT": "0"},
        "bsp_export_timeout_ms",
        30000,
        f'OTEL_BSP_EXPORT_TIMEOUT: {_MS}, got "0"; using 30000',
    ),
    BadVariable(
        {"OTEL_BSP_MAX_QUEUE_SIZE": "9" * 30},
        "bsp_max_queue_size",
        2048,
        f'OTEL_BSP_MAX_QUEUE_SIZE: {_COUNT}, got "{"9" * 30}"; using 2048',
    ),
    BadVariable(
        {"OTEL_BSP_MAX_QUEUE_SIZE": "-1"},
        "bsp_max_queue_size",
        2048,
        f'OTEL_BSP_MAX_QUEUE_SIZE: {_COUNT}, got "-1"; using 2048',
    ),
    BadVariable(
        {"OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "0"},
        "bsp_max_export_batch_size",
        512,
        f'OTEL_BSP_MAX_EXPORT_BATCH_SIZE: {_COUNT}, got "0"; using 512',
    ),
    BadVariable(
        {"OTEL_EXPORTER_OTLP_TIMEOUT": "0"},
        "timeout_ms",
        10000,
        f'OTEL_EXPORTER_OTLP_TIMEOUT: {_MS}, got "0"; using 10000',
    ),
    BadVariable(
        {"OTEL_EXPORTER_OTLP_TIMEOUT": "1e3"},
        "timeout_ms",
        10000,
        f'OTEL_EXPORTER_OTLP_TIMEOUT: {_MS}, got "1e3"; using 10000',
    ),
    BadVariable(
        {"KUBETRACE_SHUTDOWN_TIMEOUT_MS": "9" * 30},
        "shutdown_timeout_ms",
        5000,
        f'KUBETRACE_SHUTDOWN_TIMEOUT_MS: {_MS}, got "{"9" * 30}"; using 5000',
    ),
    BadVariable(
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://[::1"},
        "endpoint",
        "http://localhost:4317",
        f'OTEL_EXPORTER_OTLP_ENDPOINT: not a valid URL (Invalid IPv6 URL), got "http://[::1"; {_ENDPOINT_FALLBACK}',
    ),
    BadVariable(
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://localhost:notaport"},
        "endpoint",
        "http://localhost:4317",
        "OTEL_EXPORTER_OTLP_ENDPOINT: not a valid URL (Port could not be cast to integer value as 'notaport'), "
        f'got "http://localhost:notaport"; {_ENDPOINT_FALLBACK}',
    ),
    BadVariable(
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "https://collector:99999"},
        "endpoint",
        "http://localhost:4317",
        "OTEL_EXPORTER_OTLP_ENDPOINT: not a valid URL (Port out of range 0-65535), "
        f'got "https://collector:99999"; {_ENDPOINT_FALLBACK}',
    ),
    BadVariable(
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector :4317"},
        "endpoint",
        "http://localhost:4317",
        "OTEL_EXPORTER_OTLP_ENDPOINT: must not contain spaces or control characters, "
        f'got "http://collector :4317"; {_ENDPOINT_FALLBACK}',
    ),
    BadVariable(
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://"},
        "endpoint",
        "http://localhost:4317",
        f'OTEL_EXPORTER_OTLP_ENDPOINT: must name a host, as in http://collector:4317, got "http://"; {_ENDPOINT_FALLBACK}',
    ),
    BadVariable(
        {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "localhost:notaport"},
        "endpoint",
        "http://localhost:4317",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: must be a URL with a scheme (http:// or https://), "
        f'got "localhost:notaport"; {_ENDPOINT_FALLBACK}',
    ),
    BadVariable(
        {
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_EXPORTER_OTLP_ENDPOINT": "unix:///run/otel.sock",
        },
        "endpoint",
        "http://localhost:4318/v1/traces",
        "OTEL_EXPORTER_OTLP_ENDPOINT: must be an http:// or https:// URL for the http/protobuf protocol, "
        'got "unix:///run/otel.sock/v1/traces"; using http://localhost:4318/v1/traces',
        exported=False,
    ),
    BadVariable(
        {"OTEL_EXPORTER_OTLP_HEADERS": "Bad Key=v,ok=1"},
        "headers",
        {"ok": "1"},
        "OTEL_EXPORTER_OTLP_HEADERS: entry \"bad key\" key must be letters, digits, '-', '_' or '.'; skipped",
    ),
    BadVariable(
        {"OTEL_EXPORTER_OTLP_HEADERS": "authorization=Bearer%0Asecret,ok=1"},
        "headers",
        {"ok": "1"},
        'OTEL_EXPORTER_OTLP_HEADERS: entry "authorization" value must be printable ASCII (percent-decoded), '
        "without control characters; skipped",
    ),
    BadVariable(
        {"OTEL_EXPORTER_OTLP_HEADERS": "x-name=caf%C3%A9,ok=1"},
        "headers",
        {"ok": "1"},
        'OTEL_EXPORTER_OTLP_HEADERS: entry "x-name" value must be printable ASCII (percent-decoded), '
        "without control characters; skipped",
    ),
    BadVariable(
        {"OTEL_EXPORTER_OTLP_HEADERS": "token-bin=abc,ok=1"},
        "headers",
        {"ok": "1"},
        'OTEL_EXPORTER_OTLP_HEADERS: entry "token-bin" key is reserved by gRPC (-bin, grpc-); skipped',
    ),
    BadVariable(
        {"OTEL_EXPORTER_OTLP_HEADERS": "s3cret-token,ok=1"},
        "headers",
        {"ok": "1"},
        "OTEL_EXPORTER_OTLP_HEADERS: entry 1 is not key=value; skipped",
    ),
    BadVariable(
        {"OTEL_PROPAGATORS": "bogus"},
        "propagators",
        ("tracecontext", "baggage"),
        f'OTEL_PROPAGATORS: unknown propagator "bogus" (known: {_KNOWN_PROPAGATORS}); using tracecontext,baggage',
    ),
    BadVariable(
        {"OTEL_PROPAGATORS": "xray"},
        "propagators",
        ("tracecontext", "baggage"),
        f'OTEL_PROPAGATORS: unknown propagator "xray" (known: {_KNOWN_PROPAGATORS}); using tracecontext,baggage',
    ),
    BadVariable(
        {"OTEL_PROPAGATORS": "b3,bogus"},
        "propagators",
        ("b3",),
        f'OTEL_PROPAGATORS: unknown propagator "bogus" (known: {_KNOWN_PROPAGATORS}); skipped',
    ),
    BadVariable(
        {"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "NaN"},
        "sampler_arg",
        "1.0",
        'OTEL_TRACES_SAMPLER_ARG: ratio must be a number in [0, 1], got "NaN"; using 1.0',
    ),
    BadVariable(
        {"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "-0.5"},
        "sampler_arg",
        "1.0",
        'OTEL_TRACES_SAMPLER_ARG: ratio must be a number in [0, 1], got "-0.5"; using 1.0',
    ),
    BadVariable(
        {"OTEL_SDK_DISABLED": "1"},
        "disabled",
        False,
        'OTEL_SDK_DISABLED: must be "true" or "false", got "1"; using false',
    ),
    BadVariable(
        {"OTEL_EXPORTER_OTLP_INSECURE": "maybe"},
        "insecure",
        True,  # from the default endpoint's http scheme
        'OTEL_EXPORTER_OTLP_INSECURE: must be "true" or "false", got "maybe"; '
        "using the default: the endpoint's scheme decides, else TLS",
    ),
    # Booleans whose default is true keep it, and the warning says so (it once said "using false").
    BadVariable(
        {"KUBETRACE_LOG_CORRELATION": "yes"},
        "log_correlation",
        True,
        'KUBETRACE_LOG_CORRELATION: must be "true" or "false", got "yes"; using true',
    ),
    BadVariable(
        {"KUBETRACE_TRACEPARENT_FROM_ENV": "0"},
        "parent_from_env",
        True,
        'KUBETRACE_TRACEPARENT_FROM_ENV: must be "true" or "false", got "0"; using true',
    ),
    BadVariable(
        {"OTEL_EXPORTER_OTLP_PROTOCOL": "json"},
        "protocol",
        "grpc",
        'OTEL_EXPORTER_OTLP_PROTOCOL: must be one of grpc, http/protobuf, got "json"; using grpc',
    ),
    BadVariable(
        {"KUBETRACE_TRUST_INCOMING": "some"},
        "trust_incoming",
        "all",
        'KUBETRACE_TRUST_INCOMING: must be one of all, none, got "some"; using all',
    ),
    BadVariable(
        {"OTEL_RESOURCE_ATTRIBUTES": "team=sre,oops"},
        "resource_attributes",
        {"team": "sre"},
        'OTEL_RESOURCE_ATTRIBUTES: entry "oops" is not key=value; skipped',
    ),
]


@pytest.mark.parametrize("case", BAD_VARIABLES, ids=lambda c: c.id)
def test_resolve_warns_once_and_falls_back(case):
    resolved = resolve(environ=case.env)
    assert resolved.settings[case.field] == case.fallback
    assert resolved.warnings == (case.warning,)


@pytest.mark.parametrize("case", BAD_VARIABLES, ids=lambda c: c.id)
def test_config_shows_the_fallback_and_the_warning(case, capsys, clean_env):
    for name, value in case.env.items():
        clean_env.setenv(name, value)
    assert kubetrace(["config", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    value = doc["settings"][case.field]["value"]
    expected = case.fallback
    if case.field == "headers":  # `kubetrace config` never prints header values
        expected = dict.fromkeys(case.fallback, "<redacted>")
    assert (tuple(value) if isinstance(value, list) else value) == expected
    assert doc["warnings"] == [case.warning]


@pytest.mark.parametrize("case", BAD_VARIABLES, ids=lambda c: c.id)
def test_setup_warns_and_still_exports(case, otlp_receiver, clean_env, caplog, tmp_path):
    """Nothing is lost: setup() works with the fallback, and a traced span reaches the collector.
    A bad endpoint variable falls back to the configuration file's endpoint: the collector's here."""
    for name, value in case.env.items():
        clean_env.setenv(name, value)
    arguments = {}
    if case.field == "endpoint":
        config = tmp_path / "tracing.yaml"
        config.write_text(f"{K8S}endpoint: {otlp_receiver.grpc_endpoint}\nsamplingRatePerMillion: 1000000\n")
        clean_env.setenv("KUBETRACE_CONFIG", str(config))
    elif resolve().settings["protocol"] == "grpc":
        arguments = {"endpoint": otlp_receiver.grpc_endpoint, "insecure": True}
    else:
        arguments = {"endpoint": otlp_receiver.http_endpoint}
    handle = tracing.setup(**arguments)
    assert f"kubetrace: {case.warning}" in caplog.messages
    if case.field not in ("endpoint", "insecure"):  # those two, the arguments above decide
        assert handle.settings[case.field] == case.fallback
    if not case.exported:
        return
    span = trace.get_tracer("bad-config").start_span("still-exported")
    span.end()
    assert handle.force_flush(10000)
    trace_id = format(span.get_span_context().trace_id, "032x")
    assert [s.name for s in otlp_receiver.wait_for(1, trace_id=trace_id)] == ["still-exported"]
    if case.field == "headers":
        sent = otlp_receiver.request_headers[-1]
        assert sent["ok"] == "1"
        assert not any(key in sent for key in ("bad key", "authorization", "x-name", "token-bin"))


@pytest.mark.parametrize("value", ["", "   ", "\t"])
def test_an_empty_or_blank_variable_is_unset_without_a_warning(value):
    """The specification: an empty value means unset. Blank is read the same way."""
    names = (
        "OTEL_BSP_SCHEDULE_DELAY",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_PROPAGATORS",
        "OTEL_SERVICE_NAME",
    )
    resolved = resolve(environ=dict.fromkeys(names, value))
    assert resolved.warnings == ()
    assert all(item.source == "default" for _, item in resolved.settings.items())


def test_header_names_are_sent_lower_case_as_grpc_requires(otlp_receiver, clean_env):
    clean_env.setenv("OTEL_EXPORTER_OTLP_HEADERS", "X-Tenant=blue")
    handle = tracing.setup(endpoint=otlp_receiver.grpc_endpoint, insecure=True)
    assert handle.warnings == ()
    trace.get_tracer("bad-config").start_span("upper-case-header").end()
    assert handle.force_flush(10000)
    assert otlp_receiver.wait_for(1) and otlp_receiver.request_headers[-1]["x-tenant"] == "blue"


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_a_header_setup_replaced_is_not_sent_from_the_environment(protocol, otlp_receiver, clean_env):
    """The Python exporters read OTEL_EXPORTER_OTLP_HEADERS themselves; kubetrace's headers are the
    only ones sent (an argument replaces the variable, as every argument does)."""
    clean_env.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-from-env=1")
    endpoint = otlp_receiver.grpc_endpoint if protocol == "grpc" else otlp_receiver.http_endpoint
    handle = tracing.setup(protocol=protocol, endpoint=endpoint, insecure=True, headers={"x-from-code": "2"})
    trace.get_tracer("bad-config").start_span("replaced").end()
    assert handle.force_flush(10000)
    assert otlp_receiver.wait_for(1)
    sent = otlp_receiver.request_headers[-1]
    assert sent.get("x-from-code") == "2" and "x-from-env" not in sent


# --- setup() arguments: ConfigError naming the argument ---------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            {"bsp_schedule_delay_ms": 0},
            "setup(): bsp_schedule_delay_ms: must be a whole number from 1 to 2147483647, got 0",
        ),
        (
            {"timeout_ms": 10**30},
            f"setup(): timeout_ms: must be a whole number from 1 to 2147483647, got {10**30}",
        ),
        (
            {"bsp_max_queue_size": True},
            "setup(): bsp_max_queue_size: must be a whole number from 1 to 2147483647, got True",
        ),
        (
            {"shutdown_timeout_ms": 2.5},
            "setup(): shutdown_timeout_ms: must be a whole number from 1 to 2147483647, got 2.5",
        ),
        (
            {"endpoint": "localhost:notaport"},
            'setup(): endpoint: Invalid value: "dns://localhost:notaport": parse "dns://localhost:notaport": '
            "invalid port \":notaport\" after host, got 'localhost:notaport'",
        ),
        (
            {"endpoint": "http://[::1"},
            "setup(): endpoint: not a valid URL (Invalid IPv6 URL), got 'http://[::1'",
        ),
        (
            {"endpoint": "collector:4317", "protocol": "http/protobuf"},
            "setup(): endpoint: must be an http:// or https:// URL for the http/protobuf protocol, got 'collector:4317'",
        ),
        (
            {"headers": {"Bad Key": "v"}},
            "setup(): headers.Bad Key: key must be letters, digits, '-', '_' or '.'",
        ),
        (
            {"headers": {"authorization": "Bearer\nx"}},
            "setup(): headers.authorization: value must be printable ASCII (percent-decoded), without control characters",
        ),
        (
            {"propagators": ("bogus",)},
            f"setup(): propagators: a list of {_KNOWN_PROPAGATORS}; got ('bogus',)",
        ),
    ],
)
def test_a_bad_setup_argument_is_a_config_error_naming_it(arguments, message, clean_env):
    with pytest.raises(tracing.ConfigError) as err:
        tracing.setup(**arguments)
    assert str(err.value) == message


# --- OTEL_PROPAGATORS is read when opentelemetry is imported: no traceback anywhere -----------------


@pytest.mark.parametrize("value", ["bogus", "xray", "b3,bogus"])
@pytest.mark.parametrize(
    "command",
    [
        ["-c", "import tracing, interceptors.grpc, interceptors.http; print('imported')"],
        ["-m", "kubetrace_cli", "config"],
        [
            "-m",
            "kubetrace_cli",
            "validate",
            str(Path(__file__).parent / "corpus" / "valid-apiserver-v1.yaml"),
        ],
    ],
    ids=["import", "config", "validate"],
)
def test_an_unknown_propagator_is_a_warning_not_a_traceback(value, command):
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": CHECKOUT, "OTEL_PROPAGATORS": value}
    proc = subprocess.run([sys.executable, *command], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    unknown = value.split(",")[-1]
    assert f'kubetrace: OTEL_PROPAGATORS: unknown propagator "{unknown}"' in proc.stderr
    if command[1] == "kubetrace_cli" and command[2] == "config":
        assert f'warning: OTEL_PROPAGATORS: unknown propagator "{unknown}"' in proc.stderr
