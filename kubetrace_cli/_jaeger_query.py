"""A small client for Jaeger's query API (the JSON behind the Jaeger UI, port 16686), stdlib only.

It turns Jaeger's model back into ReceivedSpan records, the shape the embedded receiver produces,
so one renderer draws both. Jaeger stores OpenTelemetry spans with some fields moved into tags
(span.kind, otel.status_code, error, otel.scope.name); those are moved back here.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from .receiver import ReceivedSpan

_TRACE_ID = re.compile(r"[0-9a-fA-F]{1,32}")
_TIMEOUT_S = 10.0
# What a Jaeger built from its Go module serves at / instead of the UI: its UI assets come only with
# the release build. Read from the first bytes of the page.
_UI_PLACEHOLDER = b"placeholder for the Jaeger UI"
_UI_PAGE_BYTES = 64 * 1024
# Tags Jaeger derives from fields of the OpenTelemetry span; they are fields again in ReceivedSpan.
_FIELD_TAGS = (
    "span.kind",
    "otel.status_code",
    "otel.status_description",
    "error",
    "otel.scope.name",
    "otel.library.name",
    "internal.span.format",
)


class ViewError(Exception):
    """Jaeger could not give us the trace asked for; the message says why, for one stderr line."""


def normalise_trace_id(text: str) -> str:
    """1-32 hex digits -> 32 lower-case hex digits (Jaeger drops leading zeros)."""
    if not _TRACE_ID.fullmatch(text):
        raise ViewError(f"invalid trace ID {text!r}: want 1 to 32 hex digits")
    return text.lower().zfill(32)


def fetch_trace(base_url: str, trace_id: str) -> list[ReceivedSpan]:
    """Every span Jaeger holds for `trace_id`."""
    trace_id = normalise_trace_id(trace_id)
    doc = _get(base_url, f"/api/traces/{trace_id}")
    traces = (doc or {}).get("data") or []
    if not traces or not traces[0].get("spans"):
        raise ViewError(f"trace ID not found in Jaeger at {base_url}: {trace_id}")
    try:
        return _spans(traces[0])
    except (KeyError, TypeError, ValueError) as err:
        raise ViewError(
            f"Jaeger at {base_url} sent trace {trace_id} in a shape kubetrace cannot read: {err!r}"
        ) from None


def latest_trace_id(base_url: str, service: str) -> str | None:
    """The ID of `service`'s most recently started trace in the last hour, or None when it has none."""
    query = urllib.parse.urlencode({"service": service, "limit": 20, "lookback": "1h"})
    doc = _get(base_url, f"/api/traces?{query}")
    traces = [t for t in (doc or {}).get("data") or [] if t.get("spans")]
    if not traces:
        return None
    latest = max(traces, key=lambda t: min(s.get("startTime", 0) for s in t["spans"]))
    return normalise_trace_id(str(latest.get("traceID") or latest["spans"][0].get("traceID", "")))


def services(base_url: str) -> list[str]:
    """The service names Jaeger has seen, sorted."""
    doc = _get(base_url, "/api/services")
    return sorted(str(name) for name in (doc or {}).get("data") or [])


def ui_link(base_url: str, trace_id: str) -> str:
    """The line that sends a person to the trace in Jaeger's UI, or says that this Jaeger has none."""
    if _serves_ui(base_url):
        return f"Jaeger UI: {base_url}/trace/{trace_id}"
    return (
        f"Jaeger at {base_url} serves its API but no UI (built from its Go module, which has no UI "
        f"assets; `kubetrace view {trace_id}` draws the trace from it). For the UI, run the official "
        "Jaeger release with the same config: README.md, section Jaeger."
    )


def _serves_ui(base_url: str) -> bool:
    """False when / is a UI-less build's placeholder page; True otherwise, and when in doubt."""
    try:
        with urllib.request.urlopen(base_url.rstrip("/") + "/", timeout=_TIMEOUT_S) as response:
            return _UI_PLACEHOLDER not in response.read(_UI_PAGE_BYTES)
    except (urllib.error.URLError, OSError, ValueError):
        return True


def _get(base_url: str, path: str) -> dict[str, Any] | None:
    """GET base_url+path as JSON; None for 404, ViewError for anything else that is not a 200."""
    url = base_url.rstrip("/") + path
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise ViewError(f"Jaeger URL must start with http:// or https://, got {base_url!r}")
    try:
        with urllib.request.urlopen(url, timeout=_TIMEOUT_S) as response:
            body = response.read()
    except urllib.error.HTTPError as err:
        if err.code == 404:
            return None
        raise ViewError(f"Jaeger at {base_url} answered {err.code} for {path}: {_error_text(err)}") from None
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise ViewError(f"cannot reach Jaeger at {base_url}: {reason}") from None
    try:
        doc = json.loads(body)
    except ValueError:
        doc = None
    if not isinstance(doc, dict):  # e.g. --jaeger points at something else that answers HTTP
        raise ViewError(f"Jaeger at {base_url} sent no query API answer for {path}: is it Jaeger's UI port?")
    return doc


def _error_text(err: urllib.error.HTTPError) -> str:
    """Jaeger's own words when it sent {"errors": [{"code", "msg"}]}, else the HTTP reason."""
    try:
        errors = json.loads(err.read()).get("errors") or []
        return "; ".join(str(e.get("msg", e)) for e in errors) or str(err.reason)
    except (ValueError, AttributeError, OSError):
        return str(err.reason)


def _spans(trace: dict[str, Any]) -> list[ReceivedSpan]:
    processes = trace.get("processes") or {}
    resources = {pid: _resource(p) for pid, p in processes.items()}
    return [_span(raw, resources.get(raw.get("processID"), {})) for raw in trace["spans"]]


def _resource(process: dict[str, Any]) -> dict[str, Any]:
    return {**_tags(process.get("tags")), "service.name": process.get("serviceName", "")}


def _span(raw: dict[str, Any], resource: dict[str, Any]) -> ReceivedSpan:
    trace_id = normalise_trace_id(raw["traceID"])
    tags = _tags(raw.get("tags"))
    parent, links = _references(raw.get("references"), trace_id)
    start_ns = int(raw["startTime"]) * 1000  # Jaeger keeps microseconds
    return ReceivedSpan(
        trace_id=trace_id,
        span_id=str(raw["spanID"]).lower().zfill(16),
        parent_span_id=parent,
        name=raw.get("operationName", ""),
        kind=str(tags.get("span.kind", "internal")).upper(),
        start_ns=start_ns,
        end_ns=start_ns + int(raw.get("duration", 0)) * 1000,
        attributes={k: v for k, v in tags.items() if k not in _FIELD_TAGS},
        status=_status(tags),
        status_message=str(tags.get("otel.status_description", "")),
        resource=resource,
        events=tuple(_event(log) for log in raw.get("logs") or []),
        links=links,
        scope=str(tags.get("otel.scope.name") or tags.get("otel.library.name") or ""),
        transport="jaeger",
    )


def _references(refs: list[dict[str, Any]] | None, trace_id: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """(parent span ID, links): the first CHILD_OF in the same trace is the parent; every other
    reference (FOLLOWS_FROM is how Jaeger stores OpenTelemetry links) is a link."""
    parent, links = "", []
    for ref in refs or []:
        ref_trace = normalise_trace_id(ref["traceID"])
        span_id = str(ref["spanID"]).lower().zfill(16)
        if not parent and ref.get("refType") == "CHILD_OF" and ref_trace == trace_id:
            parent = span_id
        else:
            links.append((ref_trace, span_id))
    return parent, tuple(links)


def _status(tags: dict[str, Any]) -> str:
    code = str(tags.get("otel.status_code", "")).upper()
    if code in ("OK", "ERROR"):
        return code
    # Spans from Jaeger and OpenTracing clients mark failure only with the error=true tag.
    return "ERROR" if tags.get("error") in (True, "true") else "UNSET"


def _event(log: dict[str, Any]) -> tuple[str, int, dict[str, Any]]:
    fields = _tags(log.get("fields"))
    return str(fields.pop("event", "")), int(log.get("timestamp", 0)) * 1000, fields


def _tags(tags: list[dict[str, Any]] | None) -> dict[str, Any]:
    return {tag["key"]: tag.get("value") for tag in tags or [] if "key" in tag}
