"""Exact whole-share allocation with scipy's MILP (HiGHS), general-integer form.

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
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from tools.netting.problem import BP, NettingProblem


@dataclass(frozen=True)
class MilpOutcome:
    trade: np.ndarray | None  # shares per instrument, None when no solution is available
    status: str
    optimal: bool


def solve_milp(problem: NettingProblem, *, time_limit: float, mip_rel_gap: float) -> MilpOutcome:
    n = problem.size
    g = problem.grain
    w = problem.target_bp
    h = problem.held.astype(float)
    # Work relative to the target's floor so the chord row's constants stay small.
    shares = w / g
    floor_shares = np.floor(shares)
    frac = shares - floor_shares
    held_bp = g * h

    eye = sparse.identity(n, format="csr")
    g_diag = sparse.diags(g, format="csr")
    chord_slope = sparse.diags(g * (1 - 2 * frac), format="csr")
    zeros = sparse.csr_matrix((n, n))
    # Columns: [b (n) | s (n) | e (n) | y (n)]; y = 1 allows buying, y = 0 selling. Without it a
    # buy of 10 and a sell of 9 would net to 1 share and slip under the minimum trade size.
    over = sparse.hstack([-g_diag, g_diag, eye, zeros])  # e − g(b − s) ≥ g·h − W
    under = sparse.hstack([g_diag, -g_diag, eye, zeros])  # e + g(b − s) ≥ W − g·h
    chord = sparse.hstack([-chord_slope, chord_slope, eye, zeros])  # e − slope·(b − s) ≥ g·f + slope·(h − ⌊t⌋)
    buy_gate = sparse.hstack([eye, zeros, zeros, -sparse.diags(problem.max_buy.astype(float))])  # b ≤ B·y
    sell_gate = sparse.hstack([zeros, eye, zeros, sparse.diags(problem.max_sell.astype(float))])  # s ≤ S·(1 − y)
    cash_row = sparse.hstack([
        sparse.csr_matrix(g * problem.buy_factor), sparse.csr_matrix(-g * problem.sell_factor),
        sparse.csr_matrix((1, 2 * n))])
    matrix = sparse.vstack([over, under, chord, buy_gate, sell_gate, cash_row], format="csr")
    lower = np.concatenate([
        held_bp - w, w - held_bp, g * frac + g * (1 - 2 * frac) * (h - floor_shares),
        np.full(2 * n, -np.inf), [-np.inf]])
    upper = np.concatenate([np.full(3 * n, np.inf), np.zeros(n), problem.max_sell.astype(float),
                            [problem.cash_room * BP / problem.equity]])

    cost_buy = problem.cost_penalty * g * problem.commission
    cost_sell = problem.cost_penalty * g * (problem.commission + problem.tax)
    objective = np.concatenate([cost_buy, cost_sell, np.ones(n), np.zeros(n)])

    # Semi-integer (3) where the minimum trade exceeds one share: "0 or in [min, max]".
    buy_kind = np.where((problem.min_buy > 1) & (problem.max_buy > 0), 3, 1)
    sell_kind = np.where((problem.min_sell > 1) & (problem.max_sell > 0), 3, 1)
    integrality = np.concatenate([buy_kind, sell_kind, np.zeros(n), np.ones(n)])
    lb = np.concatenate([np.where(buy_kind == 3, problem.min_buy, 0),
                         np.where(sell_kind == 3, problem.min_sell, 0), np.zeros(2 * n)])
    ub = np.concatenate([problem.max_buy, problem.max_sell, np.full(n, np.inf), np.ones(n)]).astype(float)

    result = milp(
        objective, constraints=LinearConstraint(matrix, lower, upper), integrality=integrality,
        bounds=Bounds(lb, ub), options={"time_limit": time_limit, "mip_rel_gap": mip_rel_gap, "presolve": True},
    )
    status = f"HiGHS status {result.status}: {result.message}"
    if result.x is None:
        return MilpOutcome(trade=None, status=status, optimal=False)
    bought = np.rint(result.x[:n]).astype(np.int64)
    sold = np.rint(result.x[n:2 * n]).astype(np.int64)
    return MilpOutcome(trade=bought - sold, status=status, optimal=result.status == 0)
