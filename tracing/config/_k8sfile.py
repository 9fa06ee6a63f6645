"""Decode and validate a Kubernetes TracingConfiguration (or a KubeletConfiguration's `tracing:` stanza).

The rules are those of k8s.io/component-base/tracing/api/v1 (ValidateTracingConfiguration) and
of Kubernetes' strict decoding: unknown fields, duplicate fields, wrong types and numbers outside
int32 are errors, and every problem is reported, not only the first.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from .._errors import ConfigError, Problem

TRACING_CONFIGURATION_VERSIONS = (
    "apiserver.config.k8s.io/v1alpha1",
    "apiserver.config.k8s.io/v1beta1",
    "apiserver.config.k8s.io/v1",
)
KUBELET_CONFIGURATION_VERSIONS = ("kubelet.config.k8s.io/v1beta1",)
_INTERNAL_VERSION = "apiserver.config.k8s.io/__internal"  # accepted by the apiserver's scheme too
MAX_SAMPLING_RATE_PER_MILLION = 1_000_000
_INT32 = (-(2**31), 2**31 - 1)
_TRACING_FIELDS = ("endpoint", "samplingRatePerMillion")
_ENDPOINT_SCHEMES = ("dns", "unix", "unix-abstract")


@dataclass(frozen=True)
class TracingFile:
    """What a valid file says. `None` means the field is unset (Kubernetes: "recommended is unset")."""

    path: str
    kind: str
    endpoint: str | None
    sampling_rate_per_million: int | None
    has_tracing: (
        bool  # False for a KubeletConfiguration without a `tracing:` stanza: the kubelet does not trace
    )

    def summary(self) -> str:
        if not self.has_tracing:
            return f"{self.path}: {self.kind}: no tracing stanza (tracing disabled)"
        rate = self.sampling_rate_per_million
        sampling = (
            "never samples new traces (samplingRatePerMillion unset)"
            if rate is None
            else f"samples {rate} per million new traces"
        )
        return f"{self.path}: {self.kind}: endpoint {self.endpoint or 'localhost:4317 (default)'}, {sampling}"


def load_tracing_file(path: str | Path) -> TracingFile:
    """Read, strictly decode and validate a TracingConfiguration or KubeletConfiguration file."""
    where = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError([Problem(where, "", f"cannot read file: {err.strerror or err}")]) from None
    doc = _decode(where, text)
    problems: list[Problem] = []
    result = _interpret(where, doc, problems)
    if problems:
        raise ConfigError(problems)
    return result


class _DuplicateKey(Exception):
    def __init__(self, key: str, line: int):
        self.key, self.line = key, line


class _StrictLoader(yaml.SafeLoader):
    """A YAML loader that reads scalars the way Kubernetes' YAML library (go-yaml v2) does and
    refuses duplicate keys, as Kubernetes' strict decoding does. PyYAML's YAML 1.1 defaults differ:
    it reads `10:30` as base 60 and `1e2` or `y` as strings."""

    def construct_mapping(self, node, deep=False):
        seen: set = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise _DuplicateKey(str(key), key_node.start_mark.line + 1)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_bool(self, node):
        return self.construct_scalar(node).lower() in ("y", "yes", "true", "on")

    def construct_yaml_int(self, node):
        text = self.construct_scalar(node).replace("_", "")
        sign, digits = (-1, text[1:]) if text.startswith("-") else (1, text.lstrip("+"))
        if digits.startswith("0o"):
            return sign * int(digits[2:], 8)
        return super().construct_yaml_int(node)


def _go_yaml_resolvers() -> dict:
    resolvers = {
        first: [(tag, rx) for tag, rx in entries if not tag.endswith((":bool", ":int", ":float"))]
        for first, entries in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    rules = [
        (
            "tag:yaml.org,2002:bool",
            r"^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$",
            "yYnNtTfFoO",
        ),
        (
            "tag:yaml.org,2002:int",
            r"^(?:[-+]?0b[0-1_]+|[-+]?0o[0-7_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$",
            "-+0123456789",
        ),
        (
            "tag:yaml.org,2002:float",
            r"^(?:[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?|\.[0-9_]+(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
            "-+0123456789.",
        ),
    ]
    for tag, pattern, firsts in rules:
        for first in firsts:
            resolvers.setdefault(first, []).append((tag, re.compile(pattern)))
    return resolvers


_StrictLoader.yaml_implicit_resolvers = _go_yaml_resolvers()
_StrictLoader.add_constructor("tag:yaml.org,2002:bool", _StrictLoader.construct_yaml_bool)
_StrictLoader.add_constructor("tag:yaml.org,2002:int", _StrictLoader.construct_yaml_int)


def _as_json(value: object) -> object:
    """Kubernetes turns YAML into JSON before decoding, and JSON writes a whole float as an integer:
    `samplingRatePerMillion: 100.0` is 100 to Kubernetes (but 100.0 in a JSON file is not)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _as_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_json(v) for v in value]
    return value


def _decode(where: str, text: str) -> object:
    if text.lstrip().startswith("{"):
        return _decode_json(where, text)
    try:
        # Kubernetes decodes the first document only; later ones are never read.
        first = next(iter(yaml.load_all(text, Loader=_StrictLoader)), None)
    except _DuplicateKey as dup:
        raise ConfigError(
            [Problem(where, dup.key, f'duplicate field "{dup.key}" (line {dup.line})')]
        ) from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err)
        raise ConfigError([Problem(where, "", f"not valid YAML or JSON{at}: {problem}")]) from None
    if first is None:
        return {}  # as Kubernetes: an empty document decodes to a TracingConfiguration with nothing set
    if not isinstance(first, dict):
        raise ConfigError(
            [Problem(where, "", f"expected a mapping at the top level, got {_type_name(first)}")]
        )
    return _as_json(first)


def _decode_json(where: str, text: str) -> object:
    def pairs(items: list[tuple[str, object]]) -> dict:
        out: dict = {}
        for key, value in items:
            if key in out:
                raise _DuplicateKey(key, 0)
            out[key] = value
        return out

    try:
        return json.loads(text, object_pairs_hook=pairs)
    except _DuplicateKey as dup:
        raise ConfigError([Problem(where, dup.key, f'duplicate field "{dup.key}"')]) from None
    except json.JSONDecodeError as err:
        raise ConfigError(
            [Problem(where, "", f"not valid JSON at line {err.lineno}, column {err.colno}: {err.msg}")]
        ) from None


def _interpret(where: str, doc: dict, problems: list[Problem]) -> TracingFile:
    api_version, kind = doc.get("apiVersion"), doc.get("kind")
    if kind is None or kind == "TracingConfiguration":
        # kube-apiserver decodes into a TracingConfiguration: a missing kind or apiVersion is
        # defaulted from that type rather than rejected.
        if api_version is not None:
            _check_api_version(
                where, api_version, (*TRACING_CONFIGURATION_VERSIONS, _INTERNAL_VERSION), problems
            )
        _check_unknown(where, doc, ("apiVersion", "kind", *_TRACING_FIELDS), "", problems)
        endpoint, rate = _tracing_fields(where, doc, "", problems)
        return TracingFile(where, "TracingConfiguration", endpoint, rate, True)
    if kind == "KubeletConfiguration":
        _check_api_version(where, api_version, KUBELET_CONFIGURATION_VERSIONS, problems)
        stanza = doc.get("tracing")
        if stanza is None:
            return TracingFile(where, "KubeletConfiguration", None, None, False)
        if not isinstance(stanza, dict):
            problems.append(Problem(where, "tracing", f"must be an object, got {_type_name(stanza)}"))
            return TracingFile(where, "KubeletConfiguration", None, None, True)
        _check_unknown(where, stanza, _TRACING_FIELDS, "tracing.", problems)
        endpoint, rate = _tracing_fields(where, stanza, "tracing.", problems)
        return TracingFile(where, "KubeletConfiguration", endpoint, rate, True)
    problems.append(
        Problem(
            where, "kind", f'unsupported kind "{kind}"; expected TracingConfiguration or KubeletConfiguration'
        )
    )
    return TracingFile(where, str(kind), None, None, False)


def _check_api_version(
    where: str, api_version: object, allowed: tuple[str, ...], problems: list[Problem]
) -> None:
    if api_version not in allowed:
        got = "missing" if api_version is None else f'"{api_version}"'
        problems.append(
            Problem(
                where,
                "apiVersion",
                f"must be one of {', '.join(v for v in allowed if v != _INTERNAL_VERSION)}; got {got}",
            )
        )


def _check_unknown(
    where: str, mapping: dict, known: tuple[str, ...], prefix: str, problems: list[Problem]
) -> None:
    for key in mapping:
        if key not in known:
            problems.append(Problem(where, f"{prefix}{key}", f'unknown field "{key}"'))


def _tracing_fields(
    where: str, stanza: dict, prefix: str, problems: list[Problem]
) -> tuple[str | None, int | None]:
    endpoint = stanza.get("endpoint")
    rate = stanza.get("samplingRatePerMillion")
    before = len(problems)
    if endpoint is not None:
        if not isinstance(endpoint, str):
            problems.append(
                Problem(where, f"{prefix}endpoint", f"must be a string, got {_type_name(endpoint)}")
            )
        else:
            problems.extend(Problem(where, f"{prefix}endpoint", m) for m in validate_endpoint(endpoint))
    if rate is not None:
        field = f"{prefix}samplingRatePerMillion"
        if isinstance(rate, bool) or not isinstance(rate, int):
            problems.append(
                Problem(where, field, f"must be an integer (int32), got {_type_name(rate)} {rate!r}")
            )
        elif not _INT32[0] <= rate <= _INT32[1]:
            problems.append(Problem(where, field, f"must fit in int32, got {rate}"))
        else:
            problems.extend(Problem(where, field, m) for m in validate_sampling_rate(rate))
    if len(problems) > before:
        return None, None
    return endpoint, rate


def validate_sampling_rate(rate: int) -> list[str]:
    """Kubernetes' validateSamplingRate, with its messages."""
    messages = []
    if rate < 0:
        messages.append(f"Invalid value: {rate}: sampling rate must be positive")
    if rate > MAX_SAMPLING_RATE_PER_MILLION:
        messages.append(
            f"Invalid value: {rate}: sampling rate per million must be less than or equal to one million"
        )
    return messages


def validate_endpoint(endpoint: str) -> list[str]:
    """Kubernetes' validateEndpoint: a gRPC target whose scheme is none, dns, unix or unix-abstract."""
    target = endpoint if "//" in endpoint else "dns://" + endpoint
    go_error = _go_url_error(target)
    if go_error:
        return [f'Invalid value: "{target}": parse "{target}": {go_error}']
    try:
        parts = urlsplit(target)
    except ValueError as err:
        return [f'Invalid value: "{target}": parse "{target}": {err}']
    host, sep, port = parts.netloc.rpartition(":")
    if sep and host and not port.isdigit() and port and "]" not in port:
        # Go's url.Parse rejects a non-numeric port; Kubernetes reports its error text.
        return [f'Invalid value: "{target}": parse "{target}": invalid port ":{port}" after host']
    if any(c.isspace() for c in parts.netloc):
        return [f'Invalid value: "{target}": parse "{target}": invalid character " " in host name']
    if parts.scheme not in _ENDPOINT_SCHEMES:
        return [
            f'Invalid value: "{target}": unsupported scheme: {parts.scheme}.  Options are none, dns, unix, or '
            "unix-abstract.  See https://github.com/grpc/grpc/blob/master/doc/naming.md"
        ]
    return []


_BAD_ESCAPE = re.compile(r"%(?![0-9a-fA-F]{2})(.{0,2})", re.DOTALL)


def _go_url_error(target: str) -> str | None:
    """The errors Go's url.Parse raises that Python's urlsplit silently tolerates."""
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return "net/url: invalid control character in URL"
    bad = _BAD_ESCAPE.search(target)
    return f'invalid URL escape "%{bad.group(1)}"' if bad else None


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    return {
        bool: "boolean",
        int: "integer",
        float: "number",
        str: "string",
        list: "array",
        dict: "object",
    }.get(type(value), type(value).__name__)
