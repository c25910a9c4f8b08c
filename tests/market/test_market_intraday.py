"""paper.market.intraday: paths through the daily bar, volume profile, range queries, the book."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path

import numpy as np
import pytest

from paper.market import IntradayPath, MarketData
from tools.market import KST, InstrumentKind, is_on_tick, krx_calendar, price_limits, shift_ticks, tick_size
from tools.prices import DailyBar

SHARED_PRICES = Path(__file__).resolve().parents[3] / "shared" / "data" / "prices"
DAY = dt.date(2025, 11, 14)
TICKERS = ("005930", "069500", "252670", "207940", "357870", "000660", "086520", "114260")
DAYS = (dt.date(2016, 5, 3), dt.date(2025, 1, 2), DAY, dt.date(2026, 11, 20))


@pytest.fixture(scope="module")
def market() -> MarketData:
    return MarketData(krx_calendar(), seed=0)


def at(day: dt.date, hh: int, mm: int = 0, ss: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hh, mm, ss), KST)


def build(bar: DailyBar, base: int, kind: InstrumentKind = InstrumentKind.ETF, seed: int = 0) -> IntradayPath:
    return IntradayPath.build("069500", kind, bar, base, krx_calendar().session_bounds(bar.date), seed)


def test_path_hits_the_bar_and_stays_on_grid(market: MarketData) -> None:
    for ticker in TICKERS:
        kind = market.instrument(ticker).kind
        for day in DAYS:
            bar, path = market.bar(ticker, day), market.path(ticker, day)
            prices = path.grid_prices
            assert (prices[0], prices[-1]) == (bar.open, bar.close)
            assert (prices.max(), prices.min()) == (bar.high, bar.low)
            assert all(is_on_tick(int(p), kind) for p in prices)
            assert path.last_price(at(day, 15, 30)) == bar.close
            assert path.high_low(at(day, 18)) == (bar.high, bar.low)


def test_session_times_follow_the_calendar(market: MarketData) -> None:
    path = market.path("005930", DAY)
    assert (path.open_time, path.continuous_end, path.close_time) == (at(DAY, 9), at(DAY, 15, 20), at(DAY, 15, 30))
    late_open = market.path("005930", dt.date(2025, 1, 2))  # first session of the year opens at 10:00
    assert late_open.open_time == at(dt.date(2025, 1, 2), 10)
    assert len(late_open.grid_prices) == 5 * 360 + 20 * 6 + 1


def test_queries_clamp_outside_the_session(market: MarketData) -> None:
    bar, path = market.bar("005930", DAY), market.path("005930", DAY)
    before = at(DAY, 8, 45)
    assert path.last_price(before) == bar.open
    assert path.high_low(before) == (bar.open, bar.open)
    assert path.cum_volume(before) == 0
    assert path.last_price(at(DAY, 9)) == bar.open
    assert path.last_price(at(DAY, 15, 25)) == bar.close  # the continuous session ends at the close
    with pytest.raises(ValueError, match="timezone"):
        path.last_price(dt.datetime(2025, 11, 14, 10))


def test_volume_profile(market: MarketData) -> None:
    bar, path = market.bar("005930", DAY), market.path("005930", DAY)
    assert path.cum_volume(at(DAY, 9)) == path.opening_volume == round(bar.volume * 0.03)
    assert path.cum_volume(at(DAY, 15, 29, 59)) == bar.volume - path.closing_volume
    assert path.closing_volume == round(bar.volume * 0.08)
    assert path.cum_volume(at(DAY, 16)) == bar.volume
    cuts = [at(DAY, 8)] + [at(DAY, 9) + dt.timedelta(minutes=17 * i) for i in range(1, 23)] + [at(DAY, 16)]
    pieces = [path.volume_between(a, b) for a, b in itertools.pairwise(cuts)]
    assert sum(pieces) == bar.volume and min(pieces) >= 0
    first_half_hour = path.volume_between(at(DAY, 9), at(DAY, 9, 30))
    midday_half_hour = path.volume_between(at(DAY, 12), at(DAY, 12, 30))
    assert first_half_hour > 1.5 * midday_half_hour  # U-shaped
    volumes = np.diff(path.event_cum_volume)
    assert (volumes >= 0).all()


def test_range_between_matches_the_prints(market: MarketData) -> None:
    path = market.path("000660", DAY)
    rng = np.random.default_rng(7)
    grid_times = [path.open_time + dt.timedelta(seconds=float(s)) for s in path.event_seconds]
    prints = list(zip(grid_times, path.event_prices.tolist(), strict=True))
    for _ in range(40):
        a, b = sorted(rng.uniform(-600, 6.6 * 3600, 2))
        t0, t1 = path.open_time + dt.timedelta(seconds=a), path.open_time + dt.timedelta(seconds=b)
        inside = [p for t, p in prints if t0 < t <= t1]
        expected = (min(inside), max(inside)) if inside else (path.last_price(t1),) * 2
        assert path.range_between(t0, t1) == expected
    high, low = path.high_low(at(DAY, 11))
    assert (low, high) == path.range_between(at(DAY, 8), at(DAY, 11))


def test_book_on_grid_sorted_within_limits(market: MarketData) -> None:
    for ticker in TICKERS:
        kind = market.instrument(ticker).kind
        path = market.path(ticker, DAY)
        lower, upper = price_limits(market.base_price(ticker, DAY), kind)
        for moment in (at(DAY, 8, 50), at(DAY, 9, 0, 5), at(DAY, 11, 3, 17), at(DAY, 15, 25), at(DAY, 17)):
            bids, asks = path.book(moment)
            assert len(bids) == len(asks) == 10
            prices = [p for p, _ in bids + asks]
            assert all(is_on_tick(p, kind) and lower <= p <= upper for p in prices)
            assert [p for p, _ in bids] == sorted((p for p, _ in bids), reverse=True)
            assert [p for p, _ in asks] == sorted(p for p, _ in asks)
            assert asks[0][0] == shift_ticks(bids[0][0], 1, kind)  # one tick wide
            assert bids[0][0] == path.last_price(moment)
            assert all(q >= 1 for _, q in bids + asks)
            assert path.book(moment) == (bids, asks)  # reproducible


def test_book_depth_scales_with_volume(market: MarketData) -> None:
    path = market.path("005930", DAY)
    bids, asks = path.book(at(DAY, 10))
    top = (bids[0][1] + asks[0][1]) / 2
    assert 0.001 * path.bar.volume < top < 0.02 * path.bar.volume


def test_book_thins_out_at_the_limit() -> None:
    base = 10_000
    lower, upper = price_limits(base, InstrumentKind.ETF)
    limit_up = build(DailyBar(DAY, upper, upper, upper, upper, 5_000), base)  # locked at 상한가
    bids, asks = limit_up.book(at(DAY, 11))
    assert asks == [] and bids[0][0] == upper and len(bids) == 10
    limit_down = build(DailyBar(DAY, lower, lower, lower, lower, 5_000), base)
    bids, asks = limit_down.book(at(DAY, 11))
    assert [p for p, _ in bids] == [lower] and len(asks) == 10


def test_zero_volume_day_has_an_empty_book() -> None:
    path = build(DailyBar(DAY, 50_040, 50_040, 49_960, 49_960, 0), 50_000)
    assert path.book(at(DAY, 10)) == ([], [])
    assert path.cum_volume(at(DAY, 16)) == 0 and path.volume_between(at(DAY, 9), at(DAY, 16)) == 0


def test_off_grid_bar_keeps_its_exact_prices() -> None:
    bar = DailyBar(DAY, 5402, 5541, 5257, 5368, 3_720_670)  # KODEX 200 in 2002, distribution-adjusted
    prices = build(bar, 5380).grid_prices
    assert (prices[0], prices.max(), prices.min(), prices[-1]) == (5402, 5541, 5257, 5368)
    inner = [int(p) for p in prices if int(p) not in (5402, 5541, 5257, 5368)]
    assert inner and all(p % tick_size(p, InstrumentKind.ETF) == 0 for p in inner)


def test_paths_are_seeded(market: MarketData) -> None:
    bar = market.bar("005930", DAY)
    base = market.base_price("005930", DAY)
    again = MarketData(krx_calendar(), seed=0).path("005930", DAY)
    assert np.array_equal(again.event_prices, market.path("005930", DAY).event_prices)
    assert np.array_equal(again.event_cum_volume, market.path("005930", DAY).event_cum_volume)
    assert market.path("005930", DAY) is market.path("005930", DAY)  # cached
    other = build(bar, base, InstrumentKind.STOCK, seed=1)
    assert not np.array_equal(other.event_prices, again.event_prices)


@pytest.mark.shared_data
def test_real_zero_volume_day(tmp_path: Path) -> None:
    if not SHARED_PRICES.is_dir():
        pytest.skip("needs ../shared/data/prices (real price history), absent here")
    (tmp_path / "KRX_152380.csv").symlink_to(SHARED_PRICES / "KRX_152380.csv")
    data = MarketData(krx_calendar(), seed=0, data_dir=tmp_path)
    zero_day = next(d for d in krx_calendar().sessions_between(dt.date(2012, 1, 20), dt.date(2013, 12, 31))
                    if data.bar("152380", d).volume == 0)
    path = data.path("152380", zero_day)
    assert path.book(at(zero_day, 10)) == ([], [])
    assert path.volume_between(at(zero_day, 8), at(zero_day, 16)) == 0
