"""Fixtures for the zero-code suites: a receiver for the whole module, this checkout's entry points."""

from __future__ import annotations

import pytest
from _zerocode import entry_points_for_tests

from kubetrace_cli.receiver import OtlpReceiver


@pytest.fixture(scope="module")
def receiver():
    with OtlpReceiver() as running:
        yield running


@pytest.fixture(scope="session")
def entry_points_dir(tmp_path_factory):
    return entry_points_for_tests(tmp_path_factory.mktemp("entry-points"))
