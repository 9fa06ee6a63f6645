"""What one export attempt came to, and when (if ever) to try again: the OTLP specification's rules.

- gRPC: UNAVAILABLE, CANCELLED, DEADLINE_EXCEEDED, ABORTED, OUT_OF_RANGE and DATA_LOSS are retried;
  RESOURCE_EXHAUSTED only when the server sent RetryInfo (it then says it will recover); any other
  code is final. A RetryInfo delay is honoured as given.
- HTTP: 429, 502, 503 and 504 are retried, after Retry-After when the server sent one; a connection
  that could not be made or broke is retried too; any other status is final.
- Otherwise the delay is exponential with jitter: base * 2**attempt, capped, times a random factor
  in [0.5, 1], so that many clients cut off at once do not come back in step.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Outcome:
    """The result of one attempt to send one batch."""

    ok: bool
    retryable: bool = False
    retry_after: float | None = None  # seconds the server asked for (RetryInfo, Retry-After)
    rejected: int = 0  # spans the server rejected in a partial success
    detail: str = ""  # for the log: the code or status and the server's message

    @staticmethod
    def success(rejected: int = 0, detail: str = "") -> Outcome:
        return Outcome(True, rejected=rejected, detail=detail)

    @staticmethod
    def failure(detail: str, retryable: bool, retry_after: float | None = None) -> Outcome:
        return Outcome(False, retryable, retry_after, detail=detail)


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with jitter (the defaults: 1 s, 2 s, 4 s, ... up to 32 s, each times [0.5, 1])."""

    base_s: float = 1.0
    cap_s: float = 32.0

    def delay(self, attempt: int, outcome: Outcome) -> float:
        """Seconds to wait before retry number `attempt` (0-based) after `outcome`."""
        if outcome.retry_after is not None:
            return max(outcome.retry_after, 0.0)
        return min(self.cap_s, self.base_s * 2**attempt) * random.uniform(0.5, 1.0)
