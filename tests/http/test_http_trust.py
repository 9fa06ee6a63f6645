"""Trust policy: trusted incoming context is the parent; untrusted becomes a link on a new root."""

from __future__ import annotations

import pytest
import requests
from _http_support import SERVERS, wait_for_spans

from interceptors.http import TRUST_ALL, TRUST_NONE, trust_callers
from tracing.propagation import CONFIGURED_TRUST

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
PARENT_ID = "b7ad6b7169203331"
INCOMING = {"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01", "baggage": "tenant=blue"}


def _privileged(caller):
    # kube-apiserver trusts only system:masters and system:monitoring; here an authenticating proxy
    # in front of the service tells the groups in a header.
    groups = (caller.header("X-Remote-Group") or "").split(",")
    return (
        caller.protocol == "http"
        and caller.peer == "127.0.0.1"
        and bool({"system:masters", "system:monitoring"} & set(groups))
    )


def _assert_parent(span, seen):
    assert f"{span.context.trace_id:032x}" == TRACE_ID
    assert f"{span.parent.span_id:016x}" == PARENT_ID
    assert list(span.links) == []
    assert seen["baggage"] == {"tenant": "blue"}


def _assert_linked_root(span, seen):
    assert span.parent is None
    assert f"{span.context.trace_id:032x}" != TRACE_ID
    (link,) = span.links
    assert (f"{link.context.trace_id:032x}", f"{link.context.span_id:016x}") == (TRACE_ID, PARENT_ID)
    assert seen["trace_id"] == f"{span.context.trace_id:032x}"
    assert seen["baggage"] == {}  # an untrusted caller puts nothing in our context


@pytest.mark.parametrize("kind", SERVERS)
def test_trust_none_makes_a_new_root_linked_to_the_callers_context(kind, serve, recorder):
    base = serve(kind, trust_policy=TRUST_NONE)
    seen = requests.get(base + "/context", headers=INCOMING).json()
    (span,) = wait_for_spans(recorder, 1)
    _assert_linked_root(span, seen)


@pytest.mark.parametrize(
    "groups, trusted",
    [
        ("system:masters", True),
        ("system:authenticated,system:monitoring", True),
        ("system:authenticated", False),
        (None, False),
    ],
)
@pytest.mark.parametrize("kind", ["wsgi", "asgi"])
def test_a_predicate_trusts_only_the_callers_it_accepts(kind, groups, trusted, serve, recorder):
    base = serve(kind, trust_policy=trust_callers(_privileged, "privileged groups"))
    headers = dict(INCOMING, **({"X-Remote-Group": groups} if groups else {}))
    seen = requests.get(base + "/context", headers=headers).json()
    (span,) = wait_for_spans(recorder, 1)
    (_assert_parent if trusted else _assert_linked_root)(span, seen)


@pytest.mark.parametrize("kind", ["wsgi", "asgi"])
def test_a_predicate_that_raises_means_untrusted_and_the_request_still_succeeds(kind, serve, recorder):
    def broken(caller):
        raise RuntimeError("predicate bug")

    base = serve(kind, trust_policy=trust_callers(broken))
    response = requests.get(base + "/context", headers=INCOMING)
    assert response.status_code == 200
    (span,) = wait_for_spans(recorder, 1)
    _assert_linked_root(span, response.json())


@pytest.mark.parametrize("kind", ["wsgi", "asgi"])
def test_predicate_gets_the_native_request(kind, serve, recorder):
    got = []
    base = serve(
        kind, trust_policy=trust_callers(lambda caller: got.append(type(caller.request).__name__) or True)
    )
    requests.get(base + "/context", headers=INCOMING)
    wait_for_spans(recorder, 1)
    assert got == ["dict"]  # the WSGI environ, the ASGI scope


@pytest.mark.parametrize("configured, expect", [(TRUST_NONE, _assert_linked_root), (None, _assert_parent)])
def test_default_policy_is_the_one_tracing_setup_configured(configured, expect, serve, recorder, monkeypatch):
    if configured:
        monkeypatch.setattr(CONFIGURED_TRUST, "policy", configured)  # what setup(trust_incoming=...) sets
    base = serve("wsgi")
    seen = requests.get(base + "/context", headers=INCOMING).json()
    (span,) = wait_for_spans(recorder, 1)
    expect(span, seen)


def test_an_explicit_policy_beats_the_configured_default(serve, recorder, monkeypatch):
    monkeypatch.setattr(CONFIGURED_TRUST, "policy", TRUST_NONE)
    base = serve("asgi", trust_policy=TRUST_ALL)
    seen = requests.get(base + "/context", headers=INCOMING).json()
    (span,) = wait_for_spans(recorder, 1)
    _assert_parent(span, seen)
