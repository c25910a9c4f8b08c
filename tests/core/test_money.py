"""tools.money: integer costs, what orders commit, the cash_flow guardrail at commitment prices,
pro-rata buy shrinking, and one set of rates from the config to netting, guardrails and backtester."""

from __future__ import annotations

import datetime as dt
import math
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from guardrails import GuardrailContext, GuardrailLimits, check, check_all
from tools.market import (
    DEFAULT_COMMISSION,
    KST,
    InstrumentKind,
    OrderType,
    Phase,
    krx_calendar,
    price_limits,
    shift_ticks,
)
from tools.money import BuyRequest, MoneyRules
from tools.netting import compute_trades
from tools.plan import ExecutionPlan, Quote, build_orders
from tools.portfolio import AccountSnapshot, PositionInput

ETF, STOCK = InstrumentKind.ETF, InstrumentKind.STOCK
RULES = MoneyRules()


# --- costs in integer won ---------------------------------------------------------------------


def test_costs_are_whole_won_truncated_as_brokers_do() -> None:
    assert RULES.commission(1_000_000, ETF) == int(1_000_000 * DEFAULT_COMMISSION[ETF]) == 147
    assert RULES.commission(6_999, ETF) == 1  # 1.03 won → 1
    assert RULES.sell_tax(1_000_000, STOCK) == 2_000 and RULES.sell_tax(1_000_000, ETF) == 0
    assert RULES.buy_commitment(10, 35_000, ETF) == 350_000 + 51  # 51.45 → 51
    assert RULES.sell_proceeds(10, 70_000, STOCK) == 700_000 - 98 - 1_400
    # Fractional prices (the backtester's half-spread fills): buys round the notional up, sales down.
    assert RULES.buy_commitment(7, 20_002.5, ETF) == 140_018 + RULES.commission(140_018, ETF)
    assert RULES.sell_proceeds(3, 10_047.5, ETF) == 30_142 - RULES.commission(30_142, ETF)
    for value in (RULES.commission(123_457, STOCK), RULES.buy_commitment(3, 1_234.5, STOCK),
                  RULES.sell_proceeds(3, 1_234.5, STOCK), RULES.cash_kept(12_345_678), RULES.available(5, 10, 7)):
        assert type(value) is int


def test_cash_kept_and_available_are_exact() -> None:
    assert RULES.cash_kept(10_000_000) == 100_000  # not 100,001 from 0.01's binary expansion
    assert RULES.cash_kept(12_345_601) == 123_457  # rounded up
    assert RULES.spendable_cash(50_000, 10_000_000) == 0  # already below the buffer
    assert RULES.haircut_proceeds(1_010_000) == 1_000_000  # exactly ÷ 1.01
    assert RULES.haircut_proceeds(1_009_999) == 999_999
    assert RULES.available(1_000_000, 10_000_000, 1_010_000) == 900_000 + 1_000_000


def test_reservation_price_is_the_limit_or_the_upper_limit() -> None:
    assert price_limits(35_000, ETF) == (24_500, 45_500)
    for priced in ("00", "02", OrderType.LIMIT):
        assert MoneyRules.reservation_price(priced, 35_100, 35_000, ETF) == 35_100
    for unpriced in ("01", "03", "04", OrderType.BEST_COUNTER):
        assert MoneyRules.reservation_price(unpriced, None, 35_000, ETF) == 45_500
    assert MoneyRules.reservation_price("03", None, 70_000, STOCK) == 91_000
    with pytest.raises(ValueError, match="needs a positive limit price"):
        MoneyRules.reservation_price("00", None, 35_000, ETF)


def test_rules_are_validated() -> None:
    with pytest.raises(ValidationError, match="missing for"):
        MoneyRules(commission_rates={ETF: 0.0001})
    with pytest.raises(ValidationError):
        MoneyRules(commission_rates={k: 0.5 for k in InstrumentKind})
    for bad in ({"margin": float("nan")}, {"cash_buffer": 1.0}, {"stock_sell_tax": -0.1}, {"margin": float("inf")}):
        with pytest.raises(ValidationError):
            MoneyRules(**bad)


# --- cash_flow at commitment prices -----------------------------------------------------------


def _buy_context(cash: int, quantity: int, order_type: str, *, offset: int = 0, ref: int = 35_000,
                 sells: tuple[PositionInput, ...] = (), sell_choice: dict | None = None,
                 money: MoneyRules = RULES) -> GuardrailContext:
    """``quantity`` shares of 069500 bought with ``order_type`` (00 at the ask ``ref`` + ``offset``
    ticks), after selling every position in ``sells``."""
    prices = {"069500": ref, **{p.ticker: p.price for p in sells}}
    snapshot = AccountSnapshot(cash=cash, positions=sells, prices=prices)
    trades = []
    weights = {"069500": quantity * ref / snapshot.equity}
    netting = compute_trades(weights, snapshot)  # only for its trade shapes; quantities are set below
    for trade in netting.trades:
        q = quantity if trade.side == "buy" else snapshot.quantity_of(trade.ticker)
        trades.append(trade.model_copy(update={"quantity": q, "notional": q * trade.reference_price}))
    assert {t.ticker for t in trades if t.side == "buy"} == {"069500"}
    quotes = {t: Quote(ticker=t, bid=p - 5, ask=p, base_price=p, kind=ETF) for t, p in prices.items()}
    choices = []
    for trade in trades:
        if trade.side == "buy":
            extra = {"price_rule": "ask1", "offset_ticks": offset} if order_type in ("00", "02") else {}
            choices.append({"trade_id": trade.trade_id, "order_type": order_type, **extra})
        else:
            choices.append({"trade_id": trade.trade_id, **(sell_choice or {"order_type": "00", "price_rule": "bid1"})})
    plan = ExecutionPlan.model_validate({"choices": choices})
    result = netting.model_copy(update={"trades": tuple(trades)})
    return GuardrailContext.from_netting(result, snapshot, plan=plan, orders=build_orders(trades, plan, quotes),
                                         quotes=quotes, phase=Phase.CONTINUOUS, limits=GuardrailLimits(money=money))


def cash_flow(ctx: GuardrailContext):  # type: ignore[no-untyped-def]
    (result,) = check_all(ctx, rules=["cash_flow"], headless=False).results
    return result


@pytest.mark.parametrize("order_type", ["01", "03", "04"])
def test_unpriced_buys_fail_where_a_reference_price_check_passes(order_type: str) -> None:
    # 25 × 35,000 = 875,000 (+128 commission) fits 1,000,000 − 10,000 kept; at the upper limit
    # 45,500 the same 25 shares tie up 1,137,500 + commission, which it does not.
    ctx = _buy_context(1_000_000, 25, order_type)
    at_reference = sum(RULES.buy_commitment(t.quantity, t.reference_price, t.kind) for t in ctx.trades)
    assert at_reference <= 1_000_000 - RULES.cash_kept(1_000_000)
    verdict = cash_flow(ctx)
    assert not verdict.passed
    assert verdict.figures["committed"] == RULES.buy_commitment(25, 45_500, ETF) == 1_137_500 + 167
    assert f"Buys as {order_type} reserve cash at the upper limit 45,500" in verdict.message
    assert "use limit orders (00) or fewer shares" in verdict.message
    assert "1,137,667 KRW > 990,000 KRW available" in verdict.message
    assert verdict.figures["at_upper_limit"] == [{"order_id": "T01-069500-BUY/1", "order_type": order_type,
                                                  "upper_limit": 45_500, "reference_price": 35_000}]
    assert cash_flow(_buy_context(1_000_000, 25, "00")).passed  # the same buy as a limit order fits


def test_an_unpriced_buy_needs_the_base_price() -> None:
    ctx = _buy_context(10_000_000, 25, "03")
    verdict = cash_flow(ctx.model_copy(update={"quotes": {}}))
    assert not verdict.passed and "no base price for 069500" in verdict.message


def test_a_buy_limit_five_ticks_through_the_touch_is_counted() -> None:
    limit = shift_ticks(10_000, 5, ETF)
    assert limit == 10_025
    # 99 shares: 990,000 (+145) at the ask, 992,475 (+145) at +5 ticks; 1,002,200 cash keeps 10,022.
    at_touch = _buy_context(1_002_200, 99, "00", ref=10_000)
    through = _buy_context(1_002_200, 99, "00", ref=10_000, offset=5)
    assert [o.limit_price for o in through.orders or ()] == [10_025]
    assert cash_flow(at_touch).passed
    verdict = cash_flow(through)
    assert verdict.figures["committed"] == RULES.buy_commitment(99, 10_025, ETF) == 992_475 + 145
    assert verdict.figures["available"] == 1_002_200 - 10_022 and not verdict.passed
    assert "Buy limits above the reference" in verdict.message and "10,025" in verdict.message


def test_sales_count_at_their_limit_or_reference_price_after_the_margin() -> None:
    sells = (PositionInput(ticker="152380", quantity=100, price=66_000),)
    limit = _buy_context(0, 100, "00", sells=sells)  # sold at the bid 65,995
    market = _buy_context(0, 100, "00", sells=sells, sell_choice={"order_type": "01"})  # at the reference
    kept = RULES.cash_kept(6_600_000)
    for ctx, price in ((limit, 65_995), (market, 66_000)):
        verdict = cash_flow(ctx)
        proceeds = RULES.sell_proceeds(100, price, ETF)
        assert verdict.figures["sell_proceeds"] == proceeds
        assert verdict.figures["available"] == math.floor(proceeds / 1.01) == RULES.haircut_proceeds(proceeds)
        assert verdict.figures["cash_kept"] == kept and "already below the buffer" in verdict.message
    assert cash_flow(limit.model_copy(update={"orders": None})).passed is False  # fails closed


def test_margin_and_buffer_come_from_the_limits() -> None:
    ctx = _buy_context(1_000_000, 25, "00", money=MoneyRules(cash_buffer=0.2))
    verdict = cash_flow(ctx)
    assert verdict.figures["cash_kept"] == 200_000 and not verdict.passed  # 875,128 > 800,000


# --- shrink_buys ------------------------------------------------------------------------------


def test_shrink_buys_leaves_what_fits_alone() -> None:
    buys = [BuyRequest("a", 10, 10_000, ETF), BuyRequest("b", 5, 20_000, STOCK)]
    cost = sum(RULES.buy_commitment(b.quantity, b.price, b.kind) for b in buys)
    assert RULES.shrink_buys(buys, cost) == {"a": 10, "b": 5}
    assert RULES.shrink_buys(buys, 0) == {"a": 0, "b": 0}
    assert RULES.shrink_buys([], 100) == {}


def test_shrink_buys_is_pro_rata_then_largest_remainders() -> None:
    free = MoneyRules(commission_rates=dict.fromkeys(InstrumentKind, 0.0))
    # 1,000,000 of buys against 500,000: half each. 7 × 100,000 → 3.5 → 3, 6 × 50,000 → 3 (450,000);
    # of the 50,000 left, a (remainder .5) cannot take a 100,000 share, b (remainder 0) can take one.
    buys = [BuyRequest("a", 7, 100_000, ETF), BuyRequest("b", 6, 50_000, ETF)]
    assert free.shrink_buys(buys, 500_000) == {"a": 3, "b": 4}
    buys = [BuyRequest("x", 3, 100_000, ETF), BuyRequest("y", 3, 100_000, ETF), BuyRequest("z", 4, 100_000, ETF)]
    # 1,000,000 wanted, 550,000 there: 1.65, 1.65, 2.2 → 1, 1, 2 (400,000); one more share fits: x (first of the .65s).
    assert free.shrink_buys(buys, 550_000) == {"x": 2, "y": 1, "z": 2}
    with pytest.raises(ValueError, match="unique"):
        free.shrink_buys([BuyRequest("x", 1, 10, ETF), BuyRequest("x", 1, 10, ETF)], 5)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5_000), st.one_of(st.integers(1, 500_000),
                                                          st.floats(1, 500_000, allow_nan=False)),
                          st.sampled_from(list(InstrumentKind))), min_size=1, max_size=12),
       st.integers(-1_000, 2_000_000_000), st.sampled_from([RULES, MoneyRules(commission_rates={
           k: 0.003 for k in InstrumentKind})]))
def test_shrink_buys_never_exceeds_the_cash_and_is_deterministic(rows: list, cash: int, rules: MoneyRules) -> None:
    buys = [BuyRequest(i, q, p, k) for i, (q, p, k) in enumerate(rows)]
    sized = rules.shrink_buys(buys, cash)
    assert sized == rules.shrink_buys(list(buys), cash)  # same inputs, same answer
    assert set(sized) == {b.key for b in buys}
    assert all(0 <= sized[b.key] <= b.quantity for b in buys)
    used = sum(rules.buy_commitment(sized[b.key], b.price, b.kind) for b in buys if sized[b.key])
    wanted = sum(rules.buy_commitment(b.quantity, b.price, b.kind) for b in buys if b.quantity)
    if wanted <= cash or wanted == 0:
        assert sized == {b.key: b.quantity for b in buys}
    else:
        assert used <= max(cash, 0)
        # Pro rata: the floors of q × cash ÷ wanted, less at most a few shares trimmed for rounding.
        floors = {b.key: b.quantity * max(cash, 0) // wanted for b in buys}
        assert sum(max(0, floors[k] - sized[k]) for k in sized) <= 2 * len(buys)


# --- one set of rates: config → netting, guardrails, backtester -------------------------------


def test_config_rates_reach_netting_guardrails_and_backtester() -> None:
    from backtest.panelkit import FRICTIONLESS_FILL, make_panel

    from agent.config import RebalConfig
    from agent.nodes.compute_trades import netting_options
    from agent.run_inputs import guardrail_limits, propose
    from tools.backtest.runner import RunSpec, run_strategy
    from tools.strategies.params import StrategyFile

    config = RebalConfig.model_validate({"money": {
        "commission_etf": 0.0005, "commission_stock": 0.0003, "stock_sell_tax": 0.0018, "cash_buffer": 0.03,
        "margin": 0.02}})
    money = config.money
    assert money.commission_rates == {STOCK: 0.0003, ETF: 0.0005, InstrumentKind.ETN: 0.0005,
                                      InstrumentKind.ELW: 0.0005}
    assert (money.stock_sell_tax, money.cash_buffer, money.margin) == (0.0018, 0.03, 0.02)

    # Netting, with the options the agent builds from the config.
    moment = dt.datetime(2025, 11, 20, 10, 0, tzinfo=KST)  # a Thursday session, continuous trading
    ctx = SimpleNamespace(config=config, calendar=krx_calendar(),
                          broker=SimpleNamespace(clock=SimpleNamespace(now=lambda: moment)))
    options = netting_options(ctx, [])  # type: ignore[arg-type]
    assert options.money == money
    snapshot = AccountSnapshot(cash=2_000_000, positions=(
        PositionInput(ticker="005930", quantity=100, price=70_000, kind=STOCK),), prices={"069500": 35_000})
    netting = compute_trades({"069500": 1.0}, snapshot, options)
    sell, buy = netting.sells[0], netting.buys[0]
    assert sell.commission == int(sell.notional * 0.0003) and sell.tax == int(sell.notional * 0.0018)
    assert buy.commission == int(buy.notional * 0.0005)
    assert netting.cash_after >= math.ceil(0.03 * snapshot.equity)

    # The proposal and its guardrails, as the agent makes them (the limits carry the config's money).
    plan = ExecutionPlan.uniform([t.trade_id for t in netting.trades], order_type="00", price_rule="mid")
    quotes = {"005930": Quote(ticker="005930", bid=69_900, ask=70_000, base_price=70_000, kind=STOCK),
              "069500": Quote(ticker="069500", bid=34_995, ask=35_000, base_price=35_000, kind=ETF)}
    proposal = propose(ctx, netting, plan, quotes, moment)  # type: ignore[arg-type]
    limits = guardrail_limits(ctx)  # type: ignore[arg-type]
    assert proposal.money == limits.money == money == config.guardrails.money
    report = check(proposal, snapshot, moment, limits, rules=["cash_flow"], headless=False)
    verdict = report.result("cash_flow")
    assert verdict is not None and verdict.passed, report
    assert verdict.figures["margin"] == 0.02 and verdict.figures["cash_kept"] == math.ceil(0.03 * snapshot.equity)
    assert verdict.figures["sell_proceeds"] == money.sell_proceeds(sell.quantity, 70_000, STOCK)  # mid → 70,000
    # The proposal's own cash figures are the ones the guardrail judged.
    assert proposal.total_proceeds == verdict.figures["sell_proceeds"]
    assert proposal.total_committed == verdict.figures["committed"]
    assert proposal.cash_path[-1].cash == snapshot.cash + proposal.total_proceeds - proposal.total_committed

    # The backtester, given the config's money: its fills charge those rates and keep that buffer.
    panel = make_panel({"069500": [10_000] * 4, "152380": [20_000] * 4})
    strategy = StrategyFile.model_validate({"strategy": "static", "static": {"weights": {"069500": 50, "152380": 50}},
                                            "backtest": {"capital": 10_000_000}})
    result = run_strategy(strategy, panel, RunSpec(fill=FRICTIONLESS_FILL, money=money))
    assert result.fills and all(f.commission == int(f.notional * 0.0005) for f in result.fills)
    assert result.cash[0] >= 0.03 * result.equity[0]
