"""The exchange clock: real time, or simulated time that runs at a multiple of real time.

The market (sessions, intraday paths, settlement) follows this clock. Tokens and rate limits follow
the wall clock instead, because they protect the server in real seconds whatever the market says.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

from tools.market import KST


class SimClock:
    """``now() = start + (wall elapsed × speed) + explicit advances``; speed 0 freezes the clock."""

    def __init__(
        self,
        start: dt.datetime | None = None,
        speed: float = 1.0,
        wall: Callable[[], float] = time.time,
    ) -> None:
        if speed < 0:
            raise ValueError("clock speed must be >= 0")
        self._wall = wall
        self._speed = speed
        self._anchor_wall = wall()
        self._anchor_sim = (start or dt.datetime.now(KST)).astimezone(KST)

    @property
    def speed(self) -> float:
        return self._speed

    def now(self) -> dt.datetime:
        elapsed = (self._wall() - self._anchor_wall) * self._speed
        return self._anchor_sim + dt.timedelta(seconds=elapsed)

    def advance(self, delta: dt.timedelta | float) -> dt.datetime:
        """Move simulated time forward (never backward)."""
        seconds = delta.total_seconds() if isinstance(delta, dt.timedelta) else float(delta)
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self._rebase(self.now() + dt.timedelta(seconds=seconds))
        return self.now()

    def set(self, moment: dt.datetime) -> None:
        """Jump to ``moment`` if it is later than now; the exchange never rewinds."""
        if moment.tzinfo is None:
            raise ValueError("moment must be timezone-aware")
        if moment > self.now():
            self._rebase(moment)

    def set_speed(self, speed: float) -> None:
        if speed < 0:
            raise ValueError("clock speed must be >= 0")
        self._rebase(self.now())
        self._speed = speed

    def _rebase(self, moment: dt.datetime) -> None:
        self._anchor_wall = self._wall()
        self._anchor_sim = moment.astimezone(KST)
