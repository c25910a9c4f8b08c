"""Fast heuristic for the same problem: round to nearest, repair cash, then improve one step at a time.

1. Start from each instrument's nearest whole-share target, snapped to the allowed trades
   (bounds, minimum trade size, locked / excluded / buy-only).
2. While the cash row is violated, take the step down (buy less or sell more) that costs the
   least objective per won freed.
3. Then apply single steps (up or down) that lower the objective, best first, while they fit.

It is not optimal (the gap to the lower bound is reported), but it is feasible by construction
and takes milliseconds for thousands of instruments.
"""

from __future__ import annotations

import heapq

import numpy as np

from tools.netting.problem import CASH_TOLERANCE_KRW, NettingProblem


class _Steps:
    """Per-instrument allowed trades and the objective / cash effect of a single step."""

    def __init__(self, problem: NettingProblem) -> None:
        self.p = problem
        self.grain = problem.grain
        self.target_bp = problem.target_bp

    def next_up(self, i: int, d: int) -> int | None:
        p = self.p
        if d < 0:
            return 0 if -(d + 1) < p.min_sell[i] else d + 1
        if d == 0:
            return int(p.min_buy[i]) if p.max_buy[i] >= p.min_buy[i] and p.max_buy[i] > 0 else None
        return d + 1 if d + 1 <= p.max_buy[i] else None

    def next_down(self, i: int, d: int) -> int | None:
        p = self.p
        if d > 0:
            return 0 if d - 1 < p.min_buy[i] else d - 1
        if d == 0:
            return -int(p.min_sell[i]) if p.max_sell[i] >= p.min_sell[i] and p.max_sell[i] > 0 else None
        return d - 1 if -(d - 1) <= p.max_sell[i] else None

    def objective(self, i: int, d: int) -> float:
        """Instrument i's share of the objective, in bp."""
        p = self.p
        g = self.grain[i]
        error = abs(g * (p.held[i] + d) - self.target_bp[i])
        cost = g * (p.commission[i] * abs(d) + p.tax[i] * max(-d, 0))
        return error + p.cost_penalty * cost

    def cash(self, i: int, d: int) -> float:
        """KRW consumed by trading d shares of instrument i."""
        p = self.p
        if d >= 0:
            return float(p.price[i] * p.buy_factor[i] * d)
        return float(p.price[i] * p.sell_factor[i] * d)

    def snap(self, i: int, d: int) -> int:
        """The allowed trade nearest to d in objective terms (0 is always allowed)."""
        candidates = {0}
        p = self.p
        if d > 0 and p.max_buy[i] > 0:
            candidates.add(int(min(max(d, p.min_buy[i]), p.max_buy[i])))
        if d < 0 and p.max_sell[i] > 0:
            candidates.add(-int(min(max(-d, p.min_sell[i]), p.max_sell[i])))
        return min(sorted(candidates), key=lambda c: (self.objective(i, c), abs(c)))


def solve_greedy(problem: NettingProblem) -> np.ndarray:
    steps = _Steps(problem)
    n = problem.size
    nearest = np.rint(problem.target_bp / steps.grain).astype(np.int64) - problem.held
    trade = np.array([steps.snap(i, int(nearest[i])) for i in range(n)], dtype=np.int64)
    used = sum(steps.cash(i, int(trade[i])) for i in range(n))
    used = _repair(steps, trade, used)
    _improve(steps, trade, used)
    return trade


def _repair(steps: _Steps, trade: np.ndarray, used: float) -> float:
    """Free cash with the cheapest steps down until the cash row holds."""
    room = steps.p.cash_room + CASH_TOLERANCE_KRW
    if used <= room:
        return used
    heap: list[tuple[float, int, int]] = []

    def push(i: int) -> None:
        d = int(trade[i])
        down = steps.next_down(i, d)
        if down is None:
            return
        freed = steps.cash(i, d) - steps.cash(i, down)
        if freed > 0:
            heapq.heappush(heap, ((steps.objective(i, down) - steps.objective(i, d)) / freed, i, d))

    for i in range(steps.p.size):
        push(i)
    while used > room and heap:
        _, i, d = heapq.heappop(heap)
        if trade[i] != d:  # stale entry
            continue
        down = steps.next_down(i, d)
        assert down is not None
        used += steps.cash(i, down) - steps.cash(i, d)
        trade[i] = down
        push(i)
    if used > room:  # cannot happen (no trade is always feasible); be safe anyway
        trade[:] = 0
        used = 0.0
    return used


def _improve(steps: _Steps, trade: np.ndarray, used: float) -> None:
    """Apply objective-lowering single steps, best first, while cash allows."""
    room = steps.p.cash_room + CASH_TOLERANCE_KRW
    heap: list[tuple[float, int, int, int]] = []
    unaffordable: list[tuple[float, int, int, int]] = []

    def push(i: int) -> None:
        d = int(trade[i])
        base = steps.objective(i, d)
        for move in (steps.next_up(i, d), steps.next_down(i, d)):
            if move is not None:
                delta = steps.objective(i, move) - base
                if delta < -1e-12:
                    heapq.heappush(heap, (delta, i, d, move))

    for i in range(steps.p.size):
        push(i)
    while heap:
        entry = heapq.heappop(heap)
        _, i, d, move = entry
        if trade[i] != d:
            continue
        extra = steps.cash(i, move) - steps.cash(i, d)
        if used + extra > room:
            unaffordable.append(entry)
            continue
        used += extra
        trade[i] = move
        push(i)
        if extra < 0 and unaffordable:  # freed cash may make earlier candidates affordable
            for stale in unaffordable:
                heapq.heappush(heap, stale)
            unaffordable.clear()
