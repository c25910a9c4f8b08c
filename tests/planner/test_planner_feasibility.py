"""Feasibility of plans: the rules planner finds a plan that finishes today whenever one exists;
when none does, the guardrails refuse its plan with the timetable's reason; infeasible LLM
answers are caught by ``plan_problems`` and repaired or replaced."""

from __future__ import annotations

import datetime as dt
import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from planner.planner_kit import (
    SESSION_DAY,
    Scenario,
    assert_traded_unchanged,
    choice,
    features,
    make_trade,
    planner_input,
    scripted,
    tool_answer,
    valid_answer,
)

from agent.planner import PlannerSettings, plan_execution
from agent.planner.llm import llm_plan
from agent.planner.models import PlannerInput, TradeFeatures
from agent.planner.policy import choice_problems, plan_problems, plan_timetable, stage_begin, timing_problems
from agent.planner.prompt import DEFAULT_PROMPT_VERSION, load_prompt
from agent.planner.rules import rules_plan
from guardrails import GuardrailContext, check_all
from tools.market import KST, krx_calendar
from tools.plan import ExecutionPlan, OrderChoice, Quote, build_orders
from tools.portfolio import AccountSnapshot
from tools.schedule import SessionDay, TimetableSettings

SCHEDULE_RULES = ["krx.order_type_session", "schedule.fits_session", "schedule.buys_after_sells"]
HOLIDAY = dt.date(2026, 3, 2)


def at(hour: int, minute: int, day: dt.date = SESSION_DAY) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), KST)


def input_at(moment: dt.datetime, trades: list[TradeFeatures], *, timetable: TimetableSettings | None = None,
             allowed: tuple[str, ...] = ("00", "01", "02", "03", "04"), max_slices: int = 5) -> PlannerInput:
    calendar = krx_calendar()
    day = SessionDay.of(calendar, moment)
    to_close = max(0.0, (day.close - moment).total_seconds() / 60) if day.is_session else 0.0
    return PlannerInput(run_id="run-1", as_of=moment.isoformat(), phase=calendar.phase(moment).value,
                        minutes_to_close=round(to_close, 1), max_slices=max_slices, allowed_order_types=list(allowed),
                        session=day, timetable=timetable or TimetableSettings(), trades=trades)


# --- the oracle: does any plan without market orders finish today? ------------------------------


def oracle_options(inp: PlannerInput, trade: TradeFeatures) -> list[OrderChoice]:
    """Every timing-distinct choice for a trade. 03 and 04 behave alike (unpriced, continuous trading
    only), as do 00 and 02 in the closing auction; a limit is priced at the touch (the price rule
    that needs the least of the quote). Market orders (01) are left out: the rules never use them."""
    touch = ("ask1" if trade.ask is not None else None) if trade.side == "buy" else \
        ("bid1" if trade.bid is not None else None)
    allowed = set(inp.allowed_order_types)
    best = next((t for t in ("03", "04") if t in allowed), None)
    options = []
    for kind, schedule, slices in [("00", "now", 1), ("00", "closing_auction", 1), ("00", "twap", 2),
                                   ("02", "now", 1), ("02", "closing_auction", 1), (best, "now", 1),
                                   (best, "twap", 2)]:
        if kind is None or kind not in allowed or (kind in ("00", "02") and touch is None):
            continue
        if kind == "02" and schedule == "closing_auction" and "00" in allowed:
            continue  # the same as 00 there
        if slices > min(inp.max_slices, trade.quantity):
            continue
        options.append(OrderChoice(trade_id=trade.trade_id, order_type=kind, slices=slices, schedule=schedule,  # type: ignore[arg-type]
                                   price_rule=touch if kind in ("00", "02") else None))  # type: ignore[arg-type]
    return options


def some_plan_fits(inp: PlannerInput) -> bool:
    """Tries every combination of the trades' options. Options whose own slices already fail at the
    stage's first possible begin fail in any plan (a sell's stage, or a one-sided plan's, begins
    then), so they are dropped first."""
    one_sided = len({t.side for t in inp.trades}) == 1
    begin = stage_begin(inp)
    per_trade = [[o for o in oracle_options(inp, t) if not choice_problems(inp, o, t)
                  and not ((one_sided or t.side == "sell") and timing_problems(inp, o, t, begin))]
                 for t in inp.trades]
    return any(not plan_problems(inp, ExecutionPlan(choices=combo))
               for combo in itertools.product(*per_trade))


def quotes_for(trades: list[TradeFeatures]) -> dict[str, Quote]:
    """Quotes for build_orders (a missing side is filled in: only the schedule rules run on them)."""
    out = {}
    for t in trades:
        bid = t.bid or (t.ask - 5 if t.ask else t.reference_price - 5)
        ask = t.ask or bid + 5
        out[t.ticker] = Quote(ticker=t.ticker, bid=bid, ask=ask, base_price=t.reference_price, kind=t.kind)
    return out


def guardrail_report(inp: PlannerInput, plan: ExecutionPlan):
    trades = [make_trade(t.trade_id, t.ticker, t.side, t.quantity, t.reference_price, t.kind) for t in inp.trades]
    orders = build_orders(trades, plan, quotes_for(inp.trades))
    ctx = GuardrailContext(snapshot=AccountSnapshot(cash=10**9), trades=tuple(trades), plan=plan, orders=orders,
                           quotes=quotes_for(inp.trades), start=inp.start, session=inp.session,
                           timetable_settings=inp.timetable)
    return check_all(ctx, rules=SCHEDULE_RULES, headless=False)


def assert_refused_with_the_timetables_reason(inp: PlannerInput, plan: ExecutionPlan) -> None:
    table = plan_timetable(inp, plan)
    assert table is not None and not table.feasible
    report = guardrail_report(inp, plan)
    assert not report.passed
    failing = " ".join(r.message for r in report.failures)
    assert table.problems[0] in failing and table.advice in failing


# --- the property --------------------------------------------------------------------------------


@st.composite
def trade_sets(draw: st.DrawFn) -> list[TradeFeatures]:
    sides = draw(st.lists(st.sampled_from(["sell", "buy"]), min_size=1, max_size=3))
    trades = []
    for n, side in enumerate(sides, start=1):
        quantity = draw(st.integers(1, 20_000))
        participation = draw(st.none() | st.floats(0.0001, 0.05))
        spread = draw(st.integers(1, 4))
        bid, ask = 10_000 - 5 * spread, 10_000
        missing = draw(st.sampled_from(["", "", "", "", "bid", "ask", "both"]))
        trades.append(features(
            trade_id=f"T{n:02d}-00000{n}-{side.upper()}", ticker=f"00000{n}", side=side, quantity=quantity,
            bid=None if missing in ("bid", "both") else bid, ask=None if missing in ("ask", "both") else ask,
            spread_ticks=None if missing else spread, depth_at_touch=draw(st.integers(0, 5_000)),
            participation=participation, adv_20d=None if participation is None else quantity / participation))
    return trades


timetables = st.builds(
    TimetableSettings, fill_window_minutes=st.sampled_from([0.5, 3.0, 10.0, 25.0, 60.0]),
    reprice_unfilled=st.booleans(), poll_seconds=st.sampled_from([0.0, 20.0]),
    twap_start=st.sampled_from([dt.time(9, 10), dt.time(9, 0), dt.time(10, 0)]),
    twap_end=st.sampled_from([dt.time(15, 0), dt.time(15, 20), dt.time(11, 0)]))
allowed_sets = st.sets(st.sampled_from(["00", "02", "03", "04"]), min_size=1).map(
    lambda types: tuple(sorted(types)))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trades=trade_sets(), minute=st.integers(8 * 60, 15 * 60 + 35), timetable=timetables,
       allowed=allowed_sets, max_slices=st.sampled_from([1, 3, 5, 10]),
       day=st.sampled_from([SESSION_DAY] * 5 + [HOLIDAY]))
def test_rules_plan_is_feasible_whenever_a_plan_is(trades: list[TradeFeatures], minute: int,
                                                   timetable: TimetableSettings, allowed: tuple[str, ...],
                                                   max_slices: int, day: dt.date) -> None:
    moment = dt.datetime.combine(day, dt.time(0, 0), KST) + dt.timedelta(minutes=minute)
    inp = input_at(moment, trades, timetable=timetable, allowed=allowed, max_slices=max_slices)
    plan = rules_plan(inp)
    assert plan == rules_plan(inp) and [c.trade_id for c in plan.choices] == inp.trade_ids
    assert all(c.order_type != "01" for c in plan.choices)
    problems = plan_problems(inp, plan)
    if problems:  # then no plan may fit either, and a timetable problem is refused with its reason
        assert not some_plan_fits(inp), problems
        table = plan_timetable(inp, plan)
        assert table is not None
        if not table.feasible:
            assert_refused_with_the_timetables_reason(inp, plan)
    sells = [plan.choice_for(t.trade_id) for t in inp.trades if t.side == "sell"]
    if sells and len(sells) < len(inp.trades):  # buys wait on the sells: never at the close
        assert all(c is not None and c.schedule != "closing_auction" for c in sells)
        if set(allowed) - {"02"}:
            assert all(c is not None and c.order_type != "02" for c in sells)


# --- every minute of a session day ------------------------------------------------------------


def both_sides() -> list[TradeFeatures]:
    """A sell, a small buy, and a buy large enough to be sliced."""
    return [features(trade_id="T01-000001-SELL", ticker="000001", side="sell", quantity=5_000, depth_at_touch=800,
                     participation=0.02, adv_20d=250_000.0),
            features(trade_id="T02-000002-BUY", ticker="000002"),
            features(trade_id="T03-000003-BUY", ticker="000003", quantity=3_000, depth_at_touch=700,
                     participation=0.03, adv_20d=100_000.0)]


MINUTES = [at(8, 0) + dt.timedelta(minutes=m) for m in range(0, 7 * 60 + 31)]  # 08:00 … 15:30


def test_every_minute_with_sells_and_buys() -> None:
    """Sells then buys fit while the quickest sells finish before 15:20: a start before 15:00 with
    the default 10-minute window re-priced once (and at 15:00 itself, nothing can be bought)."""
    for moment in MINUTES:
        inp = input_at(moment, both_sides())
        plan = rules_plan(inp)
        feasible = not plan_problems(inp, plan)
        assert feasible == (moment < at(15, 0)), (moment, plan_problems(inp, plan))
        if feasible:
            assert not guardrail_report(inp, plan).failures, moment
        else:
            assert_refused_with_the_timetables_reason(inp, plan)
    assert [c.schedule for c in rules_plan(input_at(at(10, 30), both_sides())).choices] == ["twap", "now", "twap"]


def test_every_minute_one_side_only() -> None:
    """One side alone can use the closing auction until the close."""
    for trades in (both_sides()[:1], both_sides()[1:]):
        for moment in MINUTES:
            inp = input_at(moment, trades)
            plan = rules_plan(inp)
            assert (not plan_problems(inp, plan)) == (moment < at(15, 30)), moment
            if moment >= at(15, 0):
                assert {c.schedule for c in plan.choices} <= {"closing_auction", "now"}


def test_a_larger_fill_window_moves_the_last_start_earlier() -> None:
    wide = TimetableSettings(fill_window_minutes=60)  # a slice lives 2 h at worst: sells then buys by 13:20
    early = input_at(at(13, 19), both_sides(), timetable=wide)
    assert not plan_problems(early, rules_plan(early))
    late = input_at(at(13, 20), both_sides(), timetable=wide)
    plan = rules_plan(late)
    assert plan_problems(late, plan)
    assert "start before 13:20" in plan_timetable(late, plan).advice  # type: ignore[union-attr]


def test_sells_are_simplified_until_the_buys_fit() -> None:
    # Only 03 allowed: the buys cannot wait in the closing auction, they must finish by 15:20.
    def sell_choice(moment: dt.datetime) -> tuple[str, int, str]:
        inp = input_at(moment, both_sides(), allowed=("03",))
        plan = rules_plan(inp)
        assert not plan_problems(inp, plan), plan_problems(inp, plan)
        sell = plan.choices[0]
        return sell.order_type, sell.slices, sell.schedule

    assert sell_choice(at(10, 30)) == ("03", 5, "twap")  # the first choice
    # At 14:00, 5 TWAP slices to 15:00 end at 15:08 and a buy after them at 15:28: capped to 3 (15:00).
    assert sell_choice(at(14, 0)) == ("03", 3, "twap")
    # At 14:35 even 2 slices end too late for the buys: one order now.
    assert sell_choice(at(14, 35)) == ("03", 1, "now")


def test_near_the_close_with_buys_a_sell_never_goes_to_the_auction() -> None:
    for moment in (at(14, 55), at(15, 10), at(15, 22)):
        inp = input_at(moment, both_sides())
        sell = rules_plan(inp).choices[0]
        assert sell.schedule == "now" and sell.order_type != "02"


# --- LLM answers that cannot finish -------------------------------------------------------------


def test_plan_problems_catch_infeasible_llm_plans(scenario: Scenario) -> None:
    inp = scenario.features()  # 10:30: a sell, a small buy and a larger buy
    answer = valid_answer()
    answer["choices"][0] = choice("T01-069500-SELL", schedule="closing_auction")
    plan = ExecutionPlan.model_validate({"choices": answer["choices"]})
    problems = plan_problems(inp, plan)
    assert any("complete only at 15:30 (the close)" in p for p in problems)
    assert any(p.startswith("what to do: with buys in the plan, sell during continuous trading") for p in problems)
    conditional = ExecutionPlan.model_validate({"choices": [
        choice("T01-069500-SELL", order_type="02"), *valid_answer()["choices"][1:]]})
    assert any("nothing could be bought today" in p for p in plan_problems(inp, conditional))
    packed = ExecutionPlan.model_validate({"choices": [
        *valid_answer()["choices"][:2], choice("T03-360750-BUY", price_rule="ask1", slices=5, schedule="twap")]})
    late = scenario.features(now=at(14, 30))  # the buys begin at 14:50: 5 slices to 15:00 are 2 min apart
    assert any("at least 3 min" in p for p in plan_problems(late, packed))
    assert not plan_problems(inp, ExecutionPlan.model_validate(valid_answer()))


def test_an_infeasible_answer_is_repaired(scenario: Scenario) -> None:
    inp = scenario.features()
    bad = valid_answer()
    bad["choices"][0] = choice("T01-069500-SELL", schedule="closing_auction")
    model = scripted(tool_answer(bad), tool_answer(valid_answer()))
    result = llm_plan(inp, model, PlannerSettings())
    assert result.planner == "llm" and "nothing could be bought today" in result.reason
    assert "nothing could be bought today" in model.seen[1][3].content  # the repair message says why
    assert not plan_problems(inp, result.plan)


def test_an_infeasible_answer_twice_gives_the_feasible_rules_plan(scenario: Scenario) -> None:
    inp = scenario.features(now=at(14, 30))
    late_twap = valid_answer()
    late_twap["choices"][0] = choice("T01-069500-SELL", slices=2, schedule="twap")  # sells until ~15:05
    result = llm_plan(inp, scripted(tool_answer(late_twap), tool_answer(late_twap)), PlannerSettings())
    assert result.planner == "rules" and "failed validation twice" in result.reason
    assert not plan_problems(inp, result.plan)
    assert_traded_unchanged(scenario.trades, result.plan, scenario.quotes)


def test_no_llm_call_when_no_plan_can_finish(scenario: Scenario) -> None:
    inp = scenario.features(now=at(15, 25))
    model = scripted()
    result = plan_execution(inp, PlannerSettings(), model=model)
    assert result.planner == "rules" and model.seen == [] and result.calls == []
    assert result.reason.startswith("no plan can finish today (the buys would wait for sells that complete only at")
    assert "run again after 09:00 on 2026-03-11" in result.reason


def test_without_session_times_every_plan_fails_the_policy() -> None:
    inp = planner_input().model_copy(update={"session": None})
    assert any("session's times are unknown" in p for p in plan_problems(inp, rules_plan(inp)))


def test_compute_features_carries_the_session_and_settings(scenario: Scenario) -> None:
    custom = TimetableSettings(fill_window_minutes=5, twap_end=dt.time(14, 0))
    inp = scenario.features(timetable=custom)
    assert inp.timetable == custom and inp.session is not None
    assert (inp.session.open, inp.session.continuous_close, inp.session.close) == (at(9, 0), at(15, 20), at(15, 30))
    assert scenario.features().timetable == TimetableSettings()


def test_the_prompt_describes_the_timetable() -> None:
    assert DEFAULT_PROMPT_VERSION == "planner_v2"
    prompt = load_prompt()
    assert "planner_v2" in prompt and "first + (k − 1) × (twap_end − first) / n" in prompt
    assert "never** send a sell to the closing auction" in prompt and "fill_window_minutes" in prompt
    assert "over the rest of today's continuous session" in load_prompt("planner_v1")  # v1 stays loadable
