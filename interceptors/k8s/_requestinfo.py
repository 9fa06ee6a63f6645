"""Kubernetes API request info from a URL, as kube-apiserver's RequestInfoFactory computes it.

A faithful port of k8s.io/apiserver/pkg/endpoints/request/requestinfo.go (NewRequestInfo) for the
default prefixes (`api` without a group, `apis` with one), including its quirks: the legacy
`/watch/` and `/proxy/` path verbs, namespace subresources (`status`, `finalize`), `?watch=` parsed
as Kubernetes parses booleans, and a list narrowed to one name by `fieldSelector=metadata.name=x`.
Paths that are not resource requests (/healthz, /version, /openapi/v2, /apis/apps/v1) give None.
"""

from __future__ import annotations

from typing import NamedTuple
from urllib.parse import parse_qs

_GROUPLESS_PREFIX = "api"
_GROUPED_PREFIX = "apis"
_PATH_VERBS = frozenset({"proxy", "watch"})
_NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})
_VERBS_BY_METHOD = {
    "POST": "create",
    "GET": "get",
    "HEAD": "get",
    "PUT": "update",
    "PATCH": "patch",
    "DELETE": "delete",
}
_SELECTOR_OPERATORS = ("!=", "==", "=")
_INT_PARAMS = ("limit", "timeoutSeconds")  # ListOptions fields whose bad value fails the whole decode


class RequestInfo(NamedTuple):
    """What kube-apiserver knows about a resource request; empty strings mean "not in the path"."""

    verb: str  # get, list, watch, create, update, patch, delete, deletecollection, proxy ("" if unknown)
    api_prefix: str  # "api" or "apis"
    api_group: str  # "" for the core group
    api_version: str
    namespace: str
    resource: str
    subresource: str
    name: str
    parts: tuple[str, ...]  # the path from the resource on: resource/name/subresource/...
    field_selector: str = ""
    label_selector: str = ""

    @property
    def path_template(self) -> str:
        """The path as kube-apiserver names its spans: /api/v1/namespaces/{:namespace}/pods/{:name}."""
        group = "/" + self.api_group if self.api_group else ""
        namespace = "/namespaces/{:namespace}" if self.namespace else ""
        name = "/{:name}" if self.name else ""
        subresource = "/" + self.subresource if self.subresource else ""
        return f"/{self.api_prefix}{group}/{self.api_version}{namespace}/{self.resource}{name}{subresource}"


def parse_request_info(path: str, method: str, query: str = "") -> RequestInfo | None:
    """The request info of a Kubernetes resource request, or None for any other path.

    `query` is the raw (percent-encoded) query string, without the leading "?".
    """
    parts = path.strip("/").split("/")
    if len(parts) < 3:
        return None
    if parts[0] == _GROUPLESS_PREFIX:
        group, at = "", 1
    elif parts[0] == _GROUPED_PREFIX and len(parts) >= 4:
        group, at = parts[1], 2
    else:
        return None
    version, rest = parts[at], parts[at + 1 :]
    verb_from_path = rest[0] in _PATH_VERBS
    if verb_from_path:
        if len(rest) < 2:
            return None  # kube-apiserver rejects it: "unable to determine kind and namespace"
        verb, rest = rest[0], rest[1:]
    else:
        verb = _VERBS_BY_METHOD.get(method, "")
    namespace, rest = _namespace(rest)
    resource = rest[0]
    name = rest[1] if len(rest) >= 2 else ""
    subresource = rest[2] if len(rest) >= 3 and verb != "proxy" else ""
    info = RequestInfo(verb, parts[0], group, version, namespace, resource, subresource, name, tuple(rest))
    if name or verb not in ("get", "delete"):
        return info
    params = parse_qs(query, keep_blank_values=True) if query else {}
    if verb == "delete":
        return info._replace(verb="deletecollection", **_selectors(params))
    return _list_or_watch(info, params)


def _namespace(parts: list[str]) -> tuple[str, list[str]]:
    # /namespaces/{ns}/{resource}/...: the parts are re-based on the resource, unless what follows the
    # namespace is one of the namespace's own subresources (/namespaces/x/status is the namespace's).
    if parts[0] != "namespaces" or len(parts) < 2:
        return "", parts
    if len(parts) > 2 and parts[2] not in _NAMESPACE_SUBRESOURCES:
        return parts[1], parts[2:]
    return parts[1], parts


def _list_or_watch(info: RequestInfo, params: dict[str, list[str]]) -> RequestInfo:
    """A get without a name is a list or a watch, maybe narrowed to one name by a field selector.
    (The legacy /watch/ path verb never gets here: kube-apiserver reads no query for it.)"""
    watch = params.get("watch")
    # Kubernetes' bool conversion: only "0" and "false" (any case) are false; "" and anything else are true.
    verb = "watch" if watch and watch[0] != "0" and watch[0].lower() != "false" else "list"
    return info._replace(verb=verb, name=_name_from_field_selector(params), **_selectors(params))


def _selectors(params: dict[str, list[str]]) -> dict[str, str]:
    return {
        "field_selector": params.get("fieldSelector", ("",))[0],
        "label_selector": params.get("labelSelector", ("",))[0],
    }


def _name_from_field_selector(params: dict[str, list[str]]) -> str:
    """metadata.name from `fieldSelector=metadata.name=x`, as NewRequestInfo takes it; "" when the
    list options do not decode (kube-apiserver then ignores them) or the name cannot be a path segment."""
    selectors = params.get("fieldSelector")
    if not selectors or not all(_is_int(params[key][0]) for key in _INT_PARAMS if key in params):
        return ""
    terms = _selector_terms(selectors[0])
    if terms is None:
        return ""
    for field, operator, value in terms:
        if field == "metadata.name" and operator != "!=":
            ok = value not in (".", "..") and "/" not in value and "%" not in value
            return value if ok else ""
    return ""


def _is_int(value: str) -> bool:
    digits = value[1:] if value[:1] in ("+", "-") else value
    return digits.isascii() and digits.isdigit()


def _selector_terms(selector: str) -> list[tuple[str, str, str]] | None:
    """k8s.io/apimachinery fields.ParseSelector: comma-separated terms (backslash escapes), sorted."""
    raw_terms, start, escaped = [], 0, False
    for i, char in enumerate(selector):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ",":
            raw_terms.append(selector[start:i])
            start = i + 1
    raw_terms.append(selector[start:])
    terms = []
    for term in sorted(raw_terms):
        if not term:
            continue
        split = _split_term(term)
        if split is None:
            return None
        terms.append(split)
    return terms


def _split_term(term: str) -> tuple[str, str, str] | None:
    for i in range(len(term)):
        for operator in _SELECTOR_OPERATORS:
            if term.startswith(operator, i):
                value = _unescape(term[i + len(operator) :])
                return None if value is None else (term[:i], operator, value)
    return None


def _unescape(value: str) -> str | None:
    if "\\" not in value:
        return value
    out, escaped = [], False
    for char in value:
        if escaped:
            if char not in "\\,=":
                return None  # an invalid escape sequence makes the whole selector invalid
            out.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        else:
            out.append(char)
    return None if escaped else "".join(out)
