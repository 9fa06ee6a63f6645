"""Baggage helpers keep every entry within the W3C limits, so what is set is what is sent."""

from __future__ import annotations

import logging
from urllib.parse import quote

import pytest
from opentelemetry import baggage, context

from tracing.propagation import (
    HEADERS_GETTER,
    HEADERS_SETTER,
    baggage_items,
    extract,
    get_baggage,
    inject,
    set_baggage,
)
from tracing.propagation._w3c_baggage import MAX_HEADER_BYTES, MAX_MEMBERS


def _sent(ctx) -> dict[str, str]:
    headers: dict[str, str] = {}
    inject(headers, HEADERS_SETTER, ctx)
    return headers


def test_set_and_get_round_trip_through_the_header():
    ctx = set_baggage("tenant", "acme corp")
    ctx = set_baggage("retries", 3, ctx)
    assert get_baggage("retries", ctx) == "3"
    assert baggage_items(ctx) == {"tenant": "acme corp", "retries": "3"}
    assert baggage_items(extract(_sent(ctx), HEADERS_GETTER)) == {"tenant": "acme corp", "retries": "3"}


def test_the_current_context_is_the_default_and_is_not_modified():
    token = context.attach(set_baggage("tenant", "acme"))
    try:
        ctx = set_baggage("zone", "eu-1")
        assert get_baggage("tenant") == "acme" and get_baggage("zone") is None
        assert baggage_items(ctx) == {"tenant": "acme", "zone": "eu-1"}
    finally:
        context.detach(token)
    assert baggage_items() == {}


@pytest.mark.parametrize("key", ["", "has space", "semi;colon", "comma,", 'quote"', "é", None, 5])
def test_an_invalid_key_is_dropped(key, caplog):
    caplog.set_level(logging.DEBUG, "kubetrace.propagation")
    base = set_baggage("ok", "1")
    assert set_baggage(key, "v", base) is base
    assert "dropped" in caplog.text


def test_one_rule_for_entries_set_and_received():
    """W3C Baggage has no per-entry limit, only floors for the whole header: an entry larger than
    the old 4096-byte entry limit is kept whether it is set here or received, and sent on whole."""
    big = "v" * 5000
    received = extract({"baggage": f"k={big}"}, HEADERS_GETTER)
    assert get_baggage("k", received) == big == get_baggage("k", set_baggage("k", big))
    assert _sent(received) == _sent(set_baggage("k", big)) == {"baggage": f"k={big}"}


@pytest.mark.parametrize(
    "value",
    [
        "v" * (MAX_HEADER_BYTES - len("k=") + 1),
        # é is two UTF-8 bytes, six once percent-encoded: the limit is on what goes on the wire.
        "é" * (MAX_HEADER_BYTES // 6 + 1),
    ],
    ids=["one byte over", "over once encoded"],
)
def test_an_entry_that_cannot_fit_is_neither_set_nor_received(value):
    fits = "v" * (MAX_HEADER_BYTES - len("k="))
    assert get_baggage("k", set_baggage("k", fits)) == fits
    assert len(value) <= MAX_HEADER_BYTES < len("k=" + quote(value))
    assert baggage_items(set_baggage("k", value)) == {}
    header = "k=" + quote(value)
    assert baggage_items(extract({"baggage": f"small=1,{header},after=2"}, HEADERS_GETTER)) == {
        "small": "1",
        "after": "2",
    }


def test_entries_beyond_the_member_limit_are_dropped_and_earlier_ones_kept():
    ctx = context.get_current()
    for i in range(MAX_MEMBERS + 5):
        ctx = set_baggage(f"k{i}", "v", ctx)
    items = baggage_items(ctx)
    assert list(items) == [f"k{i}" for i in range(MAX_MEMBERS)]
    assert baggage_items(extract(_sent(ctx), HEADERS_GETTER)) == items


def test_an_entry_that_would_overflow_the_header_is_dropped_and_smaller_later_ones_still_fit():
    ctx = context.get_current()
    for i in range(3):
        ctx = set_baggage(f"big{i}", "x" * 2500, ctx)
    ctx = set_baggage("big3", "x" * 2500, ctx)  # 4 x 2505 bytes > 8192
    ctx = set_baggage("small", "y", ctx)
    assert sorted(baggage_items(ctx)) == ["big0", "big1", "big2", "small"]
    header = _sent(ctx)["baggage"]
    assert len(header) <= MAX_HEADER_BYTES
    assert baggage_items(extract({"baggage": header}, HEADERS_GETTER)) == baggage_items(ctx)


def test_replacing_a_value_is_judged_on_the_new_value():
    ctx = set_baggage("k", "x" * 4000)
    ctx = set_baggage("other", "x" * 4090, ctx)  # 4002 + "," + 4096 bytes: fits
    assert get_baggage("k", set_baggage("k", "x" * 100, ctx)) == "x" * 100
    # 4096 + "," + 4096 bytes: the header would not fit, so the old value stays.
    assert get_baggage("k", set_baggage("k", "x" * 4094, ctx)) == "x" * 4000


def test_values_set_through_the_opentelemetry_api_are_readable():
    ctx = baggage.set_baggage("n", 7)
    assert get_baggage("n", ctx) == "7"
    assert baggage_items(ctx) == {"n": "7"}
