"""JaegerFileSampler: the service's strategy from a file; reloads apply atomically, bad files keep the last good."""

from __future__ import annotations

import json
import logging
import time

import pytest
from opentelemetry.sdk.trace.sampling import Decision

from tracing import ConfigError
from tracing.sampling import JaegerFileSampler, Strategy

LOGGER = "kubetrace.sampling"


def _doc(probability: float, service: str = "api") -> str:
    return json.dumps(
        {
            "default_strategy": {"type": "probabilistic", "param": 0.001},
            "service_strategies": [{"service": service, "type": "probabilistic", "param": probability}],
        }
    )


@pytest.fixture
def strategies_file(tmp_path):
    path = tmp_path / "strategies.json"
    path.write_text(_doc(0.5))
    return path


@pytest.fixture
def sampler(strategies_file):
    sampler = JaegerFileSampler(strategies_file, "api", background=False)
    yield sampler
    sampler.shutdown()


def _warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno == logging.WARNING]


def test_the_services_strategy_decides_and_others_get_the_default(strategies_file):
    assert JaegerFileSampler(strategies_file, "api", background=False).strategy == Strategy(
        "probabilistic", 0.5
    )
    assert JaegerFileSampler(strategies_file, "other", background=False).strategy == Strategy(
        "probabilistic", 0.001
    )


def test_an_invalid_file_at_construction_raises_config_error(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"default_strategy": {"type": "sometimes", "param": 1}}')
    with pytest.raises(ConfigError) as err:
        JaegerFileSampler(path, "api", background=False)
    assert (
        str(err.value)
        == f'{path}: default_strategy.type: must be "probabilistic" or "ratelimiting", got "sometimes"'
    )


def test_a_missing_file_at_construction_raises_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read file: No such file or directory"):
        JaegerFileSampler(tmp_path / "missing.json", "api", background=False)


def test_a_changed_file_applies_on_reload(sampler, strategies_file):
    assert not sampler.reload()  # unchanged
    strategies_file.write_text(_doc(0.25))
    assert sampler.reload()
    assert sampler.strategy == Strategy("probabilistic", 0.25)


def test_a_change_that_does_not_concern_the_service_changes_nothing(sampler, strategies_file):
    strategies_file.write_text(_doc(0.5) + "\n")
    assert not sampler.reload()
    assert sampler.strategy == Strategy("probabilistic", 0.5)


def test_an_invalid_file_keeps_the_last_good_strategy_and_logs_once(sampler, strategies_file, caplog):
    strategies_file.write_text('{"default_strategy": {"type": "probabilistic", "param": 2}}')
    assert [sampler.reload() for _ in range(3)] == [False, False, False]
    assert sampler.strategy == Strategy("probabilistic", 0.5)
    assert _warnings(caplog) == [
        "kubetrace: invalid sampling strategies, keeping probabilistic 0.5:\n"
        f"{strategies_file}: default_strategy.param: must be a probability between 0 and 1, got 2"
    ]


def test_each_new_invalid_content_is_logged_once(sampler, strategies_file, caplog):
    for text in ("{", "{", "[]", "[]"):
        strategies_file.write_text(text)
        sampler.reload()
    assert len(_warnings(caplog)) == 2


def test_a_fixed_file_applies_and_logs_that_it_is_valid_again(sampler, strategies_file, caplog):
    caplog.set_level(logging.INFO, LOGGER)
    strategies_file.write_text("{")
    sampler.reload()
    strategies_file.write_text(_doc(0.75))
    assert sampler.reload()
    assert sampler.strategy == Strategy("probabilistic", 0.75)
    assert f"kubetrace: {strategies_file} is valid again" in caplog.messages


def test_a_missing_file_keeps_the_last_good_strategy_and_logs_once_per_disappearance(
    sampler, strategies_file, caplog
):
    strategies_file.unlink()
    assert not sampler.reload()
    assert not sampler.reload()
    assert sampler.strategy == Strategy("probabilistic", 0.5)
    assert _warnings(caplog) == [
        f"kubetrace: {strategies_file}: cannot read file: No such file or directory; keeping probabilistic 0.5"
    ]
    strategies_file.write_text(_doc(0.5))  # back, unchanged
    assert not sampler.reload()
    strategies_file.unlink()
    sampler.reload()
    assert len(_warnings(caplog)) == 2


def test_an_invalid_file_that_disappears_and_comes_back_is_not_logged_again(sampler, strategies_file, caplog):
    strategies_file.write_text("{")
    sampler.reload()
    strategies_file.unlink()
    sampler.reload()
    strategies_file.write_text("{")
    sampler.reload()
    sampler.reload()
    assert len(_warnings(caplog)) == 2  # invalid, then missing


def test_the_background_thread_reloads_a_changed_file(strategies_file):
    sampler = JaegerFileSampler(strategies_file, "api", reload_interval=0.005)
    try:
        strategies_file.write_text(_doc(0.125))
        deadline = time.monotonic() + 5
        while sampler.strategy.param != 0.125 and time.monotonic() < deadline:
            time.sleep(0.002)
        assert sampler.strategy == Strategy("probabilistic", 0.125)
    finally:
        sampler.shutdown()


def test_shutdown_stops_the_reload_thread_promptly(strategies_file):
    sampler = JaegerFileSampler(strategies_file, "api", reload_interval=3600)
    thread = sampler._poller._thread
    started = time.monotonic()
    sampler.shutdown()
    assert time.monotonic() - started < 1
    assert not thread.is_alive()


def test_a_zero_reload_interval_starts_no_thread(strategies_file):
    sampler = JaegerFileSampler(strategies_file, "api", reload_interval=0)
    assert sampler._poller is None
    sampler.shutdown()


def test_a_negative_reload_interval_is_refused(strategies_file):
    with pytest.raises(ConfigError, match="reload_interval: must be >= 0 seconds"):
        JaegerFileSampler(strategies_file, "api", reload_interval=-1)


def test_description_names_the_file_the_service_and_the_strategy(sampler, strategies_file):
    assert sampler.get_description() == f"JaegerFileSampler{{{strategies_file},api,probabilistic 0.5}}"


def test_operation_strategies_in_the_file_decide_by_span_name(tmp_path):
    path = tmp_path / "strategies.json"
    operations = [{"operation": "GET /healthz", "type": "probabilistic", "param": 0}]
    doc = {"default_strategy": {"type": "probabilistic", "param": 1, "operation_strategies": operations}}
    path.write_text(json.dumps(doc))
    sampler = JaegerFileSampler(path, "api", background=False)
    assert sampler.should_sample(None, 1, "GET /healthz").decision is Decision.DROP
    assert sampler.should_sample(None, 1, "GET /api").decision is Decision.RECORD_AND_SAMPLE
