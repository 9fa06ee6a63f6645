"""The OpenTelemetry private state kubetrace reads is checked at import: a release that changed it
makes `import tracing` fail with a message naming the versions and the piece, never read wrongly."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version

import pytest
from opentelemetry import propagate
from opentelemetry import trace as trace_api

from tracing import _otel_private


def test_the_installed_opentelemetry_passes_the_check():
    assert _otel_private.problems() == []


def test_a_missing_piece_is_an_import_error_naming_the_versions_and_the_piece(monkeypatch):
    monkeypatch.delattr(propagate, "_HTTP_TEXT_FORMAT")
    with pytest.raises(ImportError) as raised:
        _otel_private.check()
    message = str(raised.value)
    assert f"opentelemetry-api {version('opentelemetry-api')}" in message
    assert f"opentelemetry-sdk {version('opentelemetry-sdk')}" in message
    assert "_HTTP_TEXT_FORMAT" in message


def test_a_changed_guard_is_reported(monkeypatch):
    monkeypatch.setattr(trace_api, "_TRACER_PROVIDER_SET_ONCE", object())
    assert _otel_private.problems() == [
        "opentelemetry.trace._TRACER_PROVIDER_SET_ONCE._done (AttributeError: "
        "'object' object has no attribute '_done')"
    ]


def test_importing_tracing_fails_loudly_when_a_sampler_keeps_its_delegates_elsewhere():
    # A release that renamed ParentBased's private delegates: simulated before tracing is imported.
    script = (
        "from opentelemetry.sdk.trace import sampling\n"
        "init = sampling.ParentBased.__init__\n"
        "def renamed(self, root, *args, **kwargs):\n"
        "    init(self, root, *args, **kwargs)\n"
        "    self._root_sampler = self.__dict__.pop('_root')\n"
        "sampling.ParentBased.__init__ = renamed\n"
        "import tracing\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert run.returncode == 1
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: kubetrace: opentelemetry-api ")
    assert "ParentBased's _root" in last
