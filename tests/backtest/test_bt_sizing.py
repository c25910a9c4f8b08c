"""``sizing="bt"`` (comparison with bt only): bt's per-security whole-share floor, by hand.

bt 1.4.1 ``SecurityBase.allocate``: ``q = floor(amount / price)`` for a long book (a sale rounds
away from zero), then, unless the trade closes the position, the largest ``q`` whose outlay
(``q × price`` + commission) still fits ``amount``. Every number below is worked out by hand; bt
itself is not imported.
"""

from __future__ import annotations

import numpy as np
import pytest
from backtest.panelkit import FRICTIONLESS_FILL, make_panel

from tools.backtest.btsizing import bt_quantity, bt_rebalance, engine_outlay
from tools.backtest.engine import BacktestConfig, run_backtest
from tools.market import InstrumentKind
from tools.money import MoneyRules
from tools.netting import NettingOptions
from tools.strategies.params import policy_from_name
from tools.strategies.static import CashFlowSchedule, static_plan

RATE = 0.001  # 0.1 % commission both ways: large enough to move a share in small examples
RATES = MoneyRules(commission_rates={k: RATE for k in InstrumentKind}, stock_sell_tax=0.0)
NO_COST = MoneyRules(commission_rates={k: 0.0 for k in InstrumentKind}, stock_sell_tax=0.0)
ETF = InstrumentKind.ETF


def quantity(amount: float, price: int, position: int, rates: MoneyRules = RATES) -> int:
    return bt_quantity(amount, float(price), position, engine_outlay(price, ETF, rates))


def test_a_buy_whose_fee_does_not_fit_drops_one_share() -> None:
    # 500,000 / 10,000 = 50 shares, but 50 cost 500,000 + 500 fee > 500,000: bt buys 49
    # (490,000 + 490 fits); without a fee the 50 fit exactly.
    assert quantity(500_000, 10_000, 0) == 49
    assert quantity(500_000, 10_000, 0, NO_COST) == 50
    # 498,000 + 498 for 166 shares fits 500,000; a 167th (501,000) does not.
    assert quantity(500_000, 3_000, 0) == 166


def test_a_sale_rounds_away_from_zero_and_its_fee_can_add_a_share() -> None:
    # −137,494 / 16,000 = −8.59: bt sells 9 (it must raise at least the amount), not 8.
    assert quantity(-137_494, 16_000, 49, NO_COST) == -9
    # −127,950 / 16,000 = −7.997 → 8 shares, whose 128,000 − 128 fee = 127,872 falls short of
    # 127,950: the fee makes bt sell a 9th share (143,856 net).
    assert quantity(-127_950, 16_000, 100) == -9
    assert quantity(-127_950, 16_000, 100, NO_COST) == -8


def test_closing_out_zero_amounts_and_the_long_only_book() -> None:
    assert quantity(-7 * 16_000, 16_000, 7) == -7  # the whole position, no fee fitting
    assert quantity(0.0, 16_000, 7) == 0
    assert quantity(-5_000, 16_000, 0) == 0  # bt would open a short; this engine does not
    # A floor that reaches the whole position sells it with no fee fitting (127,872 net < 127,950).
    assert quantity(-127_950, 16_000, 8) == -8


def test_a_float_tie_ends_where_bts_search_ends() -> None:
    # amount / price = 14.999999999999998 in floats, yet 15 shares cost the amount exactly and bt's
    # np.isclose(outlay, amount) accepts them.
    price = 72.63963044606196
    assert bt_quantity(1089.5944566909293, price, 0, lambda q: q * price) == 15


def test_rebalance_closes_untargeted_holdings_and_sizes_each_target_alone() -> None:
    shares = np.array([49, 166, 10])
    price = np.array([16_000, 3_000, 5_000])
    # Equity 784,000 + 498,000 + 50,000 + cash 11,012 = 1,343,012; the third is not a target.
    trades = bt_rebalance({0: 0.5, 1: 0.5}, shares, 11_012, price, (ETF, ETF, ETF), RATES)
    # A: 671,506 − 784,000 = −112,494 → −7.03 → sell 8 (127,872 net ≥ 112,494).
    # B: 671,506 − 498,000 = 173,506 → 57.8 → 57 (171,000 + 171 fits).
    assert trades == {2: -10, 0: -8, 1: 57}


def test_the_engine_with_bt_sizing_reproduces_the_hand_computed_ledger() -> None:
    panel = make_panel({"069500": [10_000, 16_000, 16_000], "152380": [3_000] * 3})
    netting = NettingOptions(money=RATES.model_copy(update={"margin": 0.0, "cash_buffer": 0.0}), min_trade_value=0)
    config = BacktestConfig(capital=1_000_000, fill=FRICTIONLESS_FILL, netting=netting, sizing="bt",
                            policy=policy_from_name("threshold-rel20").trigger_policy())
    result = run_backtest(panel, static_plan({"069500": 0.5, "152380": 0.5}, first_index=0), config)
    # Day 0: 49 A (the fee drops the 50th) and 166 B; cash 1,000,000 − 490,490 − 498,498.
    assert result.shares[0].tolist() == [49, 166] and result.cash[0] == 11_012
    # Day 1: A at 16,000 weighs 784,000 / 1,293,012 = 60.6 % > 60 %: the band fires. Target value
    # 646,506 each: A −137,494 → sell 9 (not 8), B +148,506 → buy 49; cash 11,012 + 143,856 − 147,147.
    assert result.shares[1].tolist() == [40, 215] and result.cash[1] == 7_721
    assert [(e.kind, e.solver) for e in result.events] == [("initial", "bt-sizing"), ("policy", "bt-sizing")]
    assert [(f.index, f.side, f.quantity, f.commission) for f in result.fills] == [
        (0, "buy", 49, 490), (0, "buy", 166, 498), (1, "sell", 9, 144), (1, "buy", 49, 147)]
    assert BacktestConfig().sizing == "netting"  # the engine's own sizing stays the default


def test_bt_sizing_refuses_cash_flows_it_does_not_model() -> None:
    panel = make_panel({"069500": [10_000] * 5})
    config = BacktestConfig(capital=1_000_000, fill=FRICTIONLESS_FILL, sizing="bt")
    with pytest.raises(ValueError, match="comparisons only"):
        run_backtest(panel, static_plan({"069500": 1.0}, first_index=0), config,
                     flows=CashFlowSchedule({2: 100_000}, 0))
