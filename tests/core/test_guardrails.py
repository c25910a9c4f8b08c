"""Guardrails: every rule passes a sound plan, fails its own breach, and catches mutated plans."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from guardrails import HEADLESS_RULE_IDS, RULE_IDS, GuardrailContext, GuardrailLimits, check_all
from guardrails.registry import PLAN_RULES
from tools.market import KST, InstrumentKind, OrderType, Phase, krx_calendar, shift_ticks
from tools.netting import compute_trades
from tools.netting.models import NettingResult
from tools.plan import ExecutionPlan, OrderChoice, Quote, build_orders
from tools.portfolio import AccountSnapshot, PositionInput
from tools.schedule import SessionDay, TimetableSettings
from tools.targets import load_targets

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "targets"
PRICES = {"069500": 35_000, "360750": 15_000, "133690": 95_000, "152380": 66_000, "308620": 10_500,
          "132030": 12_000, "329750": 11_000, "005930": 70_000}


def account() -> AccountSnapshot:
    return AccountSnapshot(cash=3_000_000, positions=(
        PositionInput(ticker="069500", quantity=200, price=35_000),
        PositionInput(ticker="152380", quantity=20, price=66_000),
        PositionInput(ticker="005930", quantity=10, sellable_quantity=10, price=70_000, kind=InstrumentKind.STOCK),
    ), prices=PRICES)


def quotes() -> dict[str, Quote]:
    out = {}
    for ticker, price in PRICES.items():
        kind = InstrumentKind.STOCK if ticker == "005930" else InstrumentKind.ETF
        spread = 100 if kind is InstrumentKind.STOCK else 5
        out[ticker] = Quote(ticker=ticker, bid=price - spread, ask=price, base_price=price, kind=kind)
    return out


_AT = dt.datetime(2026, 3, 10, 10, 30, tzinfo=KST)
TIMETABLE_INPUTS = {"start": _AT, "session": SessionDay.of(krx_calendar(), _AT), "timetable_settings": TimetableSettings()}
NO_TIMETABLE = dict.fromkeys(TIMETABLE_INPUTS)


@pytest.fixture(scope="module")
def netting() -> NettingResult:
    return compute_trades(load_targets(EXAMPLES / "demo.toml"), account())


def context(netting: NettingResult, *, plan: ExecutionPlan | None = None, orders=None, **rest) -> GuardrailContext:
    plan = plan or ExecutionPlan.uniform([t.trade_id for t in netting.trades], order_type="00", price_rule="mid",
                                         slices=2, schedule="now")
    if orders is None:
        orders = build_orders(netting.trades, plan, quotes())
    rest.setdefault("phase", Phase.CONTINUOUS)
    for key, value in TIMETABLE_INPUTS.items():  # 10:30 on a session day (tests/core/test_schedule.py)
        rest.setdefault(key, value)
    return GuardrailContext.from_netting(netting, account(), plan=plan, orders=tuple(orders), quotes=quotes(),
                                         **rest)


def test_rule_ids_are_stable() -> None:
    assert RULE_IDS == ("cash_flow", "weight_tolerance", "abnormal_trade", "krx.whole_quantity", "krx.sellable",
                        "krx.tick", "krx.price_limit", "krx.order_type_session", "schedule.fits_session",
                        "schedule.buys_after_sells", "plan.coverage", "plan.slices", "plan.allow_list")
    assert HEADLESS_RULE_IDS == ("headless.turnover", "headless.order_count", "headless.order_notional")
    assert all(fn.rule_id == rid for rid, fn in PLAN_RULES.items())


def test_a_sound_plan_passes_every_rule(netting: NettingResult) -> None:
    report = check_all(context(netting))
    assert report.passed, [r.message for r in report.failures]
    assert [r.rule_id for r in report.results] == list(RULE_IDS)
    cash = report.result("cash_flow")
    assert cash.figures["cash"] == 3_000_000 and cash.figures["cash_kept"] == 120_200  # 1 % of 12,020,000
    assert cash.figures["available"] == (3_000_000 - cash.figures["cash_kept"]
                                         + cash.figures["proceeds_after_margin"])
    assert 0 < cash.figures["committed"] <= cash.figures["available"]


def test_headless_caps_are_separate(netting: NettingResult) -> None:
    report = check_all(context(netting))
    turnover = report.result("headless.turnover")
    assert turnover.scope == "headless" and not turnover.passed  # this rebalance trades > 25 % of equity
    assert report.passed and not report.auto_approvable
    generous = GuardrailLimits(headless_max_turnover=2.0, headless_max_orders=100)
    assert check_all(context(netting, limits=generous)).auto_approvable
    assert not check_all(context(netting, limits=generous), headless=False).auto_approvable  # caps not run
    capped = check_all(context(netting, limits=generous.model_copy(update={"headless_max_order_notional": 100_000})))
    assert capped.passed and not capped.auto_approvable
    assert capped.result("headless.order_notional").figures["largest"] > 100_000


def test_cash_flow_fails_when_buys_exceed_cash(netting: NettingResult) -> None:
    poorer = netting.model_copy(update={"trades": netting.buys})  # drop the sells that fund the buys
    plan = ExecutionPlan.uniform([t.trade_id for t in poorer.trades], order_type="00", price_rule="ask1")
    result = PLAN_RULES["cash_flow"](context(poorer, plan=plan))
    assert not result.passed
    assert result.figures["sell_proceeds"] == 0 and result.figures["surplus"] < 0
    assert "short by" in result.message and "fewer shares" in result.message
    bare = PLAN_RULES["cash_flow"](GuardrailContext(snapshot=account(), trades=poorer.trades))
    assert not bare.passed and "cannot check: no orders" in bare.message  # fails closed without orders


def test_weight_tolerance(netting: NettingResult) -> None:
    ctx = context(netting)
    assert PLAN_RULES["weight_tolerance"](ctx).passed
    # Off by 5 pp: more than the tolerance and more than one share of it.
    shifted = {**netting.weights_after, "069500": netting.weights_after["069500"] + 0.05}
    off = PLAN_RULES["weight_tolerance"](context(netting.model_copy(update={"weights_after": shifted})))
    assert not off.passed and "069500" in off.figures["outside"]
    missing = PLAN_RULES["weight_tolerance"](GuardrailContext(snapshot=account(), trades=netting.trades))
    assert not missing.passed and "cannot check" in missing.message


def test_abnormal_trade(netting: NettingResult) -> None:
    result = PLAN_RULES["abnormal_trade"](context(netting, limits=GuardrailLimits(max_trade_fraction=0.1)))
    assert not result.passed
    assert result.figures["fraction"] > 0.1
    assert PLAN_RULES["abnormal_trade"](context(netting)).passed


def test_krx_rules_reject_bad_orders(netting: NettingResult) -> None:
    orders = list(build_orders(netting.trades, ExecutionPlan.uniform(
        [t.trade_id for t in netting.trades], order_type="00", price_rule="mid"), quotes()))
    sell = next(i for i, o in enumerate(orders) if o.side == "sell" and o.ticker == "005930")
    buy = next(i for i, o in enumerate(orders) if o.side == "buy")

    def with_order(index: int, **change) -> GuardrailContext:
        changed = list(orders)
        changed[index] = orders[index].model_copy(update=change)
        return context(netting, orders=changed)

    assert not PLAN_RULES["krx.whole_quantity"](with_order(buy, quantity=0)).passed
    assert not PLAN_RULES["krx.sellable"](with_order(sell, quantity=11)).passed
    off_grid = PLAN_RULES["krx.tick"](with_order(sell, limit_price=70_050))  # stock tick at 70,000 is 100
    assert not off_grid.passed and "off the grid" in off_grid.message
    assert not PLAN_RULES["krx.tick"](with_order(buy, order_type=OrderType.MARKET)).passed  # market with price
    assert not PLAN_RULES["krx.tick"](with_order(buy, limit_price=None)).passed
    too_high = PLAN_RULES["krx.price_limit"](with_order(sell, limit_price=91_100))  # limit 91,000
    assert not too_high.passed and "outside" in too_high.message
    assert PLAN_RULES["krx.price_limit"](with_order(sell, limit_price=91_000)).passed


def test_order_type_must_suit_the_session(netting: NettingResult) -> None:
    def plan(order_type: str, schedule: str) -> ExecutionPlan:
        return ExecutionPlan.uniform([t.trade_id for t in netting.trades], order_type=order_type,
                                     price_rule="mid", schedule=schedule)

    session = PLAN_RULES["krx.order_type_session"]
    assert session(context(netting, plan=plan("03", "now"), phase=Phase.CONTINUOUS)).passed
    assert not session(context(netting, plan=plan("03", "closing_auction"))).passed  # 최유리 not in auctions
    assert session(context(netting, plan=plan("02", "closing_auction"))).passed
    # Without the timetable's inputs, "now" is judged in the context's phase.
    assert not session(context(netting, plan=plan("00", "now"), phase=Phase.POST_CLOSE, **NO_TIMETABLE)).passed
    unknown = session(context(netting, plan=plan("00", "now"), phase=None, **NO_TIMETABLE))
    assert not unknown.passed and "phase unknown" in unknown.message


def test_allow_list_can_be_narrowed(netting: NettingResult) -> None:
    ctx = context(netting, plan=ExecutionPlan.uniform([t.trade_id for t in netting.trades], order_type="01"),
                  limits=GuardrailLimits(allowed_order_types=frozenset({"00", "02"})))
    result = PLAN_RULES["plan.allow_list"](ctx)
    assert not result.passed and "order type 01 not allowed" in result.message


def test_rules_fail_closed_without_a_plan(netting: NettingResult) -> None:
    bare = GuardrailContext.from_netting(netting, account())
    report = check_all(bare)
    failed = {r.rule_id for r in report.results if not r.passed}
    assert {"cash_flow", "krx.whole_quantity", "plan.coverage", "plan.slices", "plan.allow_list"} <= failed
    assert not check_all(bare, rules=["weight_tolerance", "abnormal_trade"],  # trade-level rules still run
                         headless=False).failures
    with pytest.raises(ValueError, match="unknown guardrail"):
        check_all(bare, rules=["nope"])


def test_a_crashing_rule_fails(monkeypatch: pytest.MonkeyPatch, netting: NettingResult) -> None:
    def boom(ctx: GuardrailContext) -> None:
        raise ZeroDivisionError

    monkeypatch.setitem(PLAN_RULES, "abnormal_trade", boom)
    result = check_all(context(netting)).result("abnormal_trade")
    assert not result.passed and "ZeroDivisionError" in result.message


# --- mutated plans ---------------------------------------------------------------------------


MUTATIONS = ("ticker", "side", "quantity", "extra_order", "extra_trade_order", "missing_order", "slice_shift",
             "slice_number", "missing_choice", "extra_choice", "duplicate_choice", "order_type", "price")

choices = st.builds(
    OrderChoice, trade_id=st.just("x"), order_type=st.sampled_from(["00", "01", "02", "03", "04"]),
    price_rule=st.sampled_from(["bid1", "ask1", "mid"]), offset_ticks=st.integers(-2, 2),
    slices=st.integers(1, 5), schedule=st.just("now"))
priced_choices = choices.filter(lambda c: c.order_type in ("00", "02"))


@settings(max_examples=150, deadline=None)
@given(data=st.data(), mutation=st.sampled_from(MUTATIONS))
def test_guardrails_reject_every_mutated_plan(netting: NettingResult, data: st.DataObject, mutation: str) -> None:
    trades = netting.trades
    # Buys as limits: a buy as 01/03/04 reserves cash at the upper limit, which this account cannot fund.
    plan = ExecutionPlan(choices=tuple(data.draw(choices if t.side == "sell" else priced_choices)
                                       .model_copy(update={"trade_id": t.trade_id}) for t in trades))
    orders = list(build_orders(trades, plan, quotes()))
    # Integrity only: random order types make some plans infeasible (02 sells before buys), not unsound.
    integrity = [r for r in RULE_IDS if not r.startswith("schedule.")]
    assert check_all(context(netting, plan=plan, orders=orders), rules=integrity, headless=False).passed

    index = data.draw(st.integers(0, len(orders) - 1))
    order = orders[index]
    choice_list = list(plan.choices)
    if mutation == "ticker":
        other = data.draw(st.sampled_from(sorted({t.ticker for t in trades} - {order.ticker})))
        orders[index] = order.model_copy(update={"ticker": other})
    elif mutation == "side":
        orders[index] = order.model_copy(update={"side": "buy" if order.side == "sell" else "sell"})
    elif mutation == "quantity":
        delta = data.draw(st.integers(-order.quantity, 50).filter(lambda d: d != 0))
        orders[index] = order.model_copy(update={"quantity": order.quantity + delta})
    elif mutation == "extra_order":
        orders.append(order.model_copy(update={"order_id": order.order_id + "x",
                                               "slice_no": order.slice_count + 1}))
    elif mutation == "extra_trade_order":
        orders.append(order.model_copy(update={"trade_id": "T99-" + order.ticker + "-BUY",
                                               "order_id": "T99/1"}))
    elif mutation == "missing_order":
        orders.pop(index)
    elif mutation == "slice_shift":  # slices no longer sum to the trade: one slice grows
        orders[index] = order.model_copy(update={"quantity": order.quantity + data.draw(st.integers(1, 5))})
    elif mutation == "slice_number":
        orders[index] = order.model_copy(update={"slice_no": order.slice_no + 7})
    elif mutation == "missing_choice":
        choice_list.pop(data.draw(st.integers(0, len(choice_list) - 1)))
    elif mutation == "extra_choice":
        choice_list.append(choice_list[0].model_copy(update={"trade_id": "T99-000000-BUY"}))
    elif mutation == "duplicate_choice":
        choice_list.append(choice_list[-1])
    elif mutation == "price":  # a different price than the plan's rule gives (may still be a valid KRX price)
        if order.limit_price is None:
            orders[index] = order.model_copy(update={"limit_price": order.reference_price})
        else:
            step = data.draw(st.sampled_from([-1, 1]))
            orders[index] = order.model_copy(update={"limit_price": shift_ticks(order.limit_price, step, order.kind)})
    elif mutation == "order_type":
        others = [t for t in OrderType if t.value != order.order_type.value]
        orders[index] = order.model_copy(update={"order_type": data.draw(st.sampled_from(others))})
    mutated_plan = plan.model_copy(update={"choices": tuple(choice_list)})
    report = check_all(context(netting, plan=mutated_plan, orders=orders), rules=integrity, headless=False)
    assert not report.passed, mutation
