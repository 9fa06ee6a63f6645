"""The HTTP interceptors' options are tracing Settings: `kubetrace config` shows each with its source,
the one precedence rule holds (setup() argument > environment > default; no file carries them), and
the middleware really uses the effective value, from the active setup() or, without one, the
environment. The zero-code plan's OTEL_PYTHON_DISABLED_INSTRUMENTATIONS is one of them too."""

from __future__ import annotations

import json

import pytest
import requests
from _http_support import wait_for_spans

import tracing
from kubetrace_auto._plan import plan_from_environment
from kubetrace_cli.cli import main
from tracing.config import resolve

CAPTURE = "OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_"
# setting, its variable, a raw value, the value it gives
OPTIONS = [
    ("http_excluded_urls", "KUBETRACE_HTTP_EXCLUDED_URLS", " /a, ,/b/ ", ["/a", "/b/"]),
    ("http_excluded_urls", "KUBETRACE_HTTP_EXCLUDED_URLS", "NONE", []),
    ("http_server_request_headers", CAPTURE + "SERVER_REQUEST", "X-A, x-b-.*,", ["X-A", "x-b-.*"]),
    ("http_server_response_headers", CAPTURE + "SERVER_RESPONSE", "content-type", ["content-type"]),
    ("http_client_request_headers", CAPTURE + "CLIENT_REQUEST", "x-tenant", ["x-tenant"]),
    ("http_client_response_headers", CAPTURE + "CLIENT_RESPONSE", "etag,x-r", ["etag", "x-r"]),
    ("http_sanitize_fields", CAPTURE + "SANITIZE_FIELDS", "pin", ["pin"]),
    (
        "disabled_instrumentations",
        "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS",
        "flask, requests",
        ["flask", "requests"],
    ),
]
DEFAULTS = {
    "http_excluded_urls": ["/healthz", "/livez", "/readyz", "/metrics"],
    "http_server_request_headers": [],
    "http_server_response_headers": [],
    "http_client_request_headers": [],
    "http_client_response_headers": [],
    "http_sanitize_fields": [],
    "disabled_instrumentations": [],
}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for _, variable, _, _ in OPTIONS:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.delenv("KUBETRACE_CONFIG", raising=False)
    yield
    tracing.shutdown()


def config_json(capsys) -> dict:
    assert main(["config", "--json"]) == 0
    return json.loads(capsys.readouterr().out)["settings"]


@pytest.mark.parametrize("setting, variable, raw, value", OPTIONS)
def test_each_option_shows_in_kubetrace_config_with_its_variable(
    setting, variable, raw, value, monkeypatch, capsys
):
    monkeypatch.setenv(variable, raw)
    assert config_json(capsys)[setting] == {"value": value, "source": f"env:{variable}"}


def test_unset_options_show_their_defaults(capsys):
    shown = config_json(capsys)
    assert {name: shown[name] for name in DEFAULTS} == {
        name: {"value": value, "source": "default"} for name, value in DEFAULTS.items()
    }


def test_the_plain_config_output_lists_them_as_yaml(monkeypatch, capsys):
    monkeypatch.setenv("KUBETRACE_HTTP_EXCLUDED_URLS", "/a,/b")
    assert main(["config"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(
        line.startswith("http_excluded_urls: [/a, /b]") and "# env:KUBETRACE_HTTP_EXCLUDED_URLS" in line
        for line in lines
    )


@pytest.mark.parametrize("setting, variable, raw, value", OPTIONS)
def test_an_argument_beats_the_environment_which_beats_the_default(setting, variable, raw, value):
    environ = {variable: raw}
    assert getattr(resolve({setting: ["/arg"]}, environ).settings, setting) == tracing.Sourced(
        ("/arg",), "argument"
    )
    assert getattr(resolve(environ=environ).settings, setting) == tracing.Sourced(
        tuple(value), f"env:{variable}"
    )
    assert getattr(resolve(environ={}).settings, setting) == tracing.Sourced(
        tuple(DEFAULTS[setting]), "default"
    )


@pytest.mark.parametrize("bad", ["/healthz", [1], 3])
def test_a_setup_argument_that_is_not_a_list_of_strings_is_refused(bad):
    with pytest.raises(
        tracing.ConfigError, match="setup\\(\\): http_excluded_urls: must be a list of strings"
    ):
        resolve({"http_excluded_urls": bad})


# -- the middleware uses the effective value -----------------------------------------------------------


def traced_paths(serve, recorder, paths, **options) -> list[str]:
    base = serve("wsgi", **options)
    for path in paths:
        requests.get(base + path, timeout=10)
    return sorted(s.attributes["url.path"] for s in wait_for_spans(recorder, 1))


def test_an_excluded_url_from_the_environment_makes_no_span(serve, recorder, monkeypatch):
    monkeypatch.setenv("KUBETRACE_HTTP_EXCLUDED_URLS", "/ok")
    assert traced_paths(serve, recorder, ["/ok", "/healthz"]) == ["/healthz"]


def test_the_active_setups_argument_beats_the_environment(serve, recorder, monkeypatch):
    monkeypatch.setenv("KUBETRACE_HTTP_EXCLUDED_URLS", "/ok")
    tracing.setup(traces_exporter=["none"], http_excluded_urls=["/healthz"])
    assert traced_paths(serve, recorder, ["/healthz", "/ok"]) == ["/ok"]


def test_a_middleware_argument_beats_the_active_setup(serve, recorder):
    tracing.setup(traces_exporter=["none"], http_excluded_urls=["/ok"])
    assert traced_paths(serve, recorder, ["/healthz", "/ok"], excluded_urls=["/healthz"]) == ["/ok"]


@pytest.mark.parametrize("how", ["environment", "setup"])
def test_captured_and_sanitized_headers_reach_the_span(how, serve, recorder, monkeypatch):
    if how == "environment":
        monkeypatch.setenv(CAPTURE + "SERVER_REQUEST", "x-tenant,x-pin")
        monkeypatch.setenv(CAPTURE + "SANITIZE_FIELDS", "pin")
    else:
        tracing.setup(
            traces_exporter=["none"],
            http_server_request_headers=["x-tenant", "x-pin"],
            http_sanitize_fields=["pin"],
        )
    base = serve("wsgi")
    requests.get(base + "/ok", headers={"X-Tenant": "blue", "X-Pin": "1234", "X-Other": "o"}, timeout=10)
    (span,) = wait_for_spans(recorder, 1)
    captured = {k: tuple(v) for k, v in span.attributes.items() if ".header." in k}
    assert captured == {
        "http.request.header.x-tenant": ("blue",),
        "http.request.header.x-pin": ("[REDACTED]",),
    }


def test_the_zero_code_plan_follows_the_settings(monkeypatch):
    monkeypatch.setenv("OTEL_PYTHON_DISABLED_INSTRUMENTATIONS", "flask")
    assert not plan_from_environment().enabled("flask") and plan_from_environment().enabled("requests")
    tracing.setup(traces_exporter=["none"], disabled_instrumentations=["requests"])
    assert plan_from_environment().enabled("flask") and not plan_from_environment().enabled("requests")


def test_a_broken_configuration_file_does_not_break_a_middleware_without_setup(
    serve, recorder, monkeypatch, tmp_path
):
    (tmp_path / "bad.yaml").write_text("kind: Nonsense\n")
    monkeypatch.setenv("KUBETRACE_CONFIG", str(tmp_path / "bad.yaml"))
    monkeypatch.setenv("KUBETRACE_HTTP_EXCLUDED_URLS", "/ok")
    assert traced_paths(serve, recorder, ["/ok", "/healthz"]) == ["/healthz"]
