"""Execution plan parsing (allow-lists) and the orders rebuilt from trades + plan."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tools.market import InstrumentKind, OrderType
from tools.netting.models import Trade
from tools.plan import (
    ExecutionPlan,
    OrderChoice,
    PlanError,
    Quote,
    build_orders,
    limit_price,
    slice_quantities,
)


def trade(trade_id: str = "T01-069500-BUY", ticker: str = "069500", side: str = "buy", quantity: int = 7,
          price: int = 35_000, kind: InstrumentKind = InstrumentKind.ETF) -> Trade:
    return Trade(trade_id=trade_id, ticker=ticker, side=side, quantity=quantity, reference_price=price,
                 notional=quantity * price, commission=0, tax=0, kind=kind, weight_before=0.0, weight_after=0.0,
                 target_weight=0.0, reason="test")


def test_choice_allow_lists_are_enforced_by_the_model() -> None:
    OrderChoice(trade_id="T01", order_type="00", price_rule="mid")
    for bad in ({"order_type": "07"}, {"order_type": "00", "price_rule": "last"},
                {"order_type": "03", "schedule": "vwap"}, {"order_type": "03", "offset_ticks": 6},
                {"order_type": "03", "slices": 0}, {"order_type": "03", "rationale": "x" * 281},
                {"order_type": "03", "ticker": "069500"}, {"order_type": "03", "quantity": 10}):
        with pytest.raises(ValidationError):
            OrderChoice(trade_id="T01", **bad)


def test_priced_types_need_a_price_rule() -> None:
    with pytest.raises(ValidationError, match="order type 00 needs a price_rule"):
        OrderChoice(trade_id="T01", order_type="00")
    assert OrderChoice(trade_id="T01", order_type="01").price_rule is None


def test_slice_cap_is_configurable_through_the_validation_context() -> None:
    data = {"choices": [{"trade_id": "T01", "order_type": "03", "slices": 8}]}
    with pytest.raises(ValidationError, match="at most 5 slices"):
        ExecutionPlan.model_validate(data)
    assert ExecutionPlan.model_validate(data, context={"max_slices": 10}).choices[0].slices == 8
    with pytest.raises(ValidationError, match="at most 3 slices"):
        ExecutionPlan.model_validate({"choices": [{"trade_id": "T01", "order_type": "03", "slices": 4}]},
                                     context={"max_slices": 3})


def test_slice_quantities() -> None:
    assert slice_quantities(7, 3) == [3, 2, 2]
    assert slice_quantities(2, 5) == [1, 1]  # never an empty slice
    assert slice_quantities(10, 1) == [10]
    assert sum(slice_quantities(1_001, 4)) == 1_001


def test_limit_prices_from_rules_and_offsets() -> None:
    etf = Quote(ticker="069500", bid=34_990, ask=35_005, base_price=35_000)
    assert limit_price(OrderChoice(trade_id="T", order_type="00", price_rule="bid1"), "buy", etf) == 34_990
    assert limit_price(OrderChoice(trade_id="T", order_type="00", price_rule="ask1"), "buy", etf) == 35_005
    # Mid 34,997.5 on the 5-won ETF grid: buys round down, sells up.
    assert limit_price(OrderChoice(trade_id="T", order_type="00", price_rule="mid"), "buy", etf) == 34_995
    assert limit_price(OrderChoice(trade_id="T", order_type="00", price_rule="mid"), "sell", etf) == 35_000
    assert limit_price(OrderChoice(trade_id="T", order_type="00", price_rule="bid1", offset_ticks=2), "buy",
                       etf) == 35_000
    stock = Quote(ticker="005930", bid=49_950, ask=50_000, base_price=50_000, kind=InstrumentKind.STOCK)
    # One tick up from 49,950 crosses into the 100-won band at 50,000.
    assert limit_price(OrderChoice(trade_id="T", order_type="00", price_rule="bid1", offset_ticks=1), "buy",
                       stock) == 50_000
    assert limit_price(OrderChoice(trade_id="T", order_type="00", price_rule="ask1", offset_ticks=-1), "sell",
                       stock) == 49_950


def test_build_orders_rebuilds_from_trades() -> None:
    trades = [trade(), trade("T02-152380-SELL", "152380", "sell", 3, 66_000)]
    plan = ExecutionPlan(choices=(
        OrderChoice(trade_id="T01-069500-BUY", order_type="00", price_rule="bid1", slices=3, schedule="twap"),
        OrderChoice(trade_id="T02-152380-SELL", order_type="03", schedule="now"),
        OrderChoice(trade_id="T99-000000-BUY", order_type="01"),  # no such trade: ignored
    ))
    quotes = {"069500": Quote(ticker="069500", bid=34_990, ask=35_005, base_price=35_000)}
    orders = build_orders(trades, plan, quotes)
    assert [(o.order_id, o.quantity, o.limit_price, o.order_type) for o in orders] == [
        ("T01-069500-BUY/1", 3, 34_990, OrderType.LIMIT),
        ("T01-069500-BUY/2", 2, 34_990, OrderType.LIMIT),
        ("T01-069500-BUY/3", 2, 34_990, OrderType.LIMIT),
        ("T02-152380-SELL/1", 3, None, OrderType.BEST_COUNTER),
    ]
    assert all(o.slice_count == 3 for o in orders[:3])
    assert orders[3].side == "sell" and orders[3].ticker == "152380" and orders[3].notional == 3 * 66_000


def test_trades_without_a_choice_get_no_orders_and_missing_quotes_fail() -> None:
    plan = ExecutionPlan(choices=(OrderChoice(trade_id="T01-069500-BUY", order_type="00", price_rule="mid"),))
    assert build_orders([trade("T05-360750-BUY", "360750")], plan, {}) == ()
    with pytest.raises(PlanError, match="no quote for 069500"):
        build_orders([trade()], plan, {})


def test_uniform_plan() -> None:
    plan = ExecutionPlan.uniform(["A", "B"], order_type="02", price_rule="mid", schedule="closing_auction")
    assert [c.trade_id for c in plan.choices] == ["A", "B"]
    assert plan.choice_for("B").order_type == "02"
    assert plan.choice_for("C") is None
