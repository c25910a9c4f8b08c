"""The timetable (tools.schedule) and the feasibility guardrails built on it (schedule.*)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from agent.config import RebalConfig
from guardrails import GuardrailContext, check_all
from guardrails.registry import PLAN_RULES
from tools.market import KST, InstrumentKind, Phase, krx_calendar
from tools.netting.models import Trade
from tools.plan import ExecutionPlan, OrderChoice, Quote, build_orders
from tools.portfolio import AccountSnapshot, PositionInput
from tools.schedule import SessionDay, Timetable, TimetableSettings, make_timetable, stage_times, twap_times

DAY = dt.date(2026, 3, 10)  # a Tuesday session; the next one is Wednesday 2026-03-11
HOLIDAY = dt.date(2026, 3, 2)  # 삼일절 substitute holiday (a Monday)
SETTINGS = TimetableSettings()  # 10-minute fill window, re-priced once: a slice lives 20 min at worst
SCHEDULE_RULES = ["krx.order_type_session", "schedule.fits_session", "schedule.buys_after_sells"]


def at(hour: int, minute: int, day: dt.date = DAY) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), KST)


def session(moment: dt.datetime) -> SessionDay:
    return SessionDay.of(krx_calendar(), moment)


@dataclass(frozen=True)
class Slice:
    order_id: str
    side: str
    schedule: str = "now"
    order_type: str = "00"
    slice_no: int = 1
    slice_count: int = 1

    @property
    def trade_id(self) -> str:
        return self.order_id.split("/")[0]


def sell(schedule: str = "now", order_type: str = "00", name: str = "S") -> Slice:
    return Slice(f"{name}/1", "sell", schedule, order_type)


def buy(schedule: str = "now", order_type: str = "00", name: str = "B") -> Slice:
    return Slice(f"{name}/1", "buy", schedule, order_type)


def twap(side: str, count: int, name: str = "T") -> list[Slice]:
    return [Slice(f"{name}/{k}", side, "twap", "00", k, count) for k in range(1, count + 1)]


def table(slices: list[Slice], moment: dt.datetime, settings: TimetableSettings = SETTINGS) -> Timetable:
    return make_timetable(slices, moment, session(moment), settings)


# --- the session day --------------------------------------------------------------------------


def test_session_day_of_a_session_and_a_holiday() -> None:
    day = session(at(10, 30))
    assert (day.is_session, day.open, day.continuous_close, day.close) == (True, at(9, 0), at(15, 20), at(15, 30))
    assert (day.next_open, day.next_session_open) == (at(9, 0), at(9, 0, dt.date(2026, 3, 11)))
    assert session(at(16, 0)).next_open == at(9, 0, dt.date(2026, 3, 11))
    holiday = session(at(11, 0, HOLIDAY))
    assert not holiday.is_session and holiday.next_open == at(9, 0, dt.date(2026, 3, 3))
    assert [day.phase(at(*hm)) for hm in [(8, 0), (8, 45), (10, 0), (15, 20), (15, 30)]] == [
        Phase.PRE_OPEN, Phase.OPENING_AUCTION, Phase.CONTINUOUS, Phase.CLOSING_AUCTION, Phase.POST_CLOSE]
    assert all(day.phase(at(h, m)) is krx_calendar().phase(at(h, m)) for h in range(7, 17) for m in (0, 29, 30, 59))


# --- the timetable at the times of the issue -----------------------------------------------------


def test_at_10_30_sells_then_buys_fit() -> None:
    t = table([sell(), buy()], at(10, 30))
    assert t.feasible and t.advice == ""
    assert (t.time_of("S/1").send_at, t.time_of("S/1").done_by) == (at(10, 30), at(10, 50))
    assert (t.buys_start, t.time_of("B/1").send_at, t.done_by) == (at(10, 50), at(10, 50), at(11, 10))
    assert t.time_of("B/1").phase is Phase.CONTINUOUS
    with pytest.raises(KeyError):
        t.time_of("nope/1")


def test_at_14_50_the_buys_no_longer_fit_now_but_fit_the_closing_auction() -> None:
    late = table([sell(), buy()], at(14, 50))
    assert not late.feasible
    assert late.problems == ("B/1: sent 15:10, it may rest until 15:30 (a 10-minute fill window, re-priced once), "
                             "after continuous trading ends at 15:20",)
    assert "closing auction" in late.advice and "too late" not in late.advice
    assert table([sell(), buy("closing_auction")], at(14, 50)).feasible
    assert table([sell(), buy("now", "02")], at(14, 50)).feasible  # the rest joins the closing auction
    assert not table([sell(), buy("closing_auction", "03")], at(14, 50)).feasible  # 최유리 not in auctions


@pytest.mark.parametrize("hm", [(15, 10), (15, 21), (15, 27), (15, 29)])
def test_late_runs_with_sells_and_buys_are_refused_with_what_to_do(hm: tuple[int, int]) -> None:
    for sell_schedule in ("now", "closing_auction"):
        t = table([sell(sell_schedule), buy()], at(*hm))
        assert not t.feasible
        assert any(i.kind == "buys_wait" for i in t.issues)
        assert "nothing could be bought today" in " ".join(t.problems)
        assert t.advice.startswith("too late today for sells then buys: continuous trading ends 15:20; "
                                   "sells then buys need until ")
        assert "run again after 09:00 on 2026-03-11 (start before 15:00)" in t.advice
        assert "execution.fill_window_minutes" in t.advice


def test_the_brief_example_message_at_15_02() -> None:
    t = table([sell(), buy()], at(15, 2))
    assert ("continuous trading ends 15:20; sells then buys need until 15:42 with a 10-minute fill window, "
            "re-priced once: run again after 09:00 on 2026-03-11") in t.advice


@pytest.mark.parametrize("hm", [(15, 10), (15, 21), (15, 27), (15, 29)])
def test_late_one_sided_plans_use_the_closing_auction(hm: tuple[int, int]) -> None:
    for side in (sell, buy):
        assert table([side("closing_auction")], at(*hm)).feasible
        auction = table([side("closing_auction")], at(*hm)).slices[0]
        assert (auction.phase, auction.done_by) == (Phase.CLOSING_AUCTION, at(15, 30))
        assert auction.send_at == max(at(*hm), at(15, 20))
    assert table([sell("now", "02")], at(15, 10)).feasible
    assert not table([sell("now", "03")], at(15, 21)).feasible  # a "now" 03 in the closing auction


def test_before_the_open_now_goes_out_at_the_open() -> None:
    for moment in (at(7, 0), at(8, 45)):
        t = table([sell("now", "03"), buy()], moment)
        assert t.feasible, t.problems
        assert t.time_of("S/1").send_at == at(9, 0) and t.time_of("S/1").phase is Phase.CONTINUOUS
        assert t.time_of("B/1").send_at == at(9, 20)


def test_on_a_holiday_and_after_the_close_nothing_is_scheduled() -> None:
    holiday = table([sell(), buy()], at(11, 0, HOLIDAY))
    assert not holiday.feasible and holiday.slices == ()
    assert holiday.problems == ("2026-03-02 is not a KRX session (run started 2026-03-02 11:00 KST): "
                                "nothing can be traded today",)
    assert holiday.advice == "too late today: run again after 09:00 on 2026-03-03"
    evening = table([buy()], at(16, 0))
    assert evening.issues[0].kind == "closed" and evening.advice == "too late today: run again after 09:00 on 2026-03-11"
    assert table([], at(11, 0, HOLIDAY)).feasible  # nothing to do is never a problem


# --- the one TWAP definition -------------------------------------------------------------------


def test_twap_slices_are_spread_from_twap_start_or_the_start_to_twap_end() -> None:
    day = session(at(8, 0))
    assert twap_times(at(8, 0), 4, day, SETTINGS) == [at(9, 10), at(10, 37, ) + dt.timedelta(seconds=30),
                                                      at(12, 5), at(13, 32) + dt.timedelta(seconds=30)]
    assert twap_times(at(13, 0), 4, day, SETTINGS) == [at(13, 0), at(13, 30), at(14, 0), at(14, 30)]
    assert twap_times(at(15, 0), 2, day, SETTINGS) is None
    custom = TimetableSettings(twap_start=dt.time(10, 0), twap_end=dt.time(11, 0))
    assert twap_times(at(9, 0), 3, day, custom) == [at(10, 0), at(10, 20), at(10, 40)]
    t = table(twap("sell", 4), at(13, 0))
    assert [s.send_at for s in t.slices] == [at(13, 0), at(13, 30), at(14, 0), at(14, 30)]
    assert t.sells_done_by == at(14, 50) and t.feasible


def test_a_twap_after_its_window_is_refused() -> None:
    t = table(twap("buy", 2), at(15, 5))
    assert [i.kind for i in t.issues][:1] == ["twap_over"] and "use 'now'" in t.advice


def test_twap_sells_delay_the_buys() -> None:
    assert table([*twap("sell", 4), buy()], at(13, 0)).feasible  # sells done 14:50, buy done 15:10
    late = table([*twap("sell", 4), buy()], at(14, 0))  # sells done 15:05: the buy would rest until 15:25
    assert not late.feasible and "fewer TWAP slices" in late.advice


def test_stage_times_never_later_when_the_stage_begins_earlier() -> None:
    """What the executor relies on when it starts the buys before their worst-case start."""
    day = session(at(10, 0))
    slices = [*twap("buy", 5), buy("now"), buy("closing_auction", name="C")]
    for begin_minute in range(0, 300, 7):
        early, _ = stage_times(slices, at(10, 0) + dt.timedelta(minutes=begin_minute), day, SETTINGS)
        later, _ = stage_times(slices, at(10, 0) + dt.timedelta(minutes=begin_minute + 13), day, SETTINGS)
        assert all(a.send_at <= b.send_at and a.done_by <= b.done_by for a, b in zip(early, later, strict=True))


# --- settings ----------------------------------------------------------------------------------


def test_settings_are_validated() -> None:
    with pytest.raises(ValidationError, match="twap_start 15:00 must be before twap_end 09:10"):
        TimetableSettings(twap_start=dt.time(15, 0), twap_end=dt.time(9, 10))
    for bad in ({"fill_window_minutes": 0.1}, {"fill_window_minutes": float("inf")}, {"poll_seconds": -1}):
        with pytest.raises(ValidationError):
            TimetableSettings(**bad)
    polled = TimetableSettings(poll_seconds=20)
    assert polled.slice_lifetime == dt.timedelta(minutes=20, seconds=40)
    assert TimetableSettings(reprice_unfilled=False).slice_lifetime == dt.timedelta(minutes=10)
    assert table([sell(), buy()], at(14, 40), polled).problems[0].startswith(
        "B/1: sent 15:00:40, it may rest until 15:21:20")


def test_the_config_gives_the_timetable_settings() -> None:
    config = RebalConfig.model_validate({"execution": {"twap_start": "09:30", "twap_end": "14:30",
                                                       "fill_window_minutes": 5, "poll_seconds": 10}})
    assert config.timetable == TimetableSettings(fill_window_minutes=5, twap_start=dt.time(9, 30),
                                                 twap_end=dt.time(14, 30), poll_seconds=10)
    assert RebalConfig().timetable.twap_start == dt.time(9, 10)
    for bad, match in [({"twap_minutes": 30}, "twap_minutes is gone"), ({"twap_end": "15:25"}, "within continuous"),
                       ({"twap_start": "9h"}, "not a time"), ({"fill_window_minutes": 121}, "less than or equal"),
                       ({"poll_seconds": float("nan")}, "finite")]:
        with pytest.raises(ValidationError, match=match):
            RebalConfig.model_validate({"execution": bad})


# --- the guardrails ------------------------------------------------------------------------------


def make_trade(trade_id: str, ticker: str, side: str, quantity: int, price: int) -> Trade:
    return Trade(trade_id=trade_id, ticker=ticker, side=side, quantity=quantity, reference_price=price,  # type: ignore[arg-type]
                 notional=quantity * price, commission=0, tax=0, kind=InstrumentKind.ETF, weight_before=0.0,
                 weight_after=0.0, target_weight=0.0, reason="test")


TRADES = (make_trade("T01-069500-SELL", "069500", "sell", 30, 35_000),
          make_trade("T02-360750-BUY", "360750", "buy", 40, 15_000))
QUOTES = {"069500": Quote(ticker="069500", bid=35_000, ask=35_005, base_price=35_000),
          "360750": Quote(ticker="360750", bid=14_995, ask=15_000, base_price=15_000)}
SNAPSHOT = AccountSnapshot(cash=1_000_000, positions=(PositionInput(ticker="069500", quantity=60, price=35_000),),
                           prices={"069500": 35_000, "360750": 15_000})


def guard(moment: dt.datetime, *choices: tuple[str, str], trades: tuple[Trade, ...] = TRADES,
          **inputs: object) -> GuardrailContext:
    """A context for ``trades`` with one (order type, schedule) per trade, started at ``moment``."""
    plan = ExecutionPlan(choices=tuple(
        OrderChoice(trade_id=t.trade_id, order_type=kind, price_rule="mid" if kind in ("00", "02") else None,  # type: ignore[arg-type]
                    schedule=schedule, slices=2 if schedule == "twap" else 1)  # type: ignore[arg-type]
        for t, (kind, schedule) in zip(trades, choices, strict=True)))
    timetable = {"start": moment, "session": session(moment), "timetable_settings": SETTINGS} | inputs
    return GuardrailContext(snapshot=SNAPSHOT, trades=trades, plan=plan, orders=build_orders(trades, plan, QUOTES),
                            quotes=QUOTES, phase=krx_calendar().phase(moment), **timetable)


def verdicts(ctx: GuardrailContext) -> dict[str, bool]:
    return {r.rule_id: r.passed for r in check_all(ctx, rules=SCHEDULE_RULES, headless=False).results}


def test_a_feasible_plan_passes_with_its_times() -> None:
    report = check_all(guard(at(10, 30), ("00", "now"), ("03", "now")), rules=SCHEDULE_RULES, headless=False)
    assert report.passed
    fits, after = report.result("schedule.fits_session"), report.result("schedule.buys_after_sells")
    assert fits.message == ("every slice fits the session: done by 11:10 at worst (a 10-minute fill window, "
                            "re-priced once; continuous trading ends 15:20)")
    assert after.message.startswith("the sells are done by 10:50 at worst")
    assert fits.figures["done_by"] == at(11, 10).isoformat() and fits.figures["advice"] == ""


def test_closing_auction_sells_with_buys_are_refused_with_the_reason() -> None:
    for sell_choice in (("00", "closing_auction"), ("02", "now"), ("02", "closing_auction")):
        report = check_all(guard(at(10, 30), sell_choice, ("00", "now")), rules=SCHEDULE_RULES, headless=False)
        assert [r.rule_id for r in report.failures] == ["schedule.buys_after_sells"], sell_choice
        message = report.result("schedule.buys_after_sells").message
        assert "complete only at 15:30 (the close)" in message and "nothing could be bought today" in message
        assert "What to do: with buys in the plan, sell during continuous trading" in message


def test_one_side_in_the_closing_auction_is_allowed() -> None:
    for trade in TRADES:
        for kind in ("00", "02"):
            ctx = guard(at(10, 30), (kind, "closing_auction"), trades=(trade,))
            assert all(verdicts(ctx).values()), (trade.side, kind)
    late_sell = guard(at(15, 25), ("00", "closing_auction"), trades=TRADES[:1])
    assert all(verdicts(late_sell).values())


@pytest.mark.parametrize("hm", [(15, 21), (15, 27), (15, 29)])
def test_late_runs_are_refused_before_any_order(hm: tuple[int, int]) -> None:
    report = check_all(guard(at(*hm), ("00", "closing_auction"), ("00", "now")), rules=SCHEDULE_RULES,
                       headless=False)
    assert not report.passed
    message = report.result("schedule.buys_after_sells").message
    assert "too late today for sells then buys" in message and "run again after 09:00 on 2026-03-11" in message


def test_order_type_session_judges_the_phase_a_slice_is_really_sent_in() -> None:
    # A "now" 03 buy after sells that end at 15:20 would go out in the closing auction.
    late = guard(at(15, 0), ("00", "now"), ("03", "now"))
    result = PLAN_RULES["krx.order_type_session"](late)
    assert not result.passed and "T02-360750-BUY/1: 03 최유리지정가 not accepted in closing_auction" in result.message
    # Before the open a "now" 03 goes out at the open: accepted (the old check judged it pre-open).
    early = guard(at(7, 0), ("03", "now"), ("03", "now"))
    assert PLAN_RULES["krx.order_type_session"](early).passed and all(verdicts(early).values())
    assert not PLAN_RULES["krx.order_type_session"](early.model_copy(update={
        "start": None, "session": None, "timetable_settings": None})).passed
    # Buys pushed past the close are the schedule rules' finding, not an order-type one.
    pushed = guard(at(10, 0), ("00", "closing_auction"), ("02", "now"))
    assert verdicts(pushed) == {"krx.order_type_session": True, "schedule.fits_session": True,
                                "schedule.buys_after_sells": False}


def test_holiday_runs_are_refused_by_fits_session() -> None:
    ctx = guard(at(11, 0, HOLIDAY), ("00", "now"), ("00", "now"))
    report = check_all(ctx, rules=SCHEDULE_RULES, headless=False)
    fits = report.result("schedule.fits_session")
    assert not fits.passed and fits.message.endswith("What to do: too late today: run again after 09:00 on 2026-03-03")


def test_schedule_rules_fail_closed_without_their_inputs() -> None:
    for missing in ("start", "session", "timetable_settings"):
        ctx = guard(at(10, 30), ("00", "now"), ("00", "now"), **{missing: None})
        for rule_id in ("schedule.fits_session", "schedule.buys_after_sells"):
            result = PLAN_RULES[rule_id](ctx)
            assert not result.passed and "cannot check" in result.message
    bare = GuardrailContext(snapshot=SNAPSHOT, trades=TRADES)
    assert not any(PLAN_RULES[r](bare).passed for r in SCHEDULE_RULES)


@settings(max_examples=60, deadline=None)
@given(minute=st.integers(8 * 60, 15 * 60 + 40), sell_type=st.sampled_from(["00", "02", "03", "04"]),
       sell_schedule=st.sampled_from(["now", "twap", "closing_auction"]),
       buy_type=st.sampled_from(["00", "02", "03", "04"]), buy_schedule=st.sampled_from(["now", "closing_auction"]))
def test_guardrails_agree_with_the_timetable(minute: int, sell_type: str, sell_schedule: str, buy_type: str,
                                            buy_schedule: str) -> None:
    moment = at(0, 0) + dt.timedelta(minutes=minute)
    ctx = guard(moment, (sell_type, sell_schedule), (buy_type, buy_schedule))
    t = make_timetable(ctx.orders or (), moment, session(moment), SETTINGS)
    found = verdicts(ctx)
    assert (found["schedule.fits_session"] and found["schedule.buys_after_sells"]
            and found["krx.order_type_session"]) == t.feasible
    assert found["schedule.buys_after_sells"] == (not any(i.kind == "buys_wait" for i in t.issues))
    if not t.feasible:
        assert t.advice
