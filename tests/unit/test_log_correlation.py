"""Log correlation: records made in a span carry its ids for any formatter, blanks outside one, and
JsonFormatter writes them with Kubernetes' JSON log field names."""

from __future__ import annotations

import json
import logging
import logging.handlers
import queue
import subprocess
import sys
import threading

import pytest
from opentelemetry import trace

import tracing


@pytest.fixture
def setup(otlp_receiver):
    """tracing.setup(...) exporting to the test's receiver, shut down after the test."""
    handles = []

    def set_up(**settings):
        handles.append(tracing.setup(endpoint=f"http://{otlp_receiver.grpc_endpoint}", **settings))
        return handles[-1]

    yield set_up
    tracing.shutdown(timeout_ms=2000)


@pytest.fixture
def captured():
    """Records of the logger "app", as they reach its handler."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = logging.getLogger("app")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield records
    logger.removeHandler(handler)


def _ids(span: trace.Span) -> tuple[str, str, str]:
    context = span.get_span_context()
    return f"{context.trace_id:032x}", f"{context.span_id:016x}", f"{context.trace_flags:02x}"


def test_a_record_made_in_a_span_carries_its_trace_span_flags_and_service(setup, captured):
    setup(service_name="billing")
    with trace.get_tracer("test").start_as_current_span("charge") as span:
        logging.getLogger("app").info("charged")
    (record,) = captured
    assert (record.trace_id, record.span_id, record.trace_flags) == _ids(span)
    assert int(record.trace_flags, 16) & 1 == 1  # sampled
    assert record.service_name == "billing"


def test_outside_a_span_the_attributes_are_blank_so_any_format_still_works(setup, captured):
    setup(service_name="billing")
    logging.getLogger("app").warning("no span")
    (record,) = captured
    fmt = logging.Formatter("%(trace_id)s|%(span_id)s|%(trace_flags)s|%(service_name)s %(message)s")
    assert fmt.format(record) == "|||billing no span"
    assert logging.Formatter("{trace_id}:{message}", style="{").format(record) == ":no span"


def test_records_keep_the_ids_of_the_thread_that_logged_them_through_a_queue_handler(setup):
    setup()
    q: queue.Queue = queue.Queue()
    lines: list[str] = []
    sink = logging.Handler()
    sink.setFormatter(logging.Formatter("%(trace_id)s %(span_id)s %(message)s"))
    sink.emit = lambda record: lines.append(sink.format(record))
    listener = logging.handlers.QueueListener(q, sink)
    logger = logging.getLogger("app.queued")
    logger.addHandler(logging.handlers.QueueHandler(q))
    listener.start()
    try:
        spans = []

        def work(n: int) -> None:
            with trace.get_tracer("test").start_as_current_span(f"job {n}") as span:
                spans.append(span)
                logger.warning("job %d", n)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        listener.stop()
        logger.handlers.clear()
    expected = {f"{_ids(s)[0]} {_ids(s)[1]} job {s.name.split()[1]}" for s in spans}
    assert set(lines) == expected


def test_after_shutdown_records_get_blanks_and_a_new_setup_correlates_again(setup, captured):
    first = setup(service_name="one")
    first.shutdown(timeout_ms=2000)
    tracer = trace.get_tracer("test")
    with tracer.start_as_current_span("after"):
        logging.getLogger("app").info("after shutdown")
    setup(service_name="two")
    with tracer.start_as_current_span("again") as span:
        logging.getLogger("app").info("set up again")
    after, again = captured
    assert (after.trace_id, after.service_name) == ("", "one")
    assert (again.trace_id, again.span_id) == _ids(span)[:2] and again.service_name == "two"


@pytest.mark.parametrize("how", ["argument", "environment"])
def test_correlation_is_one_switch(setup, captured, monkeypatch, how):
    if how == "argument":
        handle = setup(log_correlation=False)
    else:
        monkeypatch.setenv("KUBETRACE_LOG_CORRELATION", "false")
        handle = setup()
    assert handle.settings.log_correlation.source == (
        "argument" if how == "argument" else "env:KUBETRACE_LOG_CORRELATION"
    )
    with trace.get_tracer("test").start_as_current_span("quiet"):
        logging.getLogger("app").info("not correlated")
    (record,) = captured
    assert getattr(record, "trace_id", "") == ""


def test_correlation_is_on_by_default(setup):
    assert setup().settings.log_correlation.value is True


def _json(record: logging.LogRecord) -> dict:
    line = tracing.JsonFormatter().format(record)
    assert "\n" not in line
    return json.loads(line)


def test_json_lines_use_kubernetes_field_names_with_the_ids_inside_a_span(setup, captured):
    setup(service_name="billing")
    with trace.get_tracer("test").start_as_current_span("charge") as span:
        logging.getLogger("app").info("charged %s for %s", "5€", "pod", extra={"pod": "default/nginx"})
    (record,) = captured
    doc = _json(record)
    assert list(doc) == [
        "ts", "caller", "logger", "msg", "v", "trace_id", "span_id", "trace_flags", "service.name", "pod",
    ]  # fmt: skip
    assert doc["ts"] == pytest.approx(record.created * 1000)  # milliseconds, as Kubernetes writes them
    assert doc["caller"] == f"test_log_correlation.py:{record.lineno}"
    assert (doc["logger"], doc["msg"], doc["v"], doc["pod"]) == (
        "app",
        "charged 5€ for pod",
        0,
        "default/nginx",
    )
    assert (doc["trace_id"], doc["span_id"], doc["trace_flags"]) == _ids(span)
    assert doc["service.name"] == "billing"


def test_json_lines_outside_a_span_have_no_ids_and_errors_carry_err(setup, captured):
    setup()
    log = logging.getLogger("app")
    log.debug("detail")
    try:
        raise ValueError("disk full")
    except ValueError:
        log.exception("write failed")
    log.error("no exception here")
    detail, failed, plain_error = map(_json, captured)
    assert detail["v"] == 4 and "trace_id" not in detail  # DEBUG is Kubernetes' V(4)
    assert failed["err"] == "disk full" and "ValueError: disk full" in failed["stacktrace"]
    assert "v" not in failed and "v" not in plain_error and "err" not in plain_error


def test_json_lines_of_the_root_logger_name_no_logger(setup):
    setup()
    record = logging.LogRecord("root", logging.INFO, __file__, 1, "m", (), None)
    assert "logger" not in _json(record)


def test_json_values_that_json_cannot_hold_are_written_as_text(setup, captured):
    setup()
    logging.getLogger("app").info("odd", extra={"where": sys})
    assert _json(captured[0])["where"] == str(sys)


def test_correlate_logs_serves_a_tracer_provider_of_your_own(tmp_path):
    """Without setup(): an SDK provider the program builds and sets, and tracing.correlate_logs(),
    which takes service.name from that provider's resource; its stop function leaves blanks."""
    script = tmp_path / "own_provider.py"
    script.write_text(
        "import logging, sys\n"
        "from opentelemetry import trace\n"
        "from opentelemetry.sdk.resources import Resource\n"
        "from opentelemetry.sdk.trace import TracerProvider\n"
        "import tracing\n"
        "trace.set_tracer_provider(TracerProvider(resource=Resource.create({'service.name': 'own'})))\n"
        "handler = logging.StreamHandler(sys.stdout)\n"
        "handler.setFormatter(logging.Formatter('%(message)s|%(trace_id)s|%(span_id)s|%(service_name)s'))\n"
        "log = logging.getLogger('own')\n"
        "log.addHandler(handler)\n"
        "stop = tracing.correlate_logs()\n"
        "with trace.get_tracer('t').start_as_current_span('work') as span:\n"
        "    log.warning('inside')\n"
        "    c = span.get_span_context()\n"
        "    print(f'span|{c.trace_id:032x}|{c.span_id:016x}')\n"
        "log.warning('outside')\n"
        "stop()\n"
        "with trace.get_tracer('t').start_as_current_span('later'):\n"
        "    log.warning('stopped')\n"
    )
    proc = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=True
    )
    inside, span, outside, stopped = (line.split("|") for line in proc.stdout.splitlines())
    assert span[0] == "span" and inside == ["inside", span[1], span[2], "own"]
    assert outside == ["outside", "", "", "own"]
    assert stopped == ["stopped", "", "", "own"]
