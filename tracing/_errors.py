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
        return (
            f"{self.where}: {self.field}: {self.message}" if self.field else f"{self.where}: {self.message}"
        )


class ConfigError(ValueError):
    """Configuration that cannot be used; `problems` lists every problem found, not just the first."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
