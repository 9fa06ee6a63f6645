"""A credit balance that refills with time, as Jaeger's RateLimiter: rate r, at most max(r, 1) saved up."""

from __future__ import annotations

import threading
from collections.abc import Callable


class RateLimiter:
    """Allows `per_second` items a second on average, in bursts of up to max(per_second, 1).

    The balance starts full, as in Jaeger's clients, so a new limiter lets the first item through.
    Unlike Go's, it refills before every check: Go skips the clock while the balance lasts, which
    lets a burst after an idle period through twice.
    """

    __slots__ = ("_balance", "_clock", "_last", "_lock", "_max", "per_second")

    def __init__(self, per_second: float, clock: Callable[[], float]):
        self.per_second = per_second
        self._max = max(per_second, 1.0)
        self._balance = self._max
        self._clock = clock
        self._last = clock()
        self._lock = threading.Lock()

    def check_credit(self, cost: float = 1.0) -> bool:
        """Spend `cost` from the balance if it holds that much."""
        with self._lock:
            now = self._clock()
            elapsed = max(now - self._last, 0.0)  # an injected clock may step back
            self._balance = min(self._balance + elapsed * self.per_second, self._max)
            self._last = now
            if self._balance < cost:
                return False
            self._balance -= cost
            return True
