"""Per-account request limit over a sliding one-second window (KIS answers EGW00201 past it)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

# Requests spaced exactly one window apart must pass even when they arrive a little early (network
# jitter): the window the server counts over is this much shorter than a second.
JITTER_ALLOWANCE = 0.02


class SlidingWindowLimiter:
    def __init__(self, per_second: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_second = per_second
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}

    def allow(self, key: str) -> bool:
        """Record a request for ``key``; False when it exceeds the limit (0 = no limit)."""
        if self.per_second <= 0:
            return True
        now = self._clock()
        hits = self._hits.setdefault(key, deque())
        # A fractional limit (e.g. 0.5/s) allows one request per 1/limit seconds.
        capacity = max(1, int(self.per_second))
        window = (1.0 if self.per_second >= 1 else 1.0 / self.per_second) - JITTER_ALLOWANCE
        while hits and now - hits[0] >= window:
            hits.popleft()
        if len(hits) >= capacity:
            return False
        hits.append(now)
        return True
