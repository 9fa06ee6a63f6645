"""Sampler names and OTEL_TRACES_SAMPLER_ARG: build_sampler, and the entry points as the SDK's configurator loads them."""

from __future__ import annotations

import json
import logging

import pytest
from opentelemetry.sdk._configuration import _get_sampler, _import_sampler
from opentelemetry.sdk.trace.sampling import ParentBased

from tracing import ConfigError
from tracing.sampling import (
    SAMPLER_NAMES,
    JaegerFileSampler,
    JaegerRemoteSampler,
    ParentBasedJaegerSampler,
    Strategy,
    build_sampler,
)
from tracing.sampling._args import file_arguments, remote_arguments


@pytest.fixture
def strategies_file(tmp_path):
    path = tmp_path / "strategies.json"
    doc = {
        "default_strategy": {"type": "probabilistic", "param": 0.001},
        "service_strategies": [
            {"service": "checkout", "type": "probabilistic", "param": 0.5},
            {"service": "from-attributes", "type": "ratelimiting", "param": 5},
        ],
    }
    path.write_text(json.dumps(doc))
    return path


@pytest.mark.parametrize(
    ("arg", "expected"),
    [
        (None, {}),
        ("", {}),
        ("endpoint=http://jaeger:5778/sampling", {"endpoint": "http://jaeger:5778/sampling"}),
        (
            " endpoint = http://jaeger:5778 , pollingIntervalMs=5000,initialSamplingRate=0.25 ",
            {"endpoint": "http://jaeger:5778", "polling_interval": 5.0, "initial_sampling_rate": 0.25},
        ),
    ],
)
def test_remote_arguments_are_parsed(arg, expected):
    assert remote_arguments(arg) == expected


@pytest.mark.parametrize(
    ("arg", "expected"),
    [
        ("path=/etc/s.json", {"path": "/etc/s.json"}),
        ("path=/etc/s.json,reloadIntervalMs=250", {"path": "/etc/s.json", "reload_interval": 0.25}),
        ("path=/etc/s.json,reloadIntervalMs=0", {"path": "/etc/s.json", "reload_interval": 0.0}),
        ("/etc/s.json", {"path": "/etc/s.json"}),
    ],
)
def test_file_arguments_are_parsed(arg, expected):
    assert file_arguments(arg) == expected


@pytest.mark.parametrize(
    ("parse", "arg", "expected"),
    [
        (
            remote_arguments,
            "pollingIntervalMs=0,initialSamplingRate=2,color=red",
            [
                "OTEL_TRACES_SAMPLER_ARG: color: unknown argument; known: endpoint, pollingIntervalMs, initialSamplingRate",
                "OTEL_TRACES_SAMPLER_ARG: pollingIntervalMs: must be a whole number of milliseconds >= 1, got '0'",
                "OTEL_TRACES_SAMPLER_ARG: initialSamplingRate: must be a number between 0 and 1, got '2'",
            ],
        ),
        (
            remote_arguments,
            "endpoint=jaeger:5778,pollingIntervalMs=1.5",
            [
                "OTEL_TRACES_SAMPLER_ARG: endpoint: must be an http(s) URL such as http://localhost:5778/sampling, "
                "got 'jaeger:5778'",
                "OTEL_TRACES_SAMPLER_ARG: pollingIntervalMs: must be a whole number of milliseconds >= 1, got '1.5'",
            ],
        ),
        (
            remote_arguments,
            "initialSamplingRate=nan,initialSamplingRate=0.1,oops",
            [
                "OTEL_TRACES_SAMPLER_ARG: initialSamplingRate: given more than once",
                "OTEL_TRACES_SAMPLER_ARG: expected key=value pairs separated by commas, got 'oops'",
                "OTEL_TRACES_SAMPLER_ARG: initialSamplingRate: must be a number between 0 and 1, got 'nan'",
            ],
        ),
        (
            file_arguments,
            None,
            [
                "OTEL_TRACES_SAMPLER_ARG: path: required; "
                "expected path=/etc/kubetrace/sampling.json[,reloadIntervalMs=10000]"
            ],
        ),
        (
            file_arguments,
            "path=,reloadIntervalMs=-5",
            [
                "OTEL_TRACES_SAMPLER_ARG: path: required; expected path=/etc/kubetrace/sampling.json[,reloadIntervalMs=10000]",
                "OTEL_TRACES_SAMPLER_ARG: reloadIntervalMs: must be a whole number of milliseconds >= 0, got '-5'",
            ],
        ),
    ],
    ids=["remote-several", "remote-endpoint", "remote-syntax", "file-no-path", "file-several"],
)
def test_bad_arguments_report_every_problem(parse, arg, expected):
    with pytest.raises(ConfigError) as err:
        parse(arg)
    assert [str(p) for p in err.value.problems] == expected


def test_build_sampler_makes_each_named_sampler(strategies_file):
    arguments = {
        "jaeger_file": f"path={strategies_file},reloadIntervalMs=0",
        "jaeger_remote": "endpoint=http://127.0.0.1:1",
    }
    for name in SAMPLER_NAMES:
        sampler = build_sampler(name, arguments[name.removeprefix("parentbased_")], "checkout")
        try:
            root = sampler.root if name.startswith("parentbased_") else sampler
            assert isinstance(sampler, ParentBased) is name.startswith("parentbased_")
            assert isinstance(root, JaegerFileSampler if "file" in name else JaegerRemoteSampler)
        finally:
            sampler.shutdown()


def test_parent_based_shutdown_reaches_the_jaeger_sampler():
    sampler = build_sampler(
        "parentbased_jaeger_remote", "endpoint=http://127.0.0.1:1,pollingIntervalMs=3600000", "svc"
    )
    thread = sampler.root._poller._thread
    sampler.shutdown()
    assert not thread.is_alive()


def test_build_sampler_refuses_other_names():
    with pytest.raises(ConfigError, match="unknown Jaeger sampler 'jaeger'"):
        build_sampler("jaeger", None, "svc")


def test_the_sdk_configurator_loads_the_file_sampler_entry_point(monkeypatch, strategies_file):
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "parentbased_jaeger_file")
    monkeypatch.setenv("OTEL_TRACES_SAMPLER_ARG", f"path={strategies_file},reloadIntervalMs=0")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "checkout")
    sampler = _import_sampler(_get_sampler())
    assert isinstance(sampler, ParentBasedJaegerSampler)
    assert sampler.root.strategy == Strategy("probabilistic", 0.5)


def test_the_service_name_may_come_from_resource_attributes(monkeypatch, strategies_file):
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "service.name=from-attributes,team=a")
    monkeypatch.setenv("OTEL_TRACES_SAMPLER_ARG", str(strategies_file))
    sampler = _import_sampler("jaeger_file")
    try:
        assert sampler.strategy == Strategy("ratelimiting", 5.0)
    finally:
        sampler.shutdown()


def test_the_sdk_configurator_loads_the_remote_sampler_entry_point(monkeypatch):
    monkeypatch.setenv("OTEL_TRACES_SAMPLER_ARG", "endpoint=http://127.0.0.1:1,initialSamplingRate=0.2")
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    monkeypatch.delenv("OTEL_RESOURCE_ATTRIBUTES", raising=False)
    sampler = _import_sampler("jaeger_remote")
    try:
        assert isinstance(sampler, JaegerRemoteSampler)
        assert sampler.url == "http://127.0.0.1:1/sampling?service=unknown_service"
        assert sampler.strategy == Strategy("probabilistic", 0.2)
    finally:
        sampler.shutdown()


def test_the_sdk_configurator_logs_our_message_for_bad_arguments(monkeypatch, caplog):
    monkeypatch.setenv("OTEL_TRACES_SAMPLER_ARG", "pollingIntervalMs=soon")
    with caplog.at_level(logging.WARNING):
        assert _import_sampler("parentbased_jaeger_remote") is None
    assert (
        "OTEL_TRACES_SAMPLER_ARG: pollingIntervalMs: must be a whole number of milliseconds >= 1, got 'soon'"
        in caplog.text
    )
