"""compute_features: hand-computed spreads, depth, volume, volatility and time to close."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from planner.planner_kit import SESSION_DAY, Scenario, make_bars, make_book, make_trade
from pydantic import ValidationError

from agent.planner.features import compute_features
from tools.market import KST, InstrumentKind, KrxCalendar
from tools.prices import DailyBar


def at(hour: int, minute: int, day: dt.date = SESSION_DAY) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), KST)


def test_scenario_features_by_hand(scenario: Scenario) -> None:
    inp = scenario.features()
    assert (inp.run_id, inp.phase, inp.minutes_to_close, inp.max_slices) == ("run-1", "continuous", 300.0, 5)
    assert inp.as_of == "2026-03-10T10:30:00+09:00"
    assert inp.allowed_order_types == ["00", "01", "02", "03", "04"]
    sell, stock_buy, big_buy = inp.trades
    # Sell 30 of an ETF: bid 35,000 / ask 35,005 is one 5-won tick; it takes from the 800 at the bid.
    assert (sell.side, sell.bid, sell.ask, sell.spread_ticks, sell.depth_at_touch) == ("sell", 35_000, 35_005, 1, 800)
    assert sell.adv_20d == 100_000.0 and sell.participation == pytest.approx(30 / 100_000)
    assert sell.volatility_20d == 0.0  # flat closes
    assert (sell.name, sell.notional, sell.reference_price, sell.kind) == ("KODEX 200", 1_050_000, 35_000, "etf")
    # Buy 12 of a stock at 70,000: the tick there is 100, so 70,000 → 70,100 is one tick; depth at the ask.
    assert (stock_buy.spread_ticks, stock_buy.depth_at_touch, stock_buy.kind) == (1, 3_000, InstrumentKind.STOCK)
    assert stock_buy.participation == pytest.approx(12 / 10_000_000)
    # Buy 200 with only 150 at the ask.
    assert (big_buy.depth_at_touch, big_buy.participation) == (150, pytest.approx(200 / 50_000))


@pytest.mark.parametrize(("kind", "bid", "ask", "ticks"), [
    (InstrumentKind.STOCK, 49_950, 50_100, 2),  # 49,950 →(50) 50,000 →(100) 50,100: crosses a tick band
    (InstrumentKind.ETF, 10_000, 10_020, 4),  # funds use 5 won at every level
    (InstrumentKind.STOCK, 1_999, 2_005, 2),  # 1,999 →(1) 2,000 →(5) 2,005
    (InstrumentKind.ETF, 10_000, 10_000, 0),  # locked book
])
def test_spread_in_ticks(calendar: KrxCalendar, kind: InstrumentKind, bid: int, ask: int, ticks: int) -> None:
    trade = make_trade("T01-000001-BUY", "000001", "buy", 10, ask, kind)
    inp = compute_features("r", [trade], {"000001": make_book("000001", [(bid, 10)], [(ask, 20)])}, {},
                           at(10, 0), calendar, {})
    assert inp.trades[0].spread_ticks == ticks
    assert inp.trades[0].depth_at_touch == 20  # a buy takes from the asks


def test_adv_uses_the_last_20_completed_sessions(calendar: KrxCalendar) -> None:
    bars = make_bars(10_000, 2_000, sessions=21)
    bars[0] = DailyBar(bars[0].date, 10_000, 10_000, 10_000, 10_000, 1_000)  # 21st back: outside the window
    today = DailyBar(SESSION_DAY, 10_000, 10_000, 10_000, 10_000, 9_999_999)  # still forming: ignored
    trade = make_trade("T01-000001-SELL", "000001", "sell", 500, 10_000)
    inp = compute_features("r", [trade], {}, {"000001": [today, *reversed(bars)]}, at(11, 0), calendar, {})
    assert inp.trades[0].adv_20d == 2_000.0
    assert inp.trades[0].participation == 0.25


def test_volatility_is_annualised_sample_stdev_of_log_returns(calendar: KrxCalendar) -> None:
    def closes(*values: int) -> list[DailyBar]:
        return [DailyBar(SESSION_DAY - dt.timedelta(days=len(values) - i), v, v, v, v, 1_000)
                for i, v in enumerate(values)]

    trade = make_trade("T01-000001-BUY", "000001", "buy", 1, 100)
    def vol(bars: list[DailyBar]) -> float | None:
        return compute_features("r", [trade], {}, {"000001": bars}, at(10, 0), calendar, {}).trades[0].volatility_20d

    # Returns ln(1.1) and ln(0.9): sample stdev = |ln 1.1 − ln 0.9| / √2, × √252 = ln(11/9) · √126.
    assert vol(closes(100, 110, 99)) == pytest.approx(math.log(11 / 9) * math.sqrt(126), rel=1e-3)  # 4 significant digits
    assert vol(closes(100, 100, 100)) == 0.0
    assert vol(closes(100, 110)) is None  # one return: no stdev


@pytest.mark.parametrize(("moment", "phase", "minutes"), [
    (at(14, 0), "continuous", 90.0),
    (dt.datetime(2026, 3, 10, 5, 0, tzinfo=dt.UTC), "continuous", 90.0),  # 14:00 KST in UTC
    (at(8, 45), "opening_auction", 405.0),
    (at(7, 0), "pre_open", 510.0),
    (at(15, 25), "closing_auction", 5.0),
    (at(15, 45), "post_close", 0.0),
    (at(11, 0, dt.date(2026, 3, 14)), "closed_day", 0.0),  # a Saturday
    (at(11, 0, dt.date(2026, 3, 2)), "closed_day", 0.0),  # 삼일절 substitute holiday
])
def test_phase_and_minutes_to_close(calendar: KrxCalendar, moment: dt.datetime, phase: str, minutes: float) -> None:
    inp = compute_features("r", [], {}, {}, moment, calendar, {})
    assert (inp.phase, inp.minutes_to_close) == (phase, minutes)


def test_naive_time_is_refused(calendar: KrxCalendar) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        compute_features("r", [], {}, {}, dt.datetime(2026, 3, 10, 10, 0), calendar, {})


def test_unknowns_stay_unknown(calendar: KrxCalendar) -> None:
    """No book and no history: None (unknown), not zero, except the depth, which is truly 0."""
    trade = make_trade("T01-000001-BUY", "000001", "buy", 5, 1_000)
    one_sided = make_book("000002", [(995, 10)], [])
    trade2 = make_trade("T02-000002-BUY", "000002", "buy", 5, 1_000)
    inp = compute_features("r", [trade, trade2], {"000002": one_sided}, {}, at(10, 0), calendar, {})
    first, second = inp.trades
    assert (first.bid, first.ask, first.spread_ticks, first.depth_at_touch) == (None, None, None, 0)
    assert (first.adv_20d, first.participation, first.volatility_20d, first.name) == (None, None, None, "")
    assert (second.bid, second.ask, second.spread_ticks, second.depth_at_touch) == (995, None, None, 0)


def test_names_are_cleaned_and_capped(calendar: KrxCalendar) -> None:
    trade = make_trade("T01-000001-BUY", "000001", "buy", 5, 1_000)
    for raw, cleaned in [("KODEX\n200\u202e\tETF", "KODEX 200 ETF"), ("가" * 500, "가" * 120)]:
        inp = compute_features("r", [trade], {}, {}, at(10, 0), calendar, {"000001": raw})
        assert inp.trades[0].name == cleaned


def test_allowed_order_types_are_checked(calendar: KrxCalendar) -> None:
    inp = compute_features("r", [], {}, {}, at(10, 0), calendar, {}, allowed_order_types=("00", "03", "00"),
                           max_slices=3)
    assert (inp.allowed_order_types, inp.max_slices) == (["00", "03"], 3)
    with pytest.raises(ValidationError, match="not plan order types"):
        compute_features("r", [], {}, {}, at(10, 0), calendar, {}, allowed_order_types=("00", "07"))
