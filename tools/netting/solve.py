"""Net trades from targets and holdings: solve, verify, and describe each trade."""

from __future__ import annotations

import time
from collections.abc import Mapping

import numpy as np

from tools.netting.greedy import solve_greedy
from tools.netting.milp import solve_milp
from tools.netting.models import NettingError, NettingOptions, NettingResult, SolverName, Trade
from tools.netting.problem import NettingProblem, build_problem
from tools.netting.windows import solve_windowed
from tools.portfolio import AccountSnapshot
from tools.targets.models import SUM_TOLERANCE, Targets


def compute_trades(
    targets: Targets | Mapping[str, float],
    snapshot: AccountSnapshot,
    options: NettingOptions | None = None,
) -> NettingResult:
    """Whole-share net trades that bring ``snapshot`` closest to ``targets``.

    ``targets`` is a ``Targets`` (two-level or flat) or ``{ticker: fraction}`` whose remainder to
    1 is cash. Holdings outside the targets get target 0 (sold unless locked or buy-only).
    """
    options = options or NettingOptions()
    problem, version = problem_for(targets, snapshot, options)

    started = time.perf_counter()
    trade, solver, status, fallback = _solve(problem, options)
    elapsed = time.perf_counter() - started
    return assemble_result(problem, trade, solver=solver, status=status, seconds=elapsed, fallback=fallback,
                           version=version)


def problem_for(targets: Targets | Mapping[str, float], snapshot: AccountSnapshot, options: NettingOptions
                ) -> tuple[NettingProblem, str | None]:
    """The problem netting solves for these targets and this account, and the targets' version.

    Shared with ``tools.netting.evaluate``: given quantities are measured against the very same
    problem (effective targets, bounds) that netting optimises.
    """
    if isinstance(targets, Targets):
        weights, cash_weight, version = targets.flat(), targets.cash_weight, targets.version
    else:
        weights, version = dict(targets), None
        negative = sorted(t for t, w in weights.items() if not w >= 0)  # also catches NaN
        if negative or sum(weights.values()) > 1 + SUM_TOLERANCE:
            raise NettingError(f"target weights must be ≥ 0 and sum to at most 100% "
                               f"(negative: {negative}, sum {sum(weights.values()):.6%})")
        cash_weight = max(0.0, 1.0 - sum(weights.values()))
    return build_problem(weights, cash_weight, snapshot, options), version


def _solve(problem: NettingProblem, options: NettingOptions) -> tuple[np.ndarray, SolverName, str, str | None]:
    if problem.size == 0:
        return np.zeros(0, dtype=np.int64), "none", "nothing to allocate", None
    # The greedy answer is the fallback and, for the MILP, the bound that sizes the share windows.
    greedy = solve_greedy(problem)
    if options.solver == "greedy":
        return greedy, "greedy", "greedy", None
    try:
        outcome = solve_windowed(problem, greedy, time_limit=options.time_limit, mip_rel_gap=options.mip_rel_gap)
        if outcome is None:  # windows too wide to enumerate: the general-integer formulation
            outcome = solve_milp(problem, time_limit=options.time_limit, mip_rel_gap=options.mip_rel_gap)
    except Exception as exc:  # a solver failure must not stop the run: fall back and say why
        return greedy, "greedy", "greedy", f"MILP failed: {exc!r}"
    if outcome.trade is None:
        return greedy, "greedy", "greedy", f"MILP gave no solution ({outcome.status})"
    if not problem.is_feasible(outcome.trade):
        return greedy, "greedy", "greedy", f"MILP solution failed verification ({outcome.status})"
    if not outcome.optimal and problem.objective(greedy) < problem.objective(outcome.trade):
        return greedy, "greedy", outcome.status, f"MILP stopped early ({outcome.status})"
    return outcome.trade, "milp", outcome.status, None


def assemble_result(problem: NettingProblem, trade: np.ndarray, *, solver: SolverName, status: str, seconds: float,
                    fallback: str | None, version: str | None) -> NettingResult:
    """The full result of trading ``trade`` (shares per instrument of ``problem``): trades with
    their costs, expected cash, equity and weights after, error, bound and objective. Netting's own
    solution and given quantities (``tools.netting.evaluate``) are both measured here."""
    equity = problem.equity
    final = problem.held + trade
    rows = []  # (side, ticker index, shares, notional, commission, tax)
    for i in np.flatnonzero(trade):
        shares = int(abs(trade[i]))
        notional = int(problem.price[i]) * shares
        kind = problem.kinds[i]
        if trade[i] < 0:
            rows.append(("sell", int(i), shares, notional, problem.money.commission(notional, kind),
                         problem.money.sell_tax(notional, kind)))
        else:
            rows.append(("buy", int(i), shares, notional, problem.money.commission(notional, kind), 0))
    proceeds = sum(r[3] - r[4] - r[5] for r in rows if r[0] == "sell")
    spent = sum(r[3] + r[4] for r in rows if r[0] == "buy")
    cash_after = problem.cash + proceeds - spent
    equity_after = cash_after + int((problem.price * final).sum())

    def weight(value: int, base: int) -> float:
        return value / base if base > 0 else 0.0

    weights_before = {t: weight(int(problem.price[i] * problem.held[i]), equity)
                      for i, t in enumerate(problem.tickers)}
    weights_after = {t: weight(int(problem.price[i] * final[i]), equity_after)
                     for i, t in enumerate(problem.tickers)}
    trades = []
    rows.sort(key=lambda r: (r[0] != "sell", problem.tickers[r[1]]))  # sells first: they fund the buys
    for number, (side, i, shares, notional, fee, tax) in enumerate(rows, start=1):
        ticker = problem.tickers[i]
        target = float(problem.given_target[i])
        trades.append(Trade(
            trade_id=f"T{number:02d}-{ticker}-{side.upper()}", ticker=ticker, side=side, quantity=shares,
            reference_price=int(problem.price[i]), notional=notional, commission=fee, tax=tax,
            kind=problem.kinds[i], weight_before=weights_before[ticker], weight_after=weights_after[ticker],
            target_weight=target, reason=_reason(side, ticker, weights_before[ticker], weights_after[ticker],
                                                 target, problem.held[i], final[i]),
        ))
    error = problem.error(trade)
    lower_bound = problem.lower_bound()
    return NettingResult(
        trades=tuple(trades), equity_before=equity, cash_before=problem.cash, cash_after=cash_after,
        equity_after=equity_after, quantities_after={t: int(final[i]) for i, t in enumerate(problem.tickers)},
        weights_before=weights_before, weights_after=weights_after,
        target_weights={t: float(problem.given_target[i]) for i, t in enumerate(problem.tickers)},
        effective_targets={t: float(problem.target[i]) for i, t in enumerate(problem.tickers)},
        commission=sum(r[4] for r in rows), tax=sum(r[5] for r in rows),
        turnover=sum(r[3] for r in rows), error=error, lower_bound=lower_bound,
        max_deviation=problem.max_deviation(trade), objective=problem.objective(trade), solver=solver, solver_status=status, solve_seconds=seconds,
        fallback_reason=fallback, targets_version=version,
    )


def _reason(side: str, ticker: str, before: float, after: float, target: float, held: int, final: int) -> str:
    if target == 0 and final == 0:
        return f"not in targets: sell all {held} shares ({before:.2%} of equity)"
    if target == 0:
        return f"not in targets: reduce {before:.2%} → {after:.2%}"
    direction = "overweight" if side == "sell" else "underweight"
    return f"{direction}: {before:.2%} → {after:.2%} (target {target:.2%})"
