"""The `kubetrace` command's own surface: --version, and `config [FILE]` in YAML and JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import tracing

CORPUS = Path(__file__).parent / "corpus"
CHECKOUT = str(Path(__file__).resolve().parents[2])
APISERVER_FILE = str(CORPUS / "valid-apiserver-v1.yaml")
KUBELET_FILE = str(CORPUS / "valid-kubelet.yaml")


def kubetrace(*args: str, **env: str) -> subprocess.CompletedProcess:
    """This checkout's command, in an environment holding only `env` (no developer's OTEL_* here)."""
    return subprocess.run(
        [sys.executable, "-m", "kubetrace_cli", *args],
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": CHECKOUT, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def settings_json(*args: str, **env: str) -> dict:
    proc = kubetrace("config", "--json", *args, **env)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)["settings"]


def test_version_names_the_library_version():
    proc = kubetrace("--version")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"kubetrace {tracing.__version__}\n"


def test_config_file_gives_what_kubetrace_config_gives_with_the_file_as_its_source():
    named = settings_json(APISERVER_FILE)
    from_env = settings_json(KUBETRACE_CONFIG=APISERVER_FILE)
    assert named["config_file"] == {"value": APISERVER_FILE, "source": f"file:{APISERVER_FILE}"}
    assert from_env["config_file"] == {"value": APISERVER_FILE, "source": "env:KUBETRACE_CONFIG"}
    del named["config_file"], from_env["config_file"]
    assert named == from_env
    assert named["sampler"] == {"value": "parentbased_traceidratio", "source": f"file:{APISERVER_FILE}"}


def test_config_file_is_used_instead_of_kubetrace_config():
    doc = settings_json(APISERVER_FILE, KUBETRACE_CONFIG=KUBELET_FILE)
    assert doc["config_file"]["value"] == APISERVER_FILE
    assert {item["source"] for item in doc.values()} <= {"default", f"file:{APISERVER_FILE}"}


def test_config_with_a_bad_file_argument_exits_1_with_the_problem():
    proc = kubetrace("config", str(CORPUS / "invalid-rate-too-high.yaml"))
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert "invalid-rate-too-high.yaml: samplingRatePerMillion:" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"KUBETRACE_CONFIG": APISERVER_FILE},
        {
            "OTEL_SERVICE_NAME": "my api: # not a comment",
            "OTEL_RESOURCE_ATTRIBUTES": "team=a%2Cb,tier=web",
            "OTEL_EXPORTER_OTLP_HEADERS": "authorization=secret",
            "OTEL_PROPAGATORS": "b3,tracecontext",
            "KUBETRACE_TRACEPARENT_FROM_ENV": "false",
            "TRACEPARENT": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        },
    ],
    ids=["defaults", "file", "awkward values"],
)
def test_plain_config_is_yaml_with_the_same_values_as_json_and_sources_as_comments(env):
    proc = kubetrace("config", **env)
    assert proc.returncode == 0, proc.stderr
    doc = settings_json(**env)
    assert yaml.safe_load(proc.stdout) == {name: item["value"] for name, item in doc.items()}
    for line, (name, item) in zip(proc.stdout.splitlines(), doc.items(), strict=True):
        assert line.startswith(f"{name}: ") and line.endswith(f"  # {item['source']}"), line
    assert "secret" not in proc.stdout


def test_plain_config_reads_like_yaml_not_python():
    lines = dict(
        line.split("  #")[0].rstrip().split(": ", 1) for line in kubetrace("config").stdout.splitlines()
    )
    assert lines["disabled"] == "false" and lines["parent_from_env"] == "true"
    assert lines["certificate"] == "null"
    assert lines["headers"] == "{}" and lines["propagators"] == "[tracecontext, baggage]"
