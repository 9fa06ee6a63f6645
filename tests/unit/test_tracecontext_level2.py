"""The trace-context propagator OTEL_PROPAGATORS=tracecontext installs, held to the W3C Trace Context
Level 2 rules: traceparent fields and versions, the random flag, the tracestate grammar, duplicate
and malformed members, and the 32-member and 512-character truncation rules.

Each case names the rule it checks; the tables follow the specification's text and the cases of the
W3C conformance suite (w3c/trace-context test/test.py), read by the Level 2 grammar.
"""

from __future__ import annotations

import logging

import pytest
from opentelemetry import propagate, trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace.span import DEFAULT_TRACE_STATE

import tracing
from tracing._otel_private import RANDOM_FLAG
from tracing.propagation import (
    HEADERS_GETTER,
    HEADERS_SETTER,
    METADATA_GETTER,
    extract,
    extract_metadata,
    inject,
)
from tracing.propagation._w3c_tracecontext import MAX_TRACEPARENT, TraceContextPropagator, parse_traceparent
from tracing.propagation._w3c_tracestate import LONG_MEMBER, MAX_LENGTH, MAX_MEMBERS, parse_tracestate

T, S = "12345678901234567890123456789012", "1234567890123456"
VALID = f"00-{T}-{S}-01"

TRACEPARENTS = {
    # value: (trace id, span id, flags) or None for "restart the trace"
    "sampled": (VALID, (T, S, 1)),
    "not sampled": (f"00-{T}-{S}-00", (T, S, 0)),
    "random flag": (f"00-{T}-{S}-02", (T, S, 2)),
    "sampled and random": (f"00-{T}-{S}-03", (T, S, 3)),
    "reserved flags are zeroed": (f"00-{T}-{S}-ff", (T, S, 3)),
    "flags are a bit field, not a number": (f"00-{T}-{S}-09", (T, S, 1)),
    "leading space": (" " + VALID, (T, S, 1)),
    "leading tab": ("\t" + VALID, (T, S, 1)),
    "trailing space": (VALID + " ", (T, S, 1)),
    "trailing tab": (VALID + "\t", (T, S, 1)),
    "both": ("\t " + VALID + " \t", (T, S, 1)),
    "version 00 with a trailing character": (VALID + ".", None),
    "version 00 with a future field": (VALID + "-what-the-future-will-be-like", None),
    "higher version, 55 characters": (f"cc-{T}-{S}-01", (T, S, 1)),
    "higher version with future fields": (f"cc-{T}-{S}-01-what-the-future-will-be-like", (T, S, 1)),
    "higher version, flags not followed by a dash": (f"cc-{T}-{S}-01.what-the-future", None),
    "higher version shorter than 55 characters": (f"cc-{T}-{S}-1", None),
    "higher version keeps the random flag": (f"01-{T}-{S}-03-x", (T, S, 3)),
    "version ff": (f"ff-{T}-{S}-01", None),
    "version with an illegal character": (f".0-{T}-{S}-01", None),
    "version with an illegal second character": (f"0.-{T}-{S}-01", None),
    "version of 3 digits": (f"000-{T}-{S}-01", None),
    "version of 1 digit": (f"0-{T}-{S}-01", None),
    "upper-case version": (f"0A-{T}-{S}-01", None),
    "trace id all zeros": (f"00-{'0' * 32}-{S}-01", None),
    "trace id with an illegal character": (f"00-.{T[1:]}-{S}-01", None),
    "trace id too long": (f"00-{T}3-{S}-01", None),
    "trace id too short": (f"00-{T[:-1]}-{S}-01", None),
    "upper-case trace id": (f"00-{'A' * 32}-{S}-01", None),
    "parent id all zeros": (f"00-{T}-{'0' * 16}-01", None),
    "parent id with an illegal character": (f"00-{T}-{S[:-1]}.-01", None),
    "parent id too long": (f"00-{T}-{S}7-01", None),
    "parent id too short": (f"00-{T}-{S[:-1]}-01", None),
    "flags with an illegal character": (f"00-{T}-{S}-.0", None),
    "flags too long": (f"00-{T}-{S}-001", None),
    "flags too short": (f"00-{T}-{S}-1", None),
    "empty": ("", None),
    "inner space": (f"00-{T[:5]} {T[6:]}-{S}-01", None),
    "0x inside an id": (f"00-0x{T[2:]}-{S}-01", None),
    "underscore inside an id": (f"00-{T[:9]}_{T[10:]}-{S}-01", None),
    "sign inside an id": (f"00-+{T[1:]}-{S}-01", None),
    "Arabic-Indic digit": (f"00-{T[:-1]}\u0663-{S}-01", None),
    "lone surrogate": (f"00-{T[:-1]}\ud800-{S}-01", None),
    "a tab run before a line break": (f"01-{T}-{S}-01-" + "\t" * 16000 + "\nx", None),
    "longest accepted": (f"cc-{T}-{S}-01-" + "x" * (MAX_TRACEPARENT - 56), (T, S, 1)),
    "one character longer": (f"cc-{T}-{S}-01-" + "x" * (MAX_TRACEPARENT - 55), None),
}


def _ids(span_context):
    if span_context is None or not span_context.is_valid:
        return None
    return f"{span_context.trace_id:032x}", f"{span_context.span_id:016x}", int(span_context.trace_flags)


@pytest.mark.parametrize("case", TRACEPARENTS)
def test_traceparent(case):
    value, expected = TRACEPARENTS[case]
    assert _ids(parse_traceparent(value)) == expected
    extracted = TraceContextPropagator().extract({"traceparent": value})
    assert _ids(trace.get_current_span(extracted).get_span_context()) == expected
    # gRPC's one-pass read agrees, whether the value is canonical or not
    assert (
        _ids(trace.get_current_span(extract_metadata([("traceparent", value)])).get_span_context())
        == expected
    )


@pytest.mark.parametrize(
    "values",
    [
        [VALID, VALID],
        [VALID, f"00-{T[:-1]}1-{S}-01"],
        ["garbage", VALID],
        [VALID, "garbage"],
    ],
    ids=["identical", "different", "garbage first", "garbage second"],
)
def test_several_traceparent_fields_restart_the_trace(values):
    metadata = [("traceparent", v) for v in values]
    for extracted in (extract(metadata, METADATA_GETTER), extract_metadata(metadata)):
        assert not trace.get_current_span(extracted).get_span_context().is_valid
    joined = {"traceparent": ", ".join(values)}  # how an HTTP server hands over repeated fields
    assert not trace.get_current_span(extract(joined, HEADERS_GETTER)).get_span_context().is_valid


def test_a_higher_version_is_sent_on_as_version_00_without_its_unknown_fields():
    carrier: dict[str, str] = {}
    inject(carrier, HEADERS_SETTER, extract({"traceparent": f"cc-{T}-{S}-03-future"}, HEADERS_GETTER))
    assert carrier == {"traceparent": f"00-{T}-{S}-03"}


def test_a_child_keeps_the_random_flag_and_a_new_root_sets_it():
    """Where opentelemetry-api names the random flag (RANDOM_FLAG != 0) the SDK keeps it for children
    and sets it for roots; the propagator reads and writes it either way."""
    provider = TracerProvider(shutdown_on_exit=False)
    tracer = provider.get_tracer("t")
    for incoming, expected in ((f"00-{T}-{S}-03", 1 | RANDOM_FLAG), (f"00-{T}-{S}-01", 1)):
        parent = extract({"traceparent": incoming}, HEADERS_GETTER)
        with tracer.start_as_current_span("child", context=parent) as span:
            assert int(span.get_span_context().trace_flags) == expected
    with tracer.start_as_current_span("root") as span:
        assert span.get_span_context().trace_flags & 2 == RANDOM_FLAG


# -- tracestate ------------------------------------------------------------------------------------

KEYCHARS = "abcdefghijklmnopqrstuvwxyz0123456789_-*/"
VALUE_CHARS = "".join(map(chr, [*range(0x20, 0x2C), *range(0x2D, 0x3D), *range(0x3E, 0x7F)]))

TRACESTATES = {
    # header: the tracestate sent on
    "one member": ("rojo=00f067aa0ba902b7", "rojo=00f067aa0ba902b7"),
    "two members, in order": ("foo=1,bar=2", "foo=1,bar=2"),
    "a key starting with a digit": ("1foo=1", "1foo=1"),
    "@ at the end of a key": ("foo@=1,bar=2", "foo@=1,bar=2"),
    "@ twice in a key": ("foo@@bar=1,bar=2", "foo@@bar=1,bar=2"),
    "@ in three parts": ("foo@bar@baz=1,bar=2", "foo@bar@baz=1,bar=2"),
    "a multi-tenant key longer than Level 1 allowed": ("t" * 242 + "@v=1", "t" * 242 + "@v=1"),
    "a key of 256 characters": ("k" * 256 + "=1", "k" * 256 + "=1"),
    "every key and value character": (
        f"{KEYCHARS}@a-z0-9_-*/={VALUE_CHARS}",
        f"{KEYCHARS}@a-z0-9_-*/={VALUE_CHARS}",
    ),
    "a value of 256 characters": ("k=" + "v" * 256, "k=" + "v" * 256),
    "a leading space is part of the value": ("foo= 1", "foo= 1"),
    "optional whitespace around members": ("foo=1 \t , \t bar=2, \t baz=3", "foo=1,bar=2,baz=3"),
    "tabs and spaces around members": ("\t foo=1 \t", "foo=1"),
    "empty members": (",,foo=1, ,\t,bar=2,", "foo=1,bar=2"),
    "empty header": ("", ""),
    # a member the grammar refuses costs only itself
    "a key starting with @": ("@foo=1,bar=2", "bar=2"),
    "an upper-case key": ("FOO=1,bar=2", "bar=2"),
    "a dot in a key": ("foo.bar=1,bar=2", "bar=2"),
    "a space before =": ("foo =1,bar=2", "bar=2"),
    "a key of 257 characters": ("k" * 257 + "=1,bar=2", "bar=2"),
    "a value of 257 characters": ("k=" + "v" * 257 + ",bar=2", "bar=2"),
    "an empty value": ("foo=,bar=2", "bar=2"),
    "= in a value": ("foo=a=b,bar=2", "bar=2"),
    "no =": ("foo,bar=2", "bar=2"),
    "a tab inside a value": ("foo=a\tb,bar=2", "bar=2"),
    "a lone surrogate": ("foo=\ud800,bar=2", "bar=2"),
    "non-ASCII": ("foo=\u00e9t\u00e9,bar=2", "bar=2"),
    # duplicates are discarded, not the header; the left-most entry is the most recent position
    "a duplicate key": ("foo=1,bar=2,foo=3", "foo=1,bar=2"),
    "a duplicate member": ("foo=1,foo=1", "foo=1"),
}


@pytest.mark.parametrize("case", TRACESTATES)
def test_tracestate(case, caplog):
    header, sent = TRACESTATES[case]
    caplog.set_level(logging.DEBUG)
    state = parse_tracestate([header])
    assert state.to_header() == sent
    assert (state is DEFAULT_TRACE_STATE) is (sent == "")
    # sent on by a child span as it was received (the SDK keeps the parent's TraceState object)
    parent = extract({"traceparent": VALID, "tracestate": header}, HEADERS_GETTER)
    tracer = TracerProvider(shutdown_on_exit=False).get_tracer("t")
    with tracer.start_as_current_span("child", context=parent) as span:
        carrier: dict[str, str] = {}
        inject(carrier, HEADERS_SETTER)
    assert carrier["traceparent"].split("-")[1] == T
    assert carrier.get("tracestate", "") == sent
    assert span.get_span_context().trace_state.to_header() == sent
    # a malformed member is a debug line at most, never a warning per request
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_several_tracestate_fields_are_one_list_in_order():
    metadata = [("traceparent", VALID), ("tracestate", "foo=1,bar=2"), ("tracestate", "rojo=1,congo=2")]
    metadata += [("tracestate", ""), ("tracestate", "baz=3,foo=4")]
    span_context = trace.get_current_span(extract_metadata(metadata)).get_span_context()
    assert span_context.trace_state.to_header() == "foo=1,bar=2,rojo=1,congo=2,baz=3"


def test_tracestate_is_read_only_with_a_valid_traceparent():
    for headers in ({"tracestate": "foo=1"}, {"traceparent": "garbage", "tracestate": "foo=1"}):
        assert extract(headers, HEADERS_GETTER) == extract({}, HEADERS_GETTER)


@pytest.mark.parametrize("bad", ["foo=\ud800", "===,,,", "x" * 100000, "\x00"])
def test_a_bad_tracestate_never_costs_the_traceparent(bad):
    for extracted in (
        extract({"traceparent": VALID, "tracestate": bad}, HEADERS_GETTER),
        extract_metadata([("traceparent", VALID), ("tracestate", bad)]),
    ):
        assert _ids(trace.get_current_span(extracted).get_span_context()) == (T, S, 1)


def _members(count: int, size: int = 5) -> list[str]:
    return [f"k{i:02d}=" + "v" * (size - 4) for i in range(count)]


def test_32_members_are_kept_and_more_are_removed_from_the_end():
    assert parse_tracestate([",".join(_members(MAX_MEMBERS))]).to_header() == ",".join(_members(MAX_MEMBERS))
    assert parse_tracestate([",".join(_members(40))]).to_header() == ",".join(_members(MAX_MEMBERS))
    # malformed and duplicate members do not count
    noisy = ["k00=1", "bad key=1", "k00=dup", *_members(MAX_MEMBERS + 1)[1:]]
    assert parse_tracestate([",".join(noisy)]).to_header() == ",".join(["k00=1", *_members(MAX_MEMBERS)[1:]])


def test_over_512_characters_members_over_128_go_first_then_from_the_end():
    long = [f"l{i}=" + "x" * (LONG_MEMBER + 10) for i in range(3)]  # 141 characters each
    short = _members(20, size=20)  # 20 characters each
    # 3 x 141 + 20 x 20 + 22 commas = 845: dropping two long members (from the end) is not enough
    # (563), the third makes 421: all short members stay.
    assert parse_tracestate(
        [",".join([long[0], *short[:10], long[1], *short[10:], long[2]])]
    ).to_header() == (",".join(short))
    # with only short members, whole ones are removed from the end
    many = _members(30, size=20)  # 30 x 20 + 29 = 629
    kept = parse_tracestate([",".join(many)]).to_header()
    assert kept == ",".join(many[:24]) and len(kept) == 24 * 21 - 1 <= MAX_LENGTH
    # a header that fits is never truncated, long members included
    fits = [long[0], long[1], *short[:10]]
    assert parse_tracestate([",".join(fits)]).to_header() == ",".join(fits)


def test_a_long_member_is_removed_only_as_far_as_needed():
    long = [f"l{i}=" + "x" * (LONG_MEMBER + 10) for i in range(4)]  # 4 x 141 + 3 = 567
    assert parse_tracestate([",".join(long)]).to_header() == ",".join(long[:3])


def test_tracestate_survives_the_configured_propagators_on_every_carrier():
    propagate.set_global_textmap(tracing.build_propagator(("tracecontext", "baggage")))
    header = "1foo=1,foo@bar@baz=2,foo=3"
    for extracted in (
        extract({"traceparent": VALID, "tracestate": header}, HEADERS_GETTER),
        extract([("traceparent", VALID), ("tracestate", header)], METADATA_GETTER),
        extract_metadata([("traceparent", VALID), ("tracestate", header)]),
    ):
        assert trace.get_current_span(extracted).get_span_context().trace_state.to_header() == header
