"""Error types raised at kubetrace's edges."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one input: where it is, which field, and what to do about it."""

    where: str  # a file path or an environment variable name
    field: str  # dotted path inside `where`; empty when the whole input is at fault
    message: str

    def __str__(self) -> str:
        parts = (self.where, self.field, self.message) if self.field else (self.where, self.message)
        return ": ".join(shorten(part, 1000) for part in parts)


def shorten(text: str, limit: int = 80) -> str:
    """`text` as a message quotes it: on one line (control characters escaped: a value from a file or
    a variable may hold a newline) and at most `limit` characters (it may be megabytes long)."""
    if not text.isprintable():
        text = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


class ConfigError(ValueError):
    """Configuration that cannot be used; `problems` lists every problem found, not just the first."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
