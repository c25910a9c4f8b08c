"""Whole-share allocation: Rebal's MILP and greedy against floor-then-greedy and PyPortfolioOpt.

Every method solves the same fresh-allocation instances (cash only, no holdings, no fees, since
PyPortfolioOpt has no notion of either): random Dirichlet weights over n instruments priced
5,000–150,000 KRW on the 5-won ETF grid, with n × 1,000,000 KRW to invest. Seeds are fixed.

Error is the L1 weight error Σ|pᵢ·nᵢ/V − wᵢ| in % of equity, beside the integrality lower bound
Σ(pᵢ/V)·min(fᵢ, 1−fᵢ). Times are wall-clock seconds of the allocation call. PyPortfolioOpt's
LP runs in a child process so a slow solve can be stopped at --lp-timeout.

    .venv/bin/python bench/bench_netting.py [--seeds 5] [--lp-timeout 60]

Prints figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from tools.market import InstrumentKind
from tools.money import MoneyRules
from tools.netting import NettingOptions, compute_trades
from tools.portfolio import AccountSnapshot

SIZES = (10, 50, 500, 2000)
NO_FEES = NettingOptions(money=MoneyRules(commission_rates=dict.fromkeys(InstrumentKind, 0.0), margin=0.0,
                                          cash_buffer=0.0), min_trade_value=0)


@dataclass(frozen=True)
class Instance:
    tickers: list[str]
    prices: np.ndarray  # int KRW
    weights: np.ndarray
    equity: int


def make_instance(size: int, seed: int) -> Instance:
    rng = np.random.default_rng(10_000 * size + seed)
    prices = np.exp(rng.uniform(np.log(5_000), np.log(150_000), size))
    prices = (np.round(prices / 5) * 5).astype(np.int64)
    return Instance(tickers=[f"{100_000 + i:06d}" for i in range(size)], prices=prices,
                    weights=rng.dirichlet(np.ones(size)), equity=size * 1_000_000)


def l1_error(inst: Instance, shares: np.ndarray) -> float:
    return float(np.abs(inst.prices * shares / inst.equity - inst.weights).sum())


def lower_bound(inst: Instance) -> float:
    exact = inst.weights * inst.equity / inst.prices
    frac = exact - np.floor(exact)
    return float((inst.prices / inst.equity * np.minimum(frac, 1 - frac)).sum())


def cash_left(inst: Instance, shares: np.ndarray) -> float:
    return float(inst.equity - (inst.prices * shares).sum()) / inst.equity


# --- methods ---------------------------------------------------------------------------------


def rebal(inst: Instance, options: NettingOptions) -> tuple[np.ndarray, float, str]:
    account = AccountSnapshot(cash=inst.equity, prices=dict(zip(inst.tickers, map(int, inst.prices), strict=True)))
    weights = dict(zip(inst.tickers, map(float, inst.weights), strict=True))
    started = time.perf_counter()
    result = compute_trades(weights, account, options)
    seconds = time.perf_counter() - started
    shares = np.array([result.quantities_after.get(t, 0) for t in inst.tickers])
    note = result.solver if result.fallback_reason is None else f"{result.solver} ({result.fallback_reason})"
    return shares, seconds, note


def floor_then_greedy(inst: Instance) -> tuple[np.ndarray, float, str]:
    """Floor every target, then buy one share at a time of the largest KRW deficit that still fits."""
    started = time.perf_counter()
    shares = np.floor(inst.weights * inst.equity / inst.prices).astype(np.int64)
    cash = inst.equity - int((inst.prices * shares).sum())
    deficit = inst.weights * inst.equity - inst.prices * shares
    for i in np.argsort(-deficit):
        if deficit[i] <= 0:
            break
        if inst.prices[i] <= cash:
            shares[i] += 1
            cash -= int(inst.prices[i])
    return shares, time.perf_counter() - started, ""


def _pypfopt_inputs(inst: Instance):
    import pandas as pd

    # Weights and prices in the same ticker order: lp_portfolio pairs them by position.
    weights = dict(zip(inst.tickers, map(float, inst.weights), strict=True))
    prices = pd.Series(inst.prices.astype(float), index=inst.tickers)
    return weights, prices


def pypfopt_greedy(inst: Instance) -> tuple[np.ndarray, float, str]:
    from pypfopt import DiscreteAllocation

    weights, prices = _pypfopt_inputs(inst)
    started = time.perf_counter()
    allocation, _ = DiscreteAllocation(weights, prices, total_portfolio_value=inst.equity).greedy_portfolio()
    seconds = time.perf_counter() - started
    return np.array([allocation.get(t, 0) for t in inst.tickers]), seconds, ""


def _lp_child(inst: Instance, out: mp.Queue) -> None:
    warnings.simplefilter("ignore")
    try:
        from pypfopt import DiscreteAllocation

        weights, prices = _pypfopt_inputs(inst)
        started = time.perf_counter()
        allocation, _ = DiscreteAllocation(weights, prices, total_portfolio_value=inst.equity).lp_portfolio()
        seconds = time.perf_counter() - started
        out.put(("ok", [allocation.get(t, 0) for t in inst.tickers], seconds))
    except Exception as exc:  # report, don't crash the benchmark
        out.put(("error", repr(exc), 0.0))


def pypfopt_lp(inst: Instance, timeout: float) -> tuple[np.ndarray | None, float, str]:
    context = mp.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=_lp_child, args=(inst, queue))
    child.start()
    try:
        status, payload, seconds = queue.get(timeout=timeout + 15)  # + start-up and import time
    except Exception:
        child.terminate()
        child.join()
        return None, float("nan"), f"stopped after {timeout:.0f} s"
    child.join()
    if status != "ok":
        return None, float("nan"), f"failed: {payload}"
    return np.array(payload), seconds, ""


# --- table -----------------------------------------------------------------------------------


@dataclass
class Row:
    errors: list[float] = field(default_factory=list)
    gaps: list[float] = field(default_factory=list)
    cash: list[float] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    notes: set[str] = field(default_factory=set)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="instances per size")
    parser.add_argument("--lp-timeout", type=float, default=60.0, help="seconds per PyPortfolioOpt LP solve")
    parser.add_argument("--sizes", type=int, nargs="*", default=list(SIZES))
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    try:
        import pypfopt

        have_pypfopt = f"PyPortfolioOpt {pypfopt.__version__}"
    except ImportError:
        have_pypfopt = ""
    print(f"Whole-share allocation benchmark: {args.seeds} instance(s) per size, fresh cash, no fees.")
    print(f"Comparing with: {have_pypfopt or 'PyPortfolioOpt NOT INSTALLED (pip install .[bench])'}; "
          f"LP time limit {args.lp_timeout:.0f} s.\n")

    methods = ["Rebal MILP", "Rebal greedy", "floor-then-greedy", "PyPortfolioOpt greedy", "PyPortfolioOpt LP",
               "Rebal MILP, KIS fees + 1% margin"]
    header = (f"{'n':>5}  {'method':<33}{'L1 error %':>11}{'gap to LB %':>12}{'cash left %':>12}"
              f"{'median s':>10}{'max s':>9}  notes")
    print(header)
    print("-" * len(header))
    comparisons: dict[int, list[tuple[float, float, float, float]]] = {}
    lp_given_up = False
    for size in args.sizes:
        rows = {m: Row() for m in methods}
        for seed in range(args.seeds):
            inst = make_instance(size, seed)
            bound = lower_bound(inst)
            runs: dict[str, tuple[np.ndarray | None, float, str]] = {
                "Rebal MILP": rebal(inst, NO_FEES),
                "Rebal greedy": rebal(inst, NO_FEES.model_copy(update={"solver": "greedy"})),
                "floor-then-greedy": floor_then_greedy(inst),
                "Rebal MILP, KIS fees + 1% margin": rebal(inst, NettingOptions(money=MoneyRules(cash_buffer=0.0))),
            }
            if have_pypfopt:
                runs["PyPortfolioOpt greedy"] = pypfopt_greedy(inst)
                runs["PyPortfolioOpt LP"] = (pypfopt_lp(inst, args.lp_timeout) if not lp_given_up
                                             else (None, float("nan"), "not run after an earlier time-out"))
                if runs["PyPortfolioOpt LP"][2].startswith("stopped"):
                    lp_given_up = True  # larger or later instances would only be slower
            for method, (shares, seconds, note) in runs.items():
                row = rows[method]
                if note:
                    row.notes.add(note)
                if shares is None:
                    continue
                error = l1_error(inst, shares)
                row.errors.append(error)
                row.gaps.append(error - bound)
                row.cash.append(cash_left(inst, shares))
                row.times.append(seconds)
            lp = runs.get("PyPortfolioOpt LP")
            if lp and lp[0] is not None:
                mine = runs["Rebal MILP"]
                comparisons.setdefault(size, []).append(
                    (l1_error(inst, mine[0]), l1_error(inst, lp[0]), mine[1], lp[1]))
        for method in methods:
            row = rows[method]
            if not row.errors and not row.notes:
                continue
            if row.errors:
                figures = (f"{100 * statistics.mean(row.errors):>11.4f}{100 * statistics.mean(row.gaps):>12.4f}"
                           f"{100 * statistics.mean(row.cash):>12.4f}{statistics.median(row.times):>10.4f}"
                           f"{max(row.times):>9.4f}")
            else:
                figures = f"{'—':>11}{'—':>12}{'—':>12}{'—':>10}{'—':>9}"
            notes = "; ".join(sorted(n for n in row.notes if n not in ("milp", "greedy")))
            print(f"{size:>5}  {method:<33}{figures}  {notes}")
        print()

    print("Checks against the targets:")
    for size, pairs in comparisons.items():
        not_worse = sum(1 for mine, theirs, *_ in pairs if mine <= theirs + 1e-12)
        speedups = [theirs_t / mine_t for _, _, mine_t, theirs_t in pairs]
        print(f"  n={size:>4}: Rebal MILP error ≤ PyPortfolioOpt LP on {not_worse}/{len(pairs)} instance(s); "
              f"speed-up ×{statistics.median(speedups):.0f} median, ×{min(speedups):.1f} worst")
    if not comparisons:
        print("  no PyPortfolioOpt LP results to compare with")
    print("  (L1 error and gap in % of equity; 'gap to LB' = error − integrality lower bound.)")


if __name__ == "__main__":
    main()
