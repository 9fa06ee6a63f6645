"""Replace a function or method of a library with a traced one, and put the original back."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

_applied: list[tuple[Any, str, Any]] = []  # (owner, attribute, original), in the order applied


def replace(owner: Any, name: str, make: Callable[[Any], Callable[..., Any]]) -> None:
    """owner.name = make(original), with functools.wraps' metadata; `original` is what the owner
    holds itself (a class's own function, not an inherited one)."""
    original = owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)
    replacement = functools.wraps(original)(make(original))
    setattr(owner, name, replacement)
    _applied.append((owner, name, original))


def undo_all() -> None:
    """Restore every original, latest first."""
    while _applied:
        owner, name, original = _applied.pop()
        setattr(owner, name, original)


def argument(args: tuple, kwargs: dict, position: int, name: str) -> Any:
    """A call's argument, given by position or by name (None when absent)."""
    return args[position] if len(args) > position else kwargs.get(name)


def with_argument(args: tuple, kwargs: dict, position: int, name: str, value: Any) -> tuple[tuple, dict]:
    """The call's arguments with one of them set, where the caller gave it (or by name)."""
    if len(args) > position:
        return (*args[:position], value, *args[position + 1 :]), kwargs
    return args, {**kwargs, name: value}
