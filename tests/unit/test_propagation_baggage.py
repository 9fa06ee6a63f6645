"""Baggage helpers keep every entry within the W3C limits, so what is set is what is sent."""

from __future__ import annotations

import logging
from urllib.parse import quote_plus

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
from tracing.propagation._baggage import MAX_ENTRIES, MAX_ENTRY_BYTES, MAX_TOTAL_BYTES


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


def test_an_entry_over_the_per_entry_limit_is_dropped_counting_encoded_bytes():
    fits = "v" * (MAX_ENTRY_BYTES - len("k="))
    assert get_baggage("k", set_baggage("k", fits)) == fits
    assert baggage_items(set_baggage("k", fits + "v")) == {}
    # é is two UTF-8 bytes, six once percent-encoded: the limit is on what goes on the wire.
    wide = "é" * (MAX_ENTRY_BYTES // 6 + 1)
    assert len(wide) < MAX_ENTRY_BYTES and len(quote_plus(wide)) > MAX_ENTRY_BYTES
    assert baggage_items(set_baggage("k", wide)) == {}


def test_entries_beyond_the_member_limit_are_dropped_and_earlier_ones_kept():
    ctx = context.get_current()
    for i in range(MAX_ENTRIES + 5):
        ctx = set_baggage(f"k{i}", "v", ctx)
    items = baggage_items(ctx)
    assert list(items) == [f"k{i}" for i in range(MAX_ENTRIES)]
    assert baggage_items(extract(_sent(ctx), HEADERS_GETTER)) == items


def test_an_entry_that_would_overflow_the_header_is_dropped_and_smaller_later_ones_still_fit():
    ctx = context.get_current()
    for i in range(3):
        ctx = set_baggage(f"big{i}", "x" * 2500, ctx)
    ctx = set_baggage("big3", "x" * 2500, ctx)  # 4 x 2505 bytes > 8192
    ctx = set_baggage("small", "y", ctx)
    assert sorted(baggage_items(ctx)) == ["big0", "big1", "big2", "small"]
    header = _sent(ctx)["baggage"]
    assert len(header) <= MAX_TOTAL_BYTES
    assert baggage_items(extract({"baggage": header}, HEADERS_GETTER)) == baggage_items(ctx)


def test_replacing_a_value_is_judged_on_the_new_value():
    ctx = set_baggage("k", "x" * 4000)
    ctx = set_baggage("other", "x" * 4090, ctx)  # "other=" + 4090: exactly the per-entry limit
    assert get_baggage("k", set_baggage("k", "x" * 100, ctx)) == "x" * 100
    # 4096 + "," + 4096 bytes: each entry fits, the header would not, so the old value stays.
    assert get_baggage("k", set_baggage("k", "x" * 4094, ctx)) == "x" * 4000


def test_values_set_through_the_opentelemetry_api_are_readable():
    ctx = baggage.set_baggage("n", 7)
    assert get_baggage("n", ctx) == "7"
    assert baggage_items(ctx) == {"n": "7"}
