"""The KRX tick grid over numpy arrays, for generating thousands of prices at once.

The rules themselves live in :mod:`tools.market`; this module only vectorises them. The tick
bands are discovered by probing :func:`tools.market.tick_size` (a non-decreasing step function of
price), so a change to the rules there is picked up here without a second copy of the table.
Every result is checked against :func:`tools.market.is_on_tick`'s rule and repaired with
:func:`tools.market.round_to_tick` if a band edge ever broke the vectorised arithmetic.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike, NDArray

from tools.market import InstrumentKind, round_to_tick, tick_size

IntArray = NDArray[np.int64]

_PROBE_LIMIT = 10**10  # far above any KRX price


@lru_cache(maxsize=8)
def _bands(kind: InstrumentKind) -> tuple[IntArray, IntArray]:
    """(lower edges, ticks) of the tick bands, ascending, found by bisection on ``tick_size``."""
    edges, ticks = [1], [tick_size(1, kind)]
    while True:
        low, tick = edges[-1], ticks[-1]
        high = _PROBE_LIMIT
        if tick_size(high, kind) == tick:
            break
        # Invariant: tick_size(low) == tick != tick_size(high); find the first price of the next band.
        while high - low > 1:
            middle = (low + high) // 2
            if tick_size(middle, kind) == tick:
                low = middle
            else:
                high = middle
        edges.append(high)
        ticks.append(tick_size(high, kind))
    return np.array(edges, dtype=np.int64), np.array(ticks, dtype=np.int64)


def tick_sizes(prices: ArrayLike, kind: InstrumentKind) -> IntArray:
    """``tick_size`` of every price (prices below 1 get the tick at 1)."""
    edges, ticks = _bands(kind)
    floor = np.maximum(np.floor(np.asarray(prices, dtype=np.float64)), 1).astype(np.int64)
    return ticks[np.searchsorted(edges, floor, side="right") - 1]


def _repair(grid: IntArray, kind: InstrumentKind) -> IntArray:
    off = grid % tick_sizes(grid, kind) != 0
    if off.any():
        grid = grid.copy()
        grid[off] = [round_to_tick(float(p), kind) for p in grid[off]]
    return grid


def round_nearest(prices: ArrayLike, kind: InstrumentKind) -> IntArray:
    """Each price moved to the nearest grid price (ties go down), at least the smallest tick."""
    values = np.maximum(np.asarray(prices, dtype=np.float64), 1.0)
    floor = np.floor(values).astype(np.int64)
    tick = tick_sizes(floor, kind)
    down = floor - floor % tick
    # Band edges are multiples of the coarser tick, so down + tick is on the grid even at an edge.
    up = down + tick
    nearest = np.where(values - down <= up - values, down, up)
    return _repair(np.maximum(nearest, tick_size(1, kind)), kind)


def floor_to_grid(prices: ArrayLike, kind: InstrumentKind) -> IntArray:
    """Each price moved down to the grid (like ``round_to_tick``), at least the smallest tick."""
    floor = np.maximum(np.floor(np.asarray(prices, dtype=np.float64)), 1).astype(np.int64)
    down = floor - floor % tick_sizes(floor, kind)
    return _repair(np.maximum(down, tick_size(1, kind)), kind)
