"""A per-account request limiter shared by every client in the process.

It mirrors KIS's own rule — at most N requests in any one-second window — so a client runs at the
limit, not below it, and never trips EGW00201 in steady state. Each slot records when its request
actually left (not when it was booked), so scheduling jitter on our side cannot bunch requests up.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque

SAFETY = 0.02  # seconds per window: the trip to the server and scheduling jitter (5 ms proved too tight under load)


class AsyncSlidingWindow:
    def __init__(self, per_second: float) -> None:
        self.per_second = per_second
        self._sent: deque[list[float]] = deque()  # one mutable cell per request: its departure time
        self._lock = threading.Lock()  # shared across event loops (the sync wrapper runs its own)

    def _book(self) -> tuple[list[float], float]:
        """Reserve a slot: (its cell, how long to wait before using it)."""
        capacity = max(1, int(self.per_second))
        window = 1.0 if self.per_second >= 1 else 1.0 / self.per_second
        with self._lock:
            now = time.monotonic()
            while self._sent and now - self._sent[0][0] >= window + SAFETY:
                self._sent.popleft()
            slot = now if len(self._sent) < capacity else self._sent[-capacity][0] + window + SAFETY
            if self._sent:
                slot = max(slot, self._sent[-1][0])  # keep the schedule in order
            cell = [max(slot, now)]
            self._sent.append(cell)
            return cell, cell[0] - now

    async def acquire(self) -> None:
        if self.per_second <= 0:
            return
        cell, delay = self._book()
        if delay > 0:
            await asyncio.sleep(delay)
        with self._lock:
            cell[0] = max(cell[0], time.monotonic())  # the moment the request really leaves

    def pause(self, seconds: float) -> None:
        """After an EGW00201: push the next slots back, for every caller sharing this limiter."""
        with self._lock:
            resume = time.monotonic() + seconds
            self._sent.extend([resume] for _ in range(max(1, int(self.per_second))))


_LIMITERS: dict[tuple[str, str], AsyncSlidingWindow] = {}
_REGISTRY_LOCK = threading.Lock()


def limiter_for(host: str, account: str, per_second: float) -> AsyncSlidingWindow:
    """The process-wide limiter of one account on one host."""
    with _REGISTRY_LOCK:
        key = (host, account)
        limiter = _LIMITERS.get(key)
        if limiter is None or limiter.per_second != per_second:
            limiter = _LIMITERS[key] = AsyncSlidingWindow(per_second)
        return limiter
