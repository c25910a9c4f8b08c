"""Whole-share netting: target quantities from equity, targets and prices; trades = target − held.

``compute_trades`` solves the allocation exactly with HiGHS's MILP (highspy) and falls back to a
fast greedy heuristic; the result reports its error beside the integrality lower bound.

The models are light and imported at once (guardrails, plans and the config use them); the solver
(numpy, highspy) is imported on first use of ``compute_trades``, ``build_problem`` or ``NettingProblem``,
so ``rebal status`` and the other light commands never load the solver.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from tools.netting.models import NettingError, NettingOptions, NettingResult, Side, Trade

if TYPE_CHECKING:
    from tools.netting.problem import NettingProblem, build_problem
    from tools.netting.solve import compute_trades

_LAZY = {"NettingProblem": "tools.netting.problem", "build_problem": "tools.netting.problem",
         "compute_trades": "tools.netting.solve"}

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


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
