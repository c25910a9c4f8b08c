"""Exact whole-share allocation with HiGHS's MILP, general-integer form.

``windows.py`` is the fast path; this formulation is the fallback when the share windows there
would be too wide to enumerate (a poor incumbent on a huge account).

Variables per instrument: buy b ≥ 0, sell s ≥ 0 (integer, or semi-integer "0 or ≥ minimum
trade"), and an error slack e ≥ |g·(h + b − s) − W|. Besides the two usual slack rows each
instrument gets the *chord* of its error function between the whole shares around its target,

    e ≥ g·f + g·(1 − 2f)·(n − ⌊t⌋),       t = W/g, f = t − ⌊t⌋,

which every integer n satisfies. It makes each instrument's LP relaxation the convex hull of
its integer points, so the relaxation's bound is the integrality lower bound and HiGHS closes
the gap with little branching; without it the relaxation hits every target exactly (bound 0)
and branch-and-bound blows up beyond a few dozen instruments.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tools.netting.highs import CONTINUOUS, INTEGER, SEMI_INTEGER, Rows, solve
from tools.netting.problem import BP, NettingProblem


@dataclass(frozen=True)
class MilpOutcome:
    trade: np.ndarray | None  # shares per instrument, None when no solution is available
    status: str
    optimal: bool


def _rows(problem: NettingProblem) -> Rows:
    """The constraint rows over the columns [b (n) | s (n) | e (n) | y (n)]; y = 1 allows buying,
    y = 0 selling. Without y a buy of 10 and a sell of 9 would net to 1 share and slip under the
    minimum trade size."""
    n = problem.size
    g = problem.grain
    w = problem.target_bp
    h = problem.held.astype(float)
    # Work relative to the target's floor so the chord row's constants stay small.
    shares = w / g
    floor_shares = np.floor(shares)
    frac = shares - floor_shares
    slope = g * (1 - 2 * frac)
    i = np.arange(n)
    b, s, e, y = i, n + i, 2 * n + i, 3 * n + i
    ones = np.ones(n)
    max_buy, max_sell = problem.max_buy.astype(float), problem.max_sell.astype(float)
    blocks = [  # (row offset, [(columns, coefficients), ...])
        (0, [(b, -g), (s, g), (e, ones)]),  # over:  e − g(b − s) ≥ g·h − W
        (n, [(b, g), (s, -g), (e, ones)]),  # under: e + g(b − s) ≥ W − g·h
        (2 * n, [(b, -slope), (s, slope), (e, ones)]),  # chord: e − slope·(b − s) ≥ g·f + slope·(h − ⌊t⌋)
        (3 * n, [(b, ones), (y, -max_buy)]),  # buy gate:  b ≤ B·y
        (4 * n, [(s, ones), (y, max_sell)]),  # sell gate: s ≤ S·(1 − y)
    ]
    row = [offset + i for offset, terms in blocks for _ in terms]
    column = [columns for _, terms in blocks for columns, _ in terms]
    value = [coefficients for _, terms in blocks for _, coefficients in terms]
    cash_row = np.full(2 * n, 5 * n)  # Σ g·(buy_factor·b − sell_factor·s) ≤ cash room
    row.append(cash_row)
    column.append(np.concatenate([b, s]))
    value.append(np.concatenate([g * problem.buy_factor, -g * problem.sell_factor]))
    held_bp = g * h
    lower = np.concatenate([held_bp - w, w - held_bp, g * frac + slope * (h - floor_shares),
                            np.full(2 * n, -np.inf), [-np.inf]])
    upper = np.concatenate([np.full(3 * n, np.inf), np.zeros(n), max_sell,
                            [problem.cash_room * BP / problem.equity]])
    return Rows(row=np.concatenate(row), column=np.concatenate(column), value=np.concatenate(value),
                lower=lower, upper=upper)


def solve_milp(problem: NettingProblem, *, time_limit: float, mip_rel_gap: float) -> MilpOutcome:
    n = problem.size
    g = problem.grain
    cost_buy = problem.cost_penalty * g * problem.commission
    cost_sell = problem.cost_penalty * g * (problem.commission + problem.tax)
    objective = np.concatenate([cost_buy, cost_sell, np.ones(n), np.zeros(n)])

    # Semi-integer where the minimum trade exceeds one share: "0 or in [min, max]".
    buy_kind = np.where((problem.min_buy > 1) & (problem.max_buy > 0), SEMI_INTEGER, INTEGER)
    sell_kind = np.where((problem.min_sell > 1) & (problem.max_sell > 0), SEMI_INTEGER, INTEGER)
    kind = np.concatenate([buy_kind, sell_kind, np.full(n, CONTINUOUS), np.full(n, INTEGER)])
    lb = np.concatenate([np.where(buy_kind == SEMI_INTEGER, problem.min_buy, 0),
                         np.where(sell_kind == SEMI_INTEGER, problem.min_sell, 0), np.zeros(2 * n)])
    ub = np.concatenate([problem.max_buy, problem.max_sell, np.full(n, np.inf), np.ones(n)]).astype(float)

    solved = solve(objective, lb, ub, kind, _rows(problem), time_limit=time_limit, mip_rel_gap=mip_rel_gap)
    if solved.x is None:
        return MilpOutcome(trade=None, status=solved.status, optimal=False)
    bought = np.rint(solved.x[:n]).astype(np.int64)
    sold = np.rint(solved.x[n:2 * n]).astype(np.int64)
    return MilpOutcome(trade=bought - sold, status=solved.status, optimal=solved.optimal)
