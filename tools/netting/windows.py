"""Exact whole-share allocation as a multiple-choice MILP over provably sufficient share windows.

The objective is separable: Σ_i φ_i(n_i) with φ_i = |g_i·n_i − W_i| + λ·cost_i. Given any
feasible solution with objective UB (the greedy one), and LB′ = Σ_j min_n φ_j (each instrument
at its own best, ignoring cash), an optimal solution satisfies for every instrument

    φ_i(n_i) ≤ min_n φ_i + (UB − LB′)

So each instrument only needs the few allowed share counts inside that window (usually one to
three once the greedy answer is close). The model picks exactly one per instrument (binary
columns carrying the exact error, cost and cash of each choice) under the cash row. The window
argument keeps the answer exactly optimal; in bench/bench_netting.py this form solved the hard
50-instrument instances about ten times faster than the general-integer form in milp.py, and
when every window holds a single choice the greedy answer is proven optimal without a solve.
"""

from __future__ import annotations

import numpy as np

from tools.netting.highs import INTEGER, Rows, solve
from tools.netting.milp import MilpOutcome
from tools.netting.problem import BP, NettingProblem

# Slack (bp of equity) on window edges so float rounding never drops a borderline choice.
_EDGE_BP = 1e-7


def _domains(problem: NettingProblem) -> tuple[np.ndarray, np.ndarray]:
    """Allowed final share counts per instrument as three closed intervals (hold, buy, sell),
    arrays of shape (n, 3); an empty interval has low > high."""
    held = problem.held
    empty_low, empty_high = held + 1, held  # low > high
    buy_ok = problem.max_buy > 0
    sell_ok = problem.max_sell > 0
    low = np.stack([held, np.where(buy_ok, held + problem.min_buy, empty_low),
                    np.where(sell_ok, held - problem.max_sell, empty_low)], axis=1)
    high = np.stack([held, np.where(buy_ok, held + problem.max_buy, empty_high),
                     np.where(sell_ok, held - problem.min_sell, empty_high)], axis=1)
    return low, high


def _objective_at(problem: NettingProblem, item: np.ndarray, final: np.ndarray) -> np.ndarray:
    """Each instrument's share of the objective (error + λ·cost, in bp) at the given final counts."""
    g = problem.grain[item]
    trade = final - problem.held[item]
    cost = g * (problem.commission[item] * np.abs(trade) + problem.tax[item] * np.maximum(-trade, 0))
    return np.abs(g * final - problem.target_bp[item]) + problem.cost_penalty * cost


def _best(problem: NettingProblem, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Each instrument's smallest objective share over its allowed counts. The function is convex
    and piecewise linear with kinks at the target and at the holding, so the minimum lies at one
    of those (clipped into an interval) or at an interval end."""
    shares = problem.target_bp / problem.grain
    kinks = np.stack([np.floor(shares), np.ceil(shares), problem.held], axis=1).astype(np.int64)
    best = np.full(problem.size, np.inf)
    item = np.arange(problem.size)
    for k in range(3):
        valid = low[:, k] <= high[:, k]
        for point in (*kinks.T, low[:, k], high[:, k]):
            value = _objective_at(problem, item, np.clip(point, low[:, k], high[:, k]))
            best = np.where(valid, np.minimum(best, value), best)
    return best


def choice_windows(problem: NettingProblem, incumbent: np.ndarray, max_columns: int
                   ) -> tuple[np.ndarray, np.ndarray] | None:
    """(instrument index, trade) of every choice an optimal solution may use, grouped by
    instrument and sorted; None when there would be more than ``max_columns``."""
    low, high = _domains(problem)
    best = _best(problem, low, high)
    allowance = problem.objective(incumbent) * BP - best.sum() + _EDGE_BP
    reach = best + allowance  # the largest objective share each instrument may carry
    # Costs are ≥ 0, so |g·n − W| ≤ reach bounds the candidates; the exact test follows.
    g, w = problem.grain, problem.target_bp
    span_low = np.ceil((w - reach) / g).astype(np.int64)
    span_high = np.floor((w + reach) / g).astype(np.int64)
    starts = np.maximum(np.maximum(low, span_low[:, None]), 0)
    stops = np.minimum(high, span_high[:, None])
    counts = np.maximum(stops - starts + 1, 0)
    if counts.sum() > max_columns:
        return None
    # Enumerate every (instrument, count) pair of every interval without a Python loop.
    flat_counts = counts.ravel()
    item = np.repeat(np.repeat(np.arange(problem.size), 3), flat_counts)
    offsets = np.arange(flat_counts.sum()) - np.repeat(np.cumsum(flat_counts) - flat_counts, flat_counts)
    final = np.repeat(starts.ravel(), flat_counts) + offsets
    keep = _objective_at(problem, item, final) <= reach[item]
    item = np.concatenate([item[keep], np.arange(problem.size)])
    final = np.concatenate([final[keep], problem.held + incumbent])  # the incumbent is always a choice
    pairs = np.unique(np.stack([item, final], axis=1), axis=0)
    return pairs[:, 0], pairs[:, 1] - problem.held[pairs[:, 0]]


def solve_windowed(problem: NettingProblem, incumbent: np.ndarray, *, time_limit: float, mip_rel_gap: float,
                   max_columns: int = 200_000) -> MilpOutcome | None:
    """Optimal trades, or None when the windows are too wide (use the general formulation)."""
    windows = choice_windows(problem, incumbent, max_columns)
    if windows is None:
        return None
    item, trade = windows
    if len(item) == problem.size:  # one choice each: the bound already proves the incumbent optimal
        return MilpOutcome(trade=incumbent.copy(), status="optimal: the bound leaves one choice per instrument",
                           optimal=True)
    g = problem.grain[item]
    final = problem.held[item] + trade
    bought, sold = np.maximum(trade, 0), np.maximum(-trade, 0)
    value = _objective_at(problem, item, final)
    # Subtract each instrument's cheapest choice: same optimum, and the relative gap then
    # measures only what the choices can still change.
    first = np.flatnonzero(np.r_[True, item[1:] != item[:-1]])
    value = value - np.minimum.reduceat(value, first)[item]
    cash = g * (problem.buy_factor[item] * bought - problem.sell_factor[item] * sold)

    columns = len(item)
    every = np.arange(columns)
    rows = Rows(  # pick exactly one choice per instrument; the cash row under the room
        row=np.concatenate([item, np.full(columns, problem.size)]), column=np.concatenate([every, every]),
        value=np.concatenate([np.ones(columns), cash]),
        lower=np.concatenate([np.ones(problem.size), [-np.inf]]),
        upper=np.concatenate([np.ones(problem.size), [problem.cash_room * BP / problem.equity]]))
    solved = solve(value, np.zeros(columns), np.ones(columns), np.full(columns, INTEGER), rows,
                   time_limit=time_limit, mip_rel_gap=mip_rel_gap)
    status = f"{solved.status} ({columns} choices)"
    if solved.x is None:
        return MilpOutcome(trade=None, status=status, optimal=False)
    chosen = np.zeros(problem.size, dtype=np.int64)
    picked = np.flatnonzero(solved.x > 0.5)
    chosen[item[picked]] = trade[picked]
    return MilpOutcome(trade=chosen, status=status, optimal=solved.optimal)
