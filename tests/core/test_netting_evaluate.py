"""evaluate_trades: given quantities measured exactly as netting measures its own solution."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tools.market import InstrumentKind
from tools.money import MoneyRules
from tools.netting import NettingError, NettingOptions, compute_trades
from tools.netting.evaluate import evaluate_trades, signed_quantities
from tools.portfolio import AccountSnapshot, PositionInput
from tools.targets import load_targets

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "targets"
HOW_SOLVED = {"solver", "solver_status", "solve_seconds", "fallback_reason"}


def measured(result) -> dict:
    return result.model_dump(mode="json", exclude=HOW_SOLVED)


@st.composite
def cases(draw: st.DrawFn) -> tuple[AccountSnapshot, dict[str, float], NettingOptions]:
    count = draw(st.integers(1, 8))
    tickers = [f"{200_000 + i:06d}" for i in range(count)]
    prices = {t: draw(st.integers(1_000, 150_000)) for t in tickers}
    kinds = {t: draw(st.sampled_from(list(InstrumentKind))) for t in tickers}
    positions = []
    for ticker in tickers:
        held = draw(st.integers(0, 300))
        if held:
            positions.append(PositionInput(ticker=ticker, quantity=held, price=prices[ticker], kind=kinds[ticker],
                                           sellable_quantity=draw(st.integers(0, held))))
    account = AccountSnapshot(cash=draw(st.integers(0, 30_000_000)), positions=tuple(positions), prices=prices,
                              kinds=kinds)
    assume(account.equity > 0)
    targeted = draw(st.lists(st.sampled_from(tickers), min_size=1, unique=True))
    raw = np.array([draw(st.integers(1, 100)) for _ in targeted], dtype=float)
    weights = dict(zip(targeted, draw(st.floats(0.5, 1.0)) * raw / raw.sum(), strict=True))
    options = NettingOptions(
        buy_only=draw(st.booleans()), money=MoneyRules(cash_buffer=draw(st.sampled_from([0.0, 0.01, 0.05]))),
        min_trade_value=draw(st.sampled_from([0, 10_000, 500_000])),
        locked=frozenset(draw(st.sets(st.sampled_from(tickers), max_size=2))),
        excluded=frozenset(draw(st.sets(st.sampled_from(tickers), max_size=2))),
        solver=draw(st.sampled_from(["auto", "greedy"])))
    return account, weights, options


@settings(max_examples=80, deadline=None)
@given(cases())
def test_netting_own_quantities_evaluate_to_netting_own_result(case: tuple) -> None:
    account, weights, options = case
    solved = compute_trades(weights, account, options)
    evaluated = evaluate_trades(weights, account, options, signed_quantities(solved))
    assert measured(evaluated) == measured(solved)
    assert evaluated.solver == "none" and evaluated.solve_seconds == 0.0


def test_worked_example_with_targets_file() -> None:
    targets = load_targets(EXAMPLES / "flat.csv")
    account = AccountSnapshot(cash=5_000, positions=(
        PositionInput(ticker="069500", quantity=271, price=10_000),
        PositionInput(ticker="360750", quantity=144, price=15_000),
        PositionInput(ticker="152380", quantity=40, price=55_000),
        PositionInput(ticker="132030", quantity=175, price=12_000),
        PositionInput(ticker="329750", quantity=75, price=11_000)))
    solved = compute_trades(targets, account)
    assert measured(evaluate_trades(targets, account, None, signed_quantities(solved))) == measured(solved)

    # A smaller sale: everything downstream of the quantity moves with it.
    quantities = signed_quantities(solved)
    sold = -quantities["069500"]
    quantities["069500"] = -(sold - 10)
    edited = evaluate_trades(targets, account, None, quantities, solver=solved.solver, status="edited")
    sale = next(t for t in edited.trades if t.ticker == "069500")
    assert sale.quantity == sold - 10 and sale.notional == (sold - 10) * 10_000
    assert edited.quantities_after["069500"] == 271 - sold + 10
    assert edited.cash_after == solved.cash_after - 10 * 10_000 + (
        next(t for t in solved.trades if t.ticker == "069500").est_costs - sale.est_costs)
    assert edited.weights_after["069500"] == pytest.approx(
        edited.quantities_after["069500"] * 10_000 / edited.equity_after)
    assert edited.error > solved.error and edited.turnover == solved.turnover - 100_000
    assert (edited.solver, edited.solver_status) == (solved.solver, "edited")


def test_no_quantities_is_no_trade() -> None:
    account = AccountSnapshot(cash=1_000_000, positions=(PositionInput(ticker="069500", quantity=10, price=30_000),),
                              prices={"069500": 30_000, "152380": 50_000})
    result = evaluate_trades({"069500": 0.5, "152380": 0.3}, account, None, {"152380": 0})
    assert result.trades == () and result.cash_after == 1_000_000 and result.turnover == 0
    assert result.weights_after == {"069500": pytest.approx(300_000 / 1_300_000), "152380": 0.0}


def test_impossible_quantities_are_refused() -> None:
    account = AccountSnapshot(cash=1_000_000, positions=(PositionInput(ticker="069500", quantity=10, price=30_000),),
                              prices={"069500": 30_000, "152380": 50_000})
    weights = {"069500": 0.5, "152380": 0.3}
    with pytest.raises(NettingError, match="neither held nor in the targets"):
        evaluate_trades(weights, account, None, {"005930": 1})
    with pytest.raises(NettingError, match="cannot sell more than is held"):
        evaluate_trades(weights, account, None, {"069500": -11})
    with pytest.raises(NettingError, match="whole number"):
        evaluate_trades(weights, account, None, {"152380": 1.5})
    assert evaluate_trades(weights, account, None, {"069500": -10}).quantities_after["069500"] == 0
