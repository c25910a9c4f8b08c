"""Whole-share netting: target quantities from equity, targets and prices; trades = target − held.

``compute_trades`` solves the allocation exactly with scipy's MILP (HiGHS) and falls back to a
fast greedy heuristic; the result reports its error beside the integrality lower bound.
"""

from tools.netting.models import NettingError, NettingOptions, NettingResult, Side, Trade
from tools.netting.problem import NettingProblem, build_problem
from tools.netting.solve import compute_trades

__all__ = [
    "NettingError",
    "NettingOptions",
    "NettingProblem",
    "NettingResult",
    "Side",
    "Trade",
    "build_problem",
    "compute_trades",
]
