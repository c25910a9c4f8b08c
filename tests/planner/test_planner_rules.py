"""The rules planner: each rule fires where expected, and its plans pass the guardrails."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest
from planner.planner_kit import (
    SESSION_DAY,
    Scenario,
    assert_traded_unchanged,
    features,
    planner_input,
)

from agent.planner import NO_MODEL_REASON, PlannerSettings, plan_execution
from agent.planner.policy import plan_problems
from agent.planner.rules import rules_plan
from guardrails import GuardrailContext, check_all
from tools.market import KST, Phase
from tools.plan import MAX_RATIONALE, OrderChoice, build_orders

INPUT_FIELDS = ("phase", "minutes_to_close", "max_slices", "allowed")


def only(choice: OrderChoice) -> tuple[str, str | None, int, str]:
    return (choice.order_type, choice.price_rule, choice.slices, choice.schedule)


def plan_one(**overrides: Any) -> OrderChoice:
    """The rules' choice for one trade; overrides go to the trade or, for INPUT_FIELDS, the input."""
    trade = features(**{k: v for k, v in overrides.items() if k not in INPUT_FIELDS})
    inp = planner_input(trade, **{k: v for k, v in overrides.items() if k in INPUT_FIELDS})
    return rules_plan(inp).choices[0]


def test_small_trade_is_one_marketable_limit_at_the_counter_touch() -> None:
    buy = plan_one()
    assert only(buy) == ("00", "ask1", 1, "now")
    assert "buy 100 sh = 0.10% of 20d ADV 100,000; depth 1,000 at ask; spread 1 tick(s); 300 min" in buy.rationale
    sell = plan_one(side="sell", trade_id="T01-000001-SELL")
    assert only(sell) == ("00", "bid1", 1, "now") and "at bid" in sell.rationale


def test_wide_spread_prices_at_the_mid() -> None:
    assert only(plan_one(spread_ticks=2)) == ("00", "ask1", 1, "now")
    assert only(plan_one(spread_ticks=3, bid=9_985)) == ("00", "mid", 1, "now")


def test_unknown_volume_judged_by_depth_alone() -> None:
    assert only(plan_one(adv_20d=None, participation=None)) == ("00", "ask1", 1, "now")
    assert "ADV unknown" in plan_one(adv_20d=None, participation=None).rationale


def test_large_against_depth_is_sliced_over_the_session() -> None:
    # 1,000 shares against 300 at the ask → ⌈1000/300⌉ = 4 slices; 1 % of ADV alone would ask 2.
    choice = plan_one(quantity=1_000, depth_at_touch=300, participation=0.01)
    assert only(choice) == ("00", "ask1", 4, "twap")


def test_large_against_volume_is_capped_by_max_slices() -> None:
    # 3 % of ADV at 0.5 % per slice wants 6 slices; max_slices is 5.
    assert only(plan_one(quantity=3_000, depth_at_touch=10_000, participation=0.03)) == ("00", "ask1", 5, "twap")
    assert plan_one(quantity=3_000, depth_at_touch=10_000, participation=0.03, max_slices=8).slices == 6


def test_slices_capped_by_time_left() -> None:
    # At 14:45, 15 min of the TWAP window (to 15:00) left at ≥ 3 min per slice → at most 5, though
    # 10 are wanted and allowed.
    choice = plan_one(quantity=1_000, depth_at_touch=100, max_slices=10, minutes_to_close=45)
    assert only(choice) == ("00", "ask1", 5, "twap")
    # At 15:04 the TWAP window is over and a slice sent now could rest past 15:20: the closing auction.
    assert only(plan_one(quantity=1_000, depth_at_touch=100, max_slices=10, minutes_to_close=26)) == (
        "00", "ask1", 1, "closing_auction")


def test_near_the_close() -> None:
    # 20 min to close = 10 min of continuous trading left.
    assert only(plan_one(minutes_to_close=20)) == ("02", "ask1", 1, "now")
    assert only(plan_one(minutes_to_close=20, quantity=5_000)) == ("00", "ask1", 1, "closing_auction")
    no_conditional = plan_one(minutes_to_close=20, allowed=("00", "03"))
    assert only(no_conditional) == ("00", "ask1", 1, "closing_auction")


def test_outside_the_continuous_session() -> None:
    assert only(plan_one(phase="closing_auction", minutes_to_close=5)) == ("00", "ask1", 1, "closing_auction")
    assert only(plan_one(phase="opening_auction", minutes_to_close=400)) == ("00", "ask1", 1, "now")
    assert plan_one(phase="opening_auction", minutes_to_close=400, quantity=5_000).schedule == "twap"
    assert only(plan_one(phase="pre_open", minutes_to_close=500)) == ("00", "ask1", 1, "now")  # sent at the open
    closed = plan_one(phase="post_close", minutes_to_close=0)
    assert only(closed) == ("00", "ask1", 1, "now") and "no session left today" in closed.rationale


def test_no_two_sided_quote_uses_a_best_price_order() -> None:
    choice = plan_one(ask=None, spread_ticks=None, depth_at_touch=0)
    assert only(choice) == ("03", None, 1, "now")


SWEEP = list(itertools.product(
    ("buy", "sell"), (10, 900, 5_000, 50_000), (1, 4), (300.0, 100.0, 24.0, 16.0),
    (0.0001, 0.02, None)))


@pytest.mark.parametrize(("side", "quantity", "spread", "minutes", "participation"), SWEEP)
def test_rules_plans_always_acceptable_in_session(side: str, quantity: int, spread: int, minutes: float,
                                                  participation: float | None) -> None:
    bid = 10_000 - 5 * spread
    trade = features(side=side, trade_id=f"T01-000001-{side.upper()}", quantity=quantity, bid=bid,
                     spread_ticks=spread, participation=participation,
                     adv_20d=None if participation is None else quantity / participation)
    inp = planner_input(trade, minutes_to_close=minutes)
    plan = rules_plan(inp)
    assert plan_problems(inp, plan) == []
    assert plan.planner == "rules" and plan == rules_plan(inp)  # deterministic
    (choice,) = plan.choices
    assert choice.order_type != "01" and 1 <= choice.slices <= inp.max_slices
    assert 0 < len(choice.rationale) <= MAX_RATIONALE


@pytest.mark.parametrize(("hour", "minute", "phase"), [
    (10, 30, Phase.CONTINUOUS), (15, 5, Phase.CONTINUOUS), (15, 25, Phase.CLOSING_AUCTION),
    (8, 45, Phase.OPENING_AUCTION)])
def test_rules_plan_passes_the_guardrails(scenario: Scenario, hour: int, minute: int, phase: Phase) -> None:
    inp = scenario.features(now=dt.datetime.combine(SESSION_DAY, dt.time(hour, minute), KST))
    assert inp.phase == phase.value
    plan = rules_plan(inp)
    orders = build_orders(scenario.trades, plan, scenario.quotes)
    ctx = GuardrailContext(snapshot=scenario.snapshot, trades=tuple(scenario.trades), plan=plan, orders=orders,
                           quotes=scenario.quotes, phase=phase)
    report = check_all(ctx, rules=["plan.coverage", "plan.slices", "plan.allow_list", "krx.whole_quantity",
                                   "krx.sellable", "krx.tick", "krx.price_limit", "krx.order_type_session"],
                       headless=False)
    assert report.passed, [r.message for r in report.failures]
    assert_traded_unchanged(scenario.trades, plan, scenario.quotes)


def test_scenario_rules_choices(scenario: Scenario) -> None:
    sell, stock_buy, big_buy = rules_plan(scenario.features()).choices
    assert only(sell) == ("00", "bid1", 1, "now")
    assert only(stock_buy) == ("00", "ask1", 1, "now")
    assert only(big_buy) == ("00", "ask1", 2, "twap")  # 200 sh vs 150 at the ask


def test_no_model_means_rules_with_the_reason(scenario: Scenario) -> None:
    inp = scenario.features()
    result = plan_execution(inp, PlannerSettings(), model=None)
    assert (result.planner, result.reason, result.calls) == ("rules", NO_MODEL_REASON, [])
    assert result.plan == rules_plan(inp)
