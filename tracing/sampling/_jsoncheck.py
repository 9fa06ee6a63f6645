"""Decode JSON and check it against what a format expects, collecting every problem with its JSON path."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from typing import NamedTuple

from .._errors import ConfigError, Problem
from .._files import UnreadableFile, loads_json

_TYPE_NAMES = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "object"}
_MISSING = object()


class _Object(dict):
    """A decoded JSON object that remembers the keys it had more than once (json keeps the last)."""

    duplicates: tuple[str, ...] = ()


def _pairs(items: list[tuple[str, object]]) -> _Object:
    obj = _Object(items)
    if len(obj) != len(items):
        seen: set[str] = set()
        duplicates: list[str] = []
        for key, _ in items:
            if key in seen and key not in duplicates:
                duplicates.append(key)
            seen.add(key)
        obj.duplicates = tuple(duplicates)
    return obj


def decode(where: str, data: str | bytes, expected: str) -> object:
    """Parse JSON text; raise ConfigError (no path) when it is empty or not JSON."""
    try:
        text = data.decode("utf-8-sig") if isinstance(data, bytes) else data.removeprefix("\ufeff")
    except UnicodeDecodeError as err:
        raise ConfigError([Problem(where, "", f"not UTF-8 text: {err.reason} at byte {err.start}")]) from None
    if not text.strip():
        raise ConfigError([Problem(where, "", f"empty; expected {expected}")])
    try:
        return loads_json(text, _pairs)
    except json.JSONDecodeError as err:
        raise ConfigError(
            [Problem(where, "", f"not valid JSON at line {err.lineno}, column {err.colno}: {err.msg}")]
        ) from None
    except UnreadableFile as err:
        raise ConfigError([Problem(where, "", err.reason)]) from None


def type_name(value: object) -> str:
    if isinstance(value, dict):  # also the _Object the decoder makes
        return "object"
    return "null" if value is None else _TYPE_NAMES.get(type(value), type(value).__name__)


def show(value: object) -> str:
    """A value as it was written in JSON, for messages."""
    return json.dumps(value)


def join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


class Named(NamedTuple):
    """Objects of an array named by a field whose value must be unique in the array."""

    key: str  # the naming field
    fields: tuple[str, ...]  # every field an object may have
    required: str  # what belongs in the naming field, for messages


class Checker:
    """Walks decoded JSON; each method returns the checked value, or None after recording a problem."""

    def __init__(self, where: str):
        self.where = where
        self.problems: list[Problem] = []

    def add(self, path: str, message: str) -> None:
        self.problems.append(Problem(self.where, path, message))

    def raise_problems(self) -> None:
        if self.problems:
            raise ConfigError(self.problems)

    def mapping(self, value: object, path: str, known: Iterable[str] | None = None) -> dict | None:
        """An object; with `known`, every other field is a problem (strict formats written by people)."""
        if not isinstance(value, dict):
            where = "must be an object" if path else "expected an object at the top level"
            self.add(path, f"{where}, got {type_name(value)}")
            return None
        for key in getattr(value, "duplicates", ()):
            self.add(join(path, key), f'duplicate field "{key}"')
        if known is not None:
            allowed = tuple(known)
            for key in value:
                if key not in allowed:
                    self.add(join(path, key), f'unknown field "{key}"; known fields: {", ".join(allowed)}')
        return value

    def array(self, value: object, path: str) -> list | None:
        if not isinstance(value, list):
            self.add(path, f"must be an array, got {type_name(value)}")
            return None
        return value

    def named_objects(self, items: list, path: str, named: Named) -> Iterator[tuple[str, dict, str | None]]:
        """Each object of the array `items` at `path`: its path, itself and its name (None when the
        name is missing or bad). A name seen before is a problem where it repeats."""
        first_at: dict[str, str] = {}
        for i, item in enumerate(items):
            at = f"{path}[{i}]"
            obj = self.mapping(item, at, named.fields)
            if obj is None:
                continue
            name = self.string(obj, named.key, at, named.required)
            if name in first_at:
                self.add(join(at, named.key), f'duplicate {named.key} "{name}", also at {first_at[name]}')
            elif name is not None:
                first_at[name] = at
            yield at, obj, name

    def string(self, obj: dict, key: str, path: str, required: str) -> str | None:
        """A non-empty string field; `required` says what belongs there when it is missing."""
        value = obj.get(key, _MISSING)
        where = join(path, key)
        if value is _MISSING or value is None:
            self.add(where, f"required; expected {required}")
        elif not isinstance(value, str):
            self.add(where, f"must be a string, got {type_name(value)}")
        elif not value.strip():
            self.add(where, f"must not be empty; expected {required}")
        else:
            return value
        return None

    def number(
        self, obj: dict, key: str, path: str, required: str | None, default: float = 0.0
    ) -> float | None:
        """A finite number field; absent is a problem if `required` is given, else `default`."""
        value = obj.get(key, _MISSING)
        where = join(path, key)
        if value is _MISSING or value is None:
            if required is None:
                return default
            self.add(where, f"required; expected {required}")
        elif isinstance(value, bool) or not isinstance(value, (int, float)):
            self.add(where, f"must be a number, got {type_name(value)} {show(value)}")
        elif not math.isfinite(value):
            self.add(where, f"must be a finite number, got {show(value)}")
        else:
            return float(value)
        return None

    def probability(self, value: float | None, path: str) -> float | None:
        if value is not None and not 0.0 <= value <= 1.0:
            self.add(path, f"must be a probability between 0 and 1, got {value:g}")
            return None
        return value

    def per_second(self, value: float | None, path: str) -> float | None:
        if value is not None and value < 0:
            self.add(path, f"must be traces per second >= 0, got {value:g}")
            return None
        return value
