"""Configuration: Kubernetes files, OTEL_* variables and the one precedence rule."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tracing import ConfigError
from tracing.config import load_tracing_file, resolve

CORPUS = Path(__file__).parent / "corpus"
GOLDEN = Path(__file__).parent / "corpus_expected.txt"
# A subprocess given a clean environment still runs this checkout's kubetrace_cli and tracing.
CHECKOUT = str(Path(__file__).resolve().parents[2])


def _golden() -> dict[str, tuple[list[str], int]]:
    """corpus_expected.txt: for each corpus file, the exact lines `kubetrace validate` prints and its exit code."""
    out, lines = {}, []
    for line in GOLDEN.read_text().splitlines():
        if line.startswith("exit "):
            name = lines[0].split(":", 1)[0]
            out[name] = (lines, int(line.split()[1]))
            lines = []
        else:
            lines.append(line)
    return out


EXPECTED = _golden()


def test_every_corpus_file_has_an_expected_outcome():
    assert sorted(EXPECTED) == sorted(p.name for p in CORPUS.iterdir())
    assert len(EXPECTED) >= 35


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_validate_prints_the_expected_lines_for_each_corpus_file(name):
    lines, code = EXPECTED[name]
    proc = subprocess.run(
        [sys.executable, "-m", "kubetrace_cli", "validate", name], cwd=CORPUS, capture_output=True, text=True
    )
    assert proc.returncode == code, proc.stderr
    assert (proc.stdout + proc.stderr).splitlines() == lines
    assert "Traceback" not in proc.stderr
    assert name.startswith("valid-") == (code == 0)


def test_validate_reports_every_problem_of_a_file_with_file_and_field():
    with pytest.raises(ConfigError) as err:
        load_tracing_file(CORPUS / "invalid-several-problems.yaml")
    fields = [p.field for p in err.value.problems]
    assert fields == ["extra", "endpoint", "samplingRatePerMillion"]
    assert all(
        str(p).startswith(str(CORPUS / "invalid-several-problems.yaml") + ": ") for p in err.value.problems
    )


def test_validate_several_files_exits_1_if_any_is_invalid_and_summarises_the_valid_ones():
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "kubetrace_cli",
            "validate",
            "valid-apiserver-v1.yaml",
            "invalid-negative-rate.yaml",
        ],
        cwd=CORPUS,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1
    assert proc.stdout.startswith("valid-apiserver-v1.yaml: TracingConfiguration: endpoint otel-agent")
    assert proc.stderr.strip() == (
        "invalid-negative-rate.yaml: samplingRatePerMillion: Invalid value: -10: sampling rate must be positive"
    )


def test_validate_a_missing_file_is_a_one_line_error():
    proc = subprocess.run(
        [sys.executable, "-m", "kubetrace_cli", "validate", "/nonexistent/x.yaml"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip() == "/nonexistent/x.yaml: cannot read file: No such file or directory"


@pytest.mark.parametrize(
    ("file", "sampler", "arg", "endpoint"),
    [
        ("valid-apiserver-v1.yaml", "parentbased_traceidratio", "0.0001", "otel-agent.monitoring:4317"),
        ("valid-empty-fields.yaml", "parentbased_always_off", None, "http://localhost:4317"),
        ("valid-unix.yaml", "parentbased_always_off", None, "unix:///var/run/otel/otlp.sock"),
        ("valid-max-rate.yaml", "parentbased_traceidratio", "1.0", "http://localhost:4317"),
    ],
)
def test_a_tracing_file_means_what_kubernetes_means(file, sampler, arg, endpoint):
    s = resolve(environ={"KUBETRACE_CONFIG": str(CORPUS / file)}).settings
    assert (s["sampler"], s["sampler_arg"], s["endpoint"]) == (sampler, arg, endpoint)
    assert s["protocol"] == "grpc" and s["insecure"] is True
    assert s.sampler.source == f"file:{CORPUS / file}"


def test_a_kubelet_configuration_without_tracing_disables_tracing():
    s = resolve(environ={"KUBETRACE_CONFIG": str(CORPUS / "valid-kubelet-no-tracing.yaml")}).settings
    assert s["disabled"] is True
    assert s.disabled.source.startswith("file:")


def test_an_invalid_file_named_by_the_environment_is_a_config_error():
    with pytest.raises(ConfigError, match="sampling rate must be positive"):
        resolve(environ={"KUBETRACE_CONFIG": str(CORPUS / "invalid-negative-rate.yaml")})


# --- precedence: argument > environment variable > file > default ---------------------------------


def test_precedence_argument_over_env_over_file_over_default():
    file = str(CORPUS / "valid-apiserver-v1.yaml")
    env = {"KUBETRACE_CONFIG": file, "OTEL_TRACES_SAMPLER": "always_on"}
    s = resolve(environ=env).settings
    assert (s["sampler"], s.sampler.source) == ("always_on", "env:OTEL_TRACES_SAMPLER")
    assert (s["endpoint"], s.endpoint.source) == ("otel-agent.monitoring:4317", f"file:{file}")
    assert (s["timeout_ms"], s.timeout_ms.source) == (10000, "default")
    s = resolve({"sampler": "always_off", "endpoint": "127.0.0.1:9"}, environ=env).settings
    assert (s["sampler"], s.sampler.source) == ("always_off", "argument")
    assert (s["endpoint"], s.endpoint.source) == ("127.0.0.1:9", "argument")


def test_env_endpoint_overrides_the_file_endpoint():
    env = {
        "KUBETRACE_CONFIG": str(CORPUS / "valid-apiserver-v1.yaml"),
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317",
    }
    s = resolve(environ=env).settings
    assert (s["endpoint"], s.endpoint.source) == ("http://c:4317", "env:OTEL_EXPORTER_OTLP_ENDPOINT")


def test_config_file_argument_overrides_kubetrace_config():
    s = resolve(
        {"config_file": str(CORPUS / "valid-zero-rate.yaml")}, environ={"KUBETRACE_CONFIG": "/nonexistent"}
    ).settings
    assert s["sampler_arg"] == "0.0"


# --- OTEL_* variables as the specification defines them -------------------------------------------


@pytest.mark.parametrize(
    ("env", "field", "value", "source"),
    [
        ({"OTEL_EXPORTER_OTLP_TIMEOUT": "2500"}, "timeout_ms", 2500, "env:OTEL_EXPORTER_OTLP_TIMEOUT"),
        (
            {"OTEL_EXPORTER_OTLP_TIMEOUT": "2500", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT": "700"},
            "timeout_ms",
            700,
            "env:OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
        ),
        (
            {"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"},
            "endpoint",
            "http://localhost:4318/v1/traces",
            "default",
        ),
        (
            {
                "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318/base/",
            },
            "endpoint",
            "http://c:4318/base/v1/traces",
            "env:OTEL_EXPORTER_OTLP_ENDPOINT",
        ),
        (
            {
                "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/custom",
            },
            "endpoint",
            "http://c:4318/custom",
            "env:OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        ),
        (
            {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf"},
            "protocol",
            "http/protobuf",
            "env:OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        ),
        (
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317"},
            "endpoint",
            "http://c:4317",
            "env:OTEL_EXPORTER_OTLP_ENDPOINT",
        ),
        (
            {"OTEL_EXPORTER_OTLP_HEADERS": "a=1,b=x%20y", "OTEL_EXPORTER_OTLP_TRACES_HEADERS": "c=3"},
            "headers",
            {"c": "3"},
            "env:OTEL_EXPORTER_OTLP_TRACES_HEADERS",
        ),
        (
            {"OTEL_EXPORTER_OTLP_HEADERS": "a=1,b=x%20y"},
            "headers",
            {"a": "1", "b": "x y"},
            "env:OTEL_EXPORTER_OTLP_HEADERS",
        ),
        (
            {"OTEL_EXPORTER_OTLP_COMPRESSION": "GZIP"},
            "compression",
            "gzip",
            "env:OTEL_EXPORTER_OTLP_COMPRESSION",
        ),
        ({"OTEL_SDK_DISABLED": "TRUE"}, "disabled", True, "env:OTEL_SDK_DISABLED"),
        ({"OTEL_SDK_DISABLED": "false"}, "disabled", False, "env:OTEL_SDK_DISABLED"),
        ({"OTEL_SERVICE_NAME": "api"}, "service_name", "api", "env:OTEL_SERVICE_NAME"),
        (
            {"OTEL_RESOURCE_ATTRIBUTES": "service.name=fromattrs,team=sre"},
            "service_name",
            "fromattrs",
            "env:OTEL_RESOURCE_ATTRIBUTES",
        ),
        (
            {"OTEL_RESOURCE_ATTRIBUTES": "service.name=fromattrs", "OTEL_SERVICE_NAME": "wins"},
            "service_name",
            "wins",
            "env:OTEL_SERVICE_NAME",
        ),
        (
            {"OTEL_PROPAGATORS": "b3multi, jaeger,b3multi"},
            "propagators",
            ("b3multi", "jaeger"),
            "env:OTEL_PROPAGATORS",
        ),
        ({"OTEL_PROPAGATORS": "tracecontext,none"}, "propagators", (), "env:OTEL_PROPAGATORS"),
        ({"OTEL_BSP_SCHEDULE_DELAY": "100"}, "bsp_schedule_delay_ms", 100, "env:OTEL_BSP_SCHEDULE_DELAY"),
        ({"OTEL_BSP_MAX_QUEUE_SIZE": "64"}, "bsp_max_queue_size", 64, "env:OTEL_BSP_MAX_QUEUE_SIZE"),
        (
            {"OTEL_TRACES_SAMPLER": "TraceIdRatio", "OTEL_TRACES_SAMPLER_ARG": "0.25"},
            "sampler_arg",
            "0.25",
            "env:OTEL_TRACES_SAMPLER_ARG",
        ),
        ({"OTEL_EXPORTER_OTLP_INSECURE": "true"}, "insecure", True, "env:OTEL_EXPORTER_OTLP_INSECURE"),
        (
            {"K8S_POD_NAME": "p-1", "K8S_NAMESPACE_NAME": "ns"},
            "kubernetes",
            {"k8s.pod.name": "p-1", "k8s.namespace.name": "ns"},
            "env:K8S_NAMESPACE_NAME,K8S_POD_NAME",
        ),
        (
            {"POD_NAME": "p-2", "NODE_NAME": "n1"},
            "kubernetes",
            {"k8s.pod.name": "p-2", "k8s.node.name": "n1"},
            "env:NODE_NAME,POD_NAME",
        ),
        ({"OTEL_SERVICE_NAME": ""}, "service_name", "unknown_service", "default"),
    ],
)
def test_env_variable_parsing(env, field, value, source):
    resolved = resolve(environ=env)
    item = getattr(resolved.settings, field)
    assert (item.value, item.source) == (value, source)
    assert resolved.warnings == ()


@pytest.mark.parametrize(
    ("env", "field", "fallback", "warning"),
    [
        (
            {"OTEL_EXPORTER_OTLP_TIMEOUT": "10s"},
            "timeout_ms",
            10000,
            'OTEL_EXPORTER_OTLP_TIMEOUT: must be a whole number of milliseconds from 1 to 2147483647, got "10s"; '
            "using 10000",
        ),
        (
            {"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"},
            "protocol",
            "grpc",
            'OTEL_EXPORTER_OTLP_PROTOCOL: must be one of grpc, http/protobuf, got "http/json"; using grpc',
        ),
        (
            {"OTEL_SDK_DISABLED": "yes"},
            "disabled",
            False,
            'OTEL_SDK_DISABLED: must be "true" or "false", got "yes"; using false',
        ),
        (
            {"OTEL_TRACES_SAMPLER": "sometimes"},
            "sampler",
            "parentbased_always_on",
            'OTEL_TRACES_SAMPLER: unknown sampler "sometimes"',
        ),
        (
            {"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "2"},
            "sampler_arg",
            "1.0",
            'OTEL_TRACES_SAMPLER_ARG: ratio must be a number in [0, 1], got "2"; using 1.0',
        ),
        (
            {"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "half"},
            "sampler_arg",
            "1.0",
            'OTEL_TRACES_SAMPLER_ARG: ratio must be a number in [0, 1], got "half"; using 1.0',
        ),
        (
            {"OTEL_PROPAGATORS": "w3c"},
            "propagators",
            ("tracecontext", "baggage"),
            'OTEL_PROPAGATORS: unknown propagator "w3c"',
        ),
        (
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4317"},
            "endpoint",
            "http://localhost:4317",
            "OTEL_EXPORTER_OTLP_ENDPOINT: must be a URL with a scheme",
        ),
        (
            {"OTEL_EXPORTER_OTLP_COMPRESSION": "brotli"},
            "compression",
            "none",
            'OTEL_EXPORTER_OTLP_COMPRESSION: must be one of gzip, none, got "brotli"; using none',
        ),
        (
            {"OTEL_BSP_MAX_QUEUE_SIZE": "0"},
            "bsp_max_queue_size",
            2048,
            'OTEL_BSP_MAX_QUEUE_SIZE: must be a whole number from 1 to 2147483647, got "0"; using 2048',
        ),
        (
            {"OTEL_BSP_MAX_QUEUE_SIZE": "100", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "512"},
            "bsp_max_export_batch_size",
            100,
            "OTEL_BSP_MAX_EXPORT_BATCH_SIZE (512) must not exceed OTEL_BSP_MAX_QUEUE_SIZE (100); using 100",
        ),
        (
            {"OTEL_EXPORTER_OTLP_HEADERS": "novalue,a=1"},
            "headers",
            {"a": "1"},
            "OTEL_EXPORTER_OTLP_HEADERS: entry 1 is not key=value; skipped",  # never the value: a credential
        ),
    ],
)
def test_invalid_env_values_warn_and_name_the_fallback(env, field, fallback, warning):
    resolved = resolve(environ=env)
    assert resolved.settings[field] == fallback
    assert any(w.startswith(warning) for w in resolved.warnings), resolved.warnings


def test_unknown_setup_argument_is_a_type_error_naming_it():
    with pytest.raises(TypeError, match="servicename"):
        resolve({"servicename": "x"}, environ={})


def test_config_json_shows_every_value_with_its_source(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": CHECKOUT,
        "OTEL_SERVICE_NAME": "svc",
        "KUBETRACE_CONFIG": str(CORPUS / "valid-apiserver-v1.yaml"),
        "OTEL_EXPORTER_OTLP_HEADERS": "authorization=secret",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "kubetrace_cli", "config", "--json"],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)["settings"]
    assert doc["service_name"] == {"value": "svc", "source": "env:OTEL_SERVICE_NAME"}
    assert doc["sampler"]["source"] == f"file:{CORPUS / 'valid-apiserver-v1.yaml'}"
    assert doc["timeout_ms"] == {"value": 10000, "source": "default"}
    assert doc["headers"]["value"] == {"authorization": "<redacted>"}
    assert "secret" not in proc.stdout


def test_config_with_a_bad_file_exits_1_with_the_problem(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": CHECKOUT,
        "KUBETRACE_CONFIG": str(CORPUS / "invalid-rate-too-high.yaml"),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "kubetrace_cli", "config"], env=env, capture_output=True, text=True
    )
    assert proc.returncode == 1
    assert "less than or equal to one million" in proc.stderr and "Traceback" not in proc.stderr


def test_help_lists_the_commands():
    proc = subprocess.run([sys.executable, "-m", "kubetrace_cli", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0
    for command in ("validate", "config"):
        assert command in proc.stdout
