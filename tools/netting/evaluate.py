"""Measure given trade quantities the way netting measures its own solution.

A person's edits change what would be traded; the plan shown and checked must then describe
*those* trades: costs, cash and equity after, every post-trade weight, the error against the
effective targets. ``evaluate_trades`` builds that result from scratch on the same problem netting
solves (``solve.problem_for``) with the same assembly (``solve.assemble_result``), so for netting's
own quantities it returns netting's own result.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from tools.netting.models import NettingError, NettingOptions, NettingResult, SolverName
from tools.netting.solve import assemble_result, problem_for
from tools.portfolio import AccountSnapshot
from tools.targets.models import Targets

EVALUATED = "quantities given, not solved"


def evaluate_trades(
    targets: Targets | Mapping[str, float],
    snapshot: AccountSnapshot,
    options: NettingOptions | None,
    quantities: Mapping[str, int],
    *,
    solver: SolverName = "none",
    status: str = EVALUATED,
) -> NettingResult:
    """The netting result of trading ``quantities``: signed shares per ticker (+ buy, − sell, 0 or
    absent: no trade), e.g. netting's answer with a person's overrides.

    ``solver``/``status`` say where the quantities came from. Raises ``NettingError`` for a ticker
    that is neither held nor targeted (it has no place in the problem), a quantity that is not a
    whole number, or a sale of more shares than are held.
    """
    problem, version = problem_for(targets, snapshot, options or NettingOptions())
    index = {ticker: i for i, ticker in enumerate(problem.tickers)}
    unknown = sorted(t for t, q in quantities.items() if t not in index and q)
    if unknown:
        raise NettingError(f"cannot trade {', '.join(unknown)}: neither held nor in the targets")
    trade = np.zeros(problem.size, dtype=np.int64)
    for ticker, quantity in quantities.items():
        if not quantity:
            continue
        if int(quantity) != quantity:
            raise NettingError(f"{ticker}: {quantity!r} is not a whole number of shares")
        trade[index[ticker]] = int(quantity)
    short = [f"{problem.tickers[i]} (sell {-trade[i]}, held {problem.held[i]})"
             for i in np.flatnonzero(problem.held + trade < 0)]
    if short:
        raise NettingError(f"cannot sell more than is held: {', '.join(short)}")
    return assemble_result(problem, trade, solver=solver, status=status, seconds=0.0, fallback=None,
                           version=version)


def signed_quantities(result: NettingResult) -> dict[str, int]:
    """A result's trades as ``evaluate_trades`` takes them: + shares bought, − shares sold."""
    return {t.ticker: t.quantity if t.side == "buy" else -t.quantity for t in result.trades}
