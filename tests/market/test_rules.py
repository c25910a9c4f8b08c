"""KRX rules in tools/market.py: ticks, limits, order types per phase, sessions, the calendar cache."""

from __future__ import annotations

import datetime as dt

import pytest

from tools import market
from tools.market import (
    KST,
    InstrumentKind,
    OrderType,
    Phase,
    is_on_tick,
    is_valid_ticker,
    krx_calendar,
    order_type_allowed,
    price_limits,
    price_problem,
    round_to_tick,
    shift_ticks,
    tick_size,
    ticks_between,
)

ETF = InstrumentKind.ETF


@pytest.mark.parametrize(("price", "tick"), [(1_999, 1), (2_000, 5), (4_995, 5), (5_000, 10), (19_990, 10),
                                             (20_000, 50), (49_950, 50), (50_000, 100), (199_900, 100),
                                             (200_000, 500), (499_500, 500), (500_000, 1_000)])
def test_stock_tick_bands(price, tick):
    assert tick_size(price) == tick


def test_funds_tick_five_won_at_any_price():
    assert {tick_size(p, k) for p in (900, 48_000, 600_000) for k in (ETF, InstrumentKind.ETN)} == {5}


def test_rounding_and_shifting_cross_band_boundaries():
    assert round_to_tick(4_999.9, up=True) == 5_000
    assert round_to_tick(19_995, up=True) == 20_000
    assert round_to_tick(19_995) == 19_990
    assert shift_ticks(2_000, -1) == 1_999 and shift_ticks(1_999, 1) == 2_000
    assert shift_ticks(20_000, -2) == 19_980 and shift_ticks(48_000, 3, ETF) == 48_015
    assert ticks_between(1_995, 2_010) == 7
    with pytest.raises(ValueError):
        shift_ticks(2_001, 1)


def test_price_limits_are_on_the_grid_and_within_thirty_percent():
    assert price_limits(10_000) == (7_000, 13_000)
    assert price_limits(15_385) == (10_770, 20_000)  # 20,000.5 truncated to the 50-won grid
    assert price_limits(48_330, ETF) == (33_835, 62_825)
    for base in (1_234, 7_777, 33_333, 123_456, 654_321):
        lower, upper = price_limits(base)
        assert is_on_tick(lower) and is_on_tick(upper)
        assert lower >= base * 0.7 and upper <= base * 1.3


def test_price_problem_names_the_rule():
    assert price_problem(48_333, 48_330, ETF).startswith("price 48,333 is off the tick grid")
    assert "outside today's limits" in price_problem(62_830, 48_330, ETF)
    assert price_problem(48_335, 48_330, ETF) is None


def test_tickers():
    assert is_valid_ticker("069500") and is_valid_ticker("Q500057")
    assert not any(is_valid_ticker(t) for t in ("69500", "0695000", "A069500", "Q50005", ""))


def test_order_types_by_phase():
    assert order_type_allowed(OrderType.BEST_COUNTER, Phase.CONTINUOUS)
    assert not order_type_allowed(OrderType.BEST_COUNTER, Phase.OPENING_AUCTION)
    assert not order_type_allowed(OrderType.IOC_LIMIT, Phase.CLOSING_AUCTION)
    assert order_type_allowed(OrderType.CONDITIONAL_LIMIT, Phase.CLOSING_AUCTION)
    assert not any(order_type_allowed(t, Phase.POST_CLOSE) for t in OrderType)
    assert OrderType.MARKET.is_market and OrderType.FOK_BEST.is_fill_or_kill and not OrderType.LIMIT.is_immediate


def test_sessions_and_phases():
    cal = krx_calendar()
    assert not cal.is_session(dt.date(2026, 6, 3))  # local-election day, patched in
    assert not cal.is_session(dt.date(2026, 12, 31)) and not cal.is_session(dt.date(2026, 11, 21))
    assert cal.hours(dt.date(2026, 1, 2)) == (dt.time(10, 0), dt.time(15, 30))  # first session opens late
    assert cal.add_sessions(dt.date(2026, 11, 20), 2) == dt.date(2026, 11, 24)
    assert cal.next_session(dt.date(2026, 12, 30)) == dt.date(2027, 1, 4)
    phases = {t: cal.phase(dt.datetime.combine(dt.date(2026, 11, 20), dt.time(*t), KST))
              for t in ((8, 0), (8, 30), (9, 0), (15, 19), (15, 20), (15, 30))}
    assert list(phases.values()) == [Phase.PRE_OPEN, Phase.OPENING_AUCTION, Phase.CONTINUOUS, Phase.CONTINUOUS,
                                     Phase.CLOSING_AUCTION, Phase.POST_CLOSE]
    assert cal.is_session(dt.date(2031, 3, 3)) and not cal.is_session(dt.date(2031, 3, 1))  # weekdays past the data


def test_damaged_calendar_cache_is_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setenv("REBAL_CACHE_DIR", str(tmp_path))
    path = market._cache_file("2026-01-01", "2026-12-31")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{not json")
    sessions, hours = market._load_sessions("2026-01-01", "2026-12-31")
    assert len(sessions) == 246 and hours[dt.date(2026, 1, 2)][0] == dt.time(10, 0)
    cached, _ = market._load_sessions("2026-01-01", "2026-12-31")  # now read back from the rebuilt file
    assert cached == sessions
