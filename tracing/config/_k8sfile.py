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

from .._errors import ConfigError, Problem, shorten
from .._files import UnreadableFile, loads_json, read_config_file

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
# Deeper than any Kubernetes configuration type nests; keeps decoding out of Python's recursion limit
# (Kubernetes' YAML library stops at 10000 levels, a depth no valid file reaches either).
MAX_DEPTH = 100


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
        text = read_config_file(path).decode("utf-8")
    except UnreadableFile as err:
        raise ConfigError([Problem(where, "", f"cannot read file: {err.reason}")]) from None
    except UnicodeDecodeError as err:
        message = f"not UTF-8 text: {err.reason} at byte {err.start}"
        raise ConfigError([Problem(where, "", message)]) from None
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
    it reads `10:30` as base 60 and `1e2` or `y` as strings.

    It also refuses what go-yaml refuses to expand: an alias bomb (a few hundred bytes of nested
    aliases standing for billions of nodes) and an anchor that contains itself, counted as go-yaml
    counts them but without expanding anything, and nesting deeper than MAX_DEPTH."""

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0
        self._decoded, self._aliased = 1, 0  # go-yaml counts the document node too
        self._expanded: dict[int, int] = {}  # id(node) -> the nodes go-yaml visits decoding it

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            mark, anchor = self.peek_event().start_mark, self.peek_event().anchor
            node = super().compose_node(parent, index)
            size = self._expanded.get(id(node))
            if size is None:  # still being composed: the alias is inside its own anchor
                raise yaml.composer.ComposerError(
                    None, None, f"anchor '{anchor}' value contains itself", mark
                )
            self._count(1 + size, size, mark)
            return node
        mark, anchor = self.peek_event().start_mark, self.peek_event().anchor
        # go-yaml lets an anchor be defined again (later aliases mean the new value); PyYAML refuses.
        self.anchors.pop(anchor, None)
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise yaml.composer.ComposerError(None, None, f"nested more than {MAX_DEPTH} levels deep", mark)
        before = self._decoded
        self._count(1, 0, mark)
        node = super().compose_node(parent, index)
        self._depth -= 1
        self._expanded[id(node)] = self._decoded - before
        return node

    def fetch_flow_collection_start(self, TokenClass):
        # Checked while scanning: every open bracket may start a key, so the scanner looks ahead to
        # the end of the outermost one, in time quadratic in the depth, before composing begins.
        if self.flow_level >= MAX_DEPTH:
            raise yaml.scanner.ScannerError(
                None, None, f"nested more than {MAX_DEPTH} levels deep", self.get_mark()
            )
        super().fetch_flow_collection_start(TokenClass)

    def _count(self, decoded: int, aliased: int, mark) -> None:
        # go-yaml v2 decoder.unmarshal: within an alias expansion the ratio of aliased nodes only
        # grows, so checking after a whole expansion fails exactly the documents it fails.
        self._decoded += decoded
        self._aliased += aliased
        if (
            self._aliased > 100
            and self._decoded > 1000
            and self._aliased / self._decoded > _allowed_alias_ratio(self._decoded)
        ):
            raise yaml.composer.ComposerError(None, None, "document contains excessive aliasing", mark)

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
        try:
            if digits.startswith("0o"):
                return sign * int(digits[2:], 8)
            return super().construct_yaml_int(node)
        except ValueError:
            # Longer than Python converts (4300 digits); go-yaml, out of number range, keeps a string.
            return self.construct_scalar(node)


def _allowed_alias_ratio(decoded: int) -> float:
    """go-yaml v2's allowedAliasRatio: 99% of a small document may come from aliases, 10% of a huge one."""
    low, high = 400_000, 4_000_000
    if decoded <= low:
        return 0.99
    if decoded >= high:
        return 0.10
    return 0.99 - 0.89 * (decoded - low) / (high - low)


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


def _as_json(value: object, done: dict[int, object] | None = None) -> object:
    """Kubernetes turns YAML into JSON before decoding, and JSON writes a whole float as an integer:
    `samplingRatePerMillion: 100.0` is 100 to Kubernetes (but 100.0 in a JSON file is not).
    A collection reached through several aliases is converted once and shared, not expanded."""
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    if not isinstance(value, (dict, list)):
        return value
    done = {} if done is None else done
    if id(value) not in done:
        if isinstance(value, dict):
            done[id(value)] = {k: _as_json(v, done) for k, v in value.items()}
        else:
            done[id(value)] = [_as_json(v, done) for v in value]
    return done[id(value)]


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
    except RecursionError:  # only if the caller's own stack is already deep: MAX_DEPTH keeps ours shallow
        raise ConfigError([Problem(where, "", "arrays and objects nested too deeply to decode")]) from None
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
        return loads_json(text, pairs)
    except _DuplicateKey as dup:
        raise ConfigError([Problem(where, dup.key, f'duplicate field "{dup.key}"')]) from None
    except json.JSONDecodeError as err:
        raise ConfigError(
            [Problem(where, "", f"not valid JSON at line {err.lineno}, column {err.colno}: {err.msg}")]
        ) from None
    except UnreadableFile as err:
        raise ConfigError([Problem(where, "", err.reason)]) from None


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
    message = (
        f'unsupported kind "{shorten(kind)}"; expected TracingConfiguration or KubeletConfiguration'
        if isinstance(kind, str)
        else f"must be a string, got {_type_name(kind)}"
    )
    problems.append(Problem(where, "kind", message))
    return TracingFile(where, "unknown kind", None, None, False)


def _check_api_version(
    where: str, api_version: object, allowed: tuple[str, ...], problems: list[Problem]
) -> None:
    if api_version not in allowed:
        got = "missing" if api_version is None else f'"{_text(api_version)}"'
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
            problems.append(Problem(where, f"{prefix}{_text(key)}", f'unknown field "{_text(key)}"'))


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
                Problem(where, field, f"must be an integer (int32), got {_type_name(rate)}{_scalar(rate)}")
            )
        elif not _INT32[0] <= rate <= _INT32[1]:
            problems.append(Problem(where, field, f"must fit in int32, got {shorten(str(rate))}"))
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


def _scalar(value: object) -> str:
    """` <value>` for a scalar, shortened; nothing for a collection, which could be huge."""
    return "" if isinstance(value, (dict, list)) or value is None else " " + shorten(repr(value))


def _text(value: object) -> str:
    """A value written into a message: a collection by its type (an alias can make it huge)."""
    return _type_name(value) if isinstance(value, (dict, list)) else shorten(str(value))


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
