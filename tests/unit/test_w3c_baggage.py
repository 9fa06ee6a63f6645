"""Our W3C baggage propagator percent-encodes as the specification (and Go) does."""

from __future__ import annotations

import pytest
from opentelemetry import baggage

from tracing.propagation._w3c_baggage import MAX_MEMBERS, W3CBaggagePropagator

PROPAGATOR = W3CBaggagePropagator()


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("k=a+b", {"k": "a+b"}),  # '+' is a literal baggage octet, not a space
        ("k=team%20a", {"k": "team a"}),
        ("k=50%25,eq=a%3Db", {"k": "50%", "eq": "a=b"}),
        ("name=Zo%C3%AB", {"name": "Zoë"}),
        (" k = v ;prop=1, j=w", {"k": "v", "j": "w"}),  # optional whitespace; properties dropped
        ("novalue,=x,k=v", {"k": "v"}),  # malformed members are skipped, not fatal
        ("k=%ff", {}),  # not UTF-8 after decoding
        ("x" * 9000, {}),  # over 8192 bytes: ignored whole
    ],
)
def test_extract(header, expected):
    assert dict(baggage.get_all(PROPAGATOR.extract({"baggage": header}))) == expected


def test_inject_percent_encodes_what_w3c_requires_and_keeps_the_rest_literal():
    ctx = None
    for key, value in {
        "note": "team a",
        "sum": "1+1",
        "ratio": "50%",
        "list": "a,b;c",
        "name": "Zoë",
    }.items():
        ctx = baggage.set_baggage(key, value, ctx)
    carrier: dict[str, str] = {}
    PROPAGATOR.inject(carrier, ctx)
    assert carrier["baggage"] == "note=team%20a,sum=1+1,ratio=50%25,list=a%2Cb%3Bc,name=Zo%C3%AB"
    assert dict(baggage.get_all(PROPAGATOR.extract(carrier))) == {
        "note": "team a",
        "sum": "1+1",
        "ratio": "50%",
        "list": "a,b;c",
        "name": "Zoë",
    }


def test_inject_stops_at_the_w3c_member_limit():
    ctx = None
    for i in range(MAX_MEMBERS + 5):
        ctx = baggage.set_baggage(f"k{i}", "v", ctx)
    carrier: dict[str, str] = {}
    PROPAGATOR.inject(carrier, ctx)
    assert carrier["baggage"].count(",") == MAX_MEMBERS - 1
