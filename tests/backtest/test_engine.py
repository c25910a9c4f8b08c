"""The engine: trigger dates of a constructed series, accounting identities, flows, no look-ahead."""

from __future__ import annotations

import numpy as np
import pytest
from backtest.panelkit import FREE, FRICTIONLESS_FILL, FRICTIONLESS_NETTING, make_panel

from tools.backtest.engine import BacktestConfig, run_backtest
from tools.backtest.fills import FillModel
from tools.backtest.metrics import compute_metrics, twr_index
from tools.money import MoneyRules
from tools.netting import NettingOptions
from tools.strategies.params import policy_from_name
from tools.strategies.static import CashFlowSchedule, static_plan

REL20 = policy_from_name("threshold-rel20").trigger_policy()
# A against a flat B, 50/50 with a ±20 % relative band: A's weight leaves [40 %, 60 %] when A moves
# 50 % up or a third down from its price at the last rebalance (1500, 2251.5, 1501.3 here).
A_PATH = [1000, 1200, 1400, 1499, 1501, 1600, 2000, 2251, 2252, 1800, 1502, 1501, 1600]
EXPECTED_DECISIONS = [0, 4, 8, 11]


def threshold_run(timing: str) -> tuple:
    # Each open equals the previous close, so next-open fills happen at the decision's reference price.
    opens = {"069500": [A_PATH[0], *A_PATH[:-1]]}
    panel = make_panel({"069500": A_PATH, "152380": [1000] * len(A_PATH)}, opens=opens)
    fill = FRICTIONLESS_FILL.model_copy(update={"timing": timing})
    config = BacktestConfig(capital=10**10, fill=fill, netting=FRICTIONLESS_NETTING, policy=REL20)
    plan = static_plan({"069500": 0.5, "152380": 0.5}, first_index=0)
    return panel, run_backtest(panel, plan, config)


@pytest.mark.parametrize("timing", ["same_close", "next_open"])
def test_threshold_policy_reproduces_the_constructed_trigger_dates(timing: str) -> None:
    panel, result = threshold_run(timing)
    decided = [panel.dates.index(e.decision_date) for e in result.events]
    assert decided == EXPECTED_DECISIONS
    assert [e.kind for e in result.events] == ["initial", "policy", "policy", "policy"]
    assert "069500" in result.events[1].reasons[0] and "band ±10.00%" in result.events[1].reasons[0]


def test_cash_plus_holdings_is_equity_every_session() -> None:
    panel = make_panel({"069500": [10_005, 10_200, 9_900, 10_400, 10_100, 10_300] * 5,
                        "152380": [50_000, 50_100, 49_900, 50_050, 50_000, 49_950] * 5},
                       opens={"069500": [10_000, 10_150, 9_950, 10_350, 10_150, 10_250] * 5})
    config = BacktestConfig(capital=30_000_000, fill=FillModel(carry_days=1, participation=None),
                            policy=policy_from_name("threshold-abs5").trigger_policy())
    flows = CashFlowSchedule({7: 1_000_000, 15: -2_000_000, 22: 500_000}, 1)
    result = run_backtest(panel, static_plan({"069500": 0.6, "152380": 0.4}, first_index=0), config, flows=flows)
    assert (result.equity == result.cash + (result.shares * result.prices).sum(axis=1)).all()
    assert (result.cash >= 0).all()
    assert result.flows[7 - result.first_index] == 1_000_000 and result.flows[15 - result.first_index] == -2_000_000
    # money is conserved: start + flows − costs = end value + market moves; check the cost side exactly
    spent = sum(f.notional + f.commission for f in result.fills if f.side == "buy")
    received = sum(f.notional - f.commission - f.tax for f in result.fills if f.side == "sell")
    assert result.cash[-1] == 30_000_000 + result.flows.sum() - spent + received
    assert result.commission > 0 and all(f.quantity == int(f.quantity) for f in result.fills)


def test_contributions_never_count_as_returns() -> None:
    flat = make_panel({"069500": [10_000] * 40})
    config = BacktestConfig(capital=1_000_000, fill=FRICTIONLESS_FILL, netting=FRICTIONLESS_NETTING)
    flows = CashFlowSchedule({5: 3_000_000, 20: 2_000_000, 30: -1_500_000}, 0)
    result = run_backtest(flat, static_plan({"069500": 1.0}, first_index=0), config, flows=flows)
    assert result.final_value == 1_000_000 + 3_000_000 + 2_000_000 - 1_500_000
    assert twr_index(result) == pytest.approx(np.ones(40))  # flat prices, no costs: 0 % return
    rising = make_panel({"069500": [10_000 + 100 * i for i in range(40)]})
    with_flows = run_backtest(rising, static_plan({"069500": 1.0}, first_index=0), config, flows=flows)
    without = run_backtest(rising, static_plan({"069500": 1.0}, first_index=0), config)
    # equal up to the idle cash of whole-share buys (< one share per contribution)
    assert compute_metrics(with_flows).twr == pytest.approx(compute_metrics(without).twr, abs=1e-3)
    assert compute_metrics(without).twr == pytest.approx(13_900 / 10_000 - 1, abs=1e-2)


def test_opening_period_invests_contributions_without_rebalancing() -> None:
    panel = make_panel({"069500": [10_000 + 1_000 * i for i in range(30)], "152380": [10_000] * 30})
    config = BacktestConfig(capital=2_000_000, fill=FRICTIONLESS_FILL, netting=FRICTIONLESS_NETTING,
                            policy=policy_from_name("threshold-abs5").trigger_policy())
    flows = CashFlowSchedule({10: 1_000_000}, quiet_until=25)
    result = run_backtest(panel, static_plan({"069500": 0.5, "152380": 0.5}, first_index=0), config, flows=flows)
    kinds = [(panel.dates.index(e.date), e.kind) for e in result.events]
    assert kinds[:2] == [(0, "initial"), (10, "contribution")]
    assert (result.weights()[20:25, 0] > 0.55).all()  # the 5 pp band is breached, yet nothing is sold …
    assert not [f for f in result.fills if f.side == "sell" and f.index < 25]
    assert kinds[2] == (25, "policy")  # … until the opening period ends


def test_future_prices_never_change_earlier_decisions_or_equity() -> None:
    base = [10_000, 10_300, 10_900, 11_500, 12_400, 11_000, 9_800, 9_000, 10_500, 11_900, 12_800, 12_000]
    panel = make_panel({"069500": base * 2, "152380": [20_000] * 24})
    changed = make_panel({"069500": base + [30_000] * 12, "152380": [20_000] * 24})
    config = BacktestConfig(capital=50_000_000, policy=REL20)
    plan = static_plan({"069500": 0.5, "152380": 0.5}, first_index=0)
    a, b = run_backtest(panel, plan, config), run_backtest(changed, plan, config)
    cut = 12 - a.first_index  # sessions up to index 11 saw identical data
    assert (a.equity[:cut] == b.equity[:cut]).all()
    assert [e for e in a.events if e.date <= panel.dates[11]] == [e for e in b.events if e.date <= panel.dates[11]]


def test_cash_buffer_is_kept_after_rebalancing() -> None:
    panel = make_panel({"069500": [10_000] * 5, "152380": [5_000] * 5})
    config = BacktestConfig(capital=10_000_000, fill=FRICTIONLESS_FILL,
                            netting=NettingOptions(money=MoneyRules(cash_buffer=0.05, margin=0, commission_rates=FREE),
                                                   min_trade_value=0))
    result = run_backtest(panel, static_plan({"069500": 0.5, "152380": 0.5}, first_index=0), config)
    assert result.cash[-1] >= 0.05 * result.equity[-1]
    assert result.cash[-1] < 0.06 * result.equity[-1]
