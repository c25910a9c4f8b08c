"""paper.market: instrument master, synthetic daily bars, real replay and its continuation."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from paper.market import (
    BUILT_IN_INSTRUMENTS,
    Calibration,
    Instrument,
    MarketData,
    NoBarError,
    UnknownInstrumentError,
)
from paper.market.bars import REFERENCE_DATE, SYNTHETIC_START
from tools.market import InstrumentKind, is_on_tick, is_valid_ticker, krx_calendar, price_limits
from tools.prices import DailyBar, read_price_csv

SHARED_PRICES = Path(__file__).resolve().parents[3] / "shared" / "data" / "prices"
KRX_HEADER = "date,open,high,low,close,volume,ticker,code,name,interval\n"
LAST_REAL = dt.date(2023, 12, 22)


@pytest.fixture(scope="module")
def market() -> MarketData:
    return MarketData(krx_calendar(), seed=0)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> MarketData:
    """Every KRX file plus one US file, linked (not copied): the other US files only cost read time."""
    if not SHARED_PRICES.is_dir():
        pytest.skip("needs ../shared/data/prices (real price history), absent here")
    data_dir = tmp_path_factory.mktemp("prices")
    for source in [*SHARED_PRICES.glob("KRX_*.csv"), SHARED_PRICES / "US_SPY.csv"]:
        (data_dir / source.name).symlink_to(source)
    return MarketData(krx_calendar(), seed=0, data_dir=data_dir)


def assert_valid_bars(bars: list[DailyBar], bases: list[int], kind: InstrumentKind) -> None:
    for bar, base in zip(bars, bases, strict=True):
        assert all(is_on_tick(p, kind) for p in (bar.open, bar.high, bar.low, bar.close)), bar
        assert bar.low <= min(bar.open, bar.close) <= max(bar.open, bar.close) <= bar.high, bar
        lower, upper = price_limits(base, kind)
        assert lower <= bar.low and bar.high <= upper, (bar, base)
        assert bar.volume >= 0


# --- instrument master --------------------------------------------------------------------------


def test_master_holds_real_instruments(market: MarketData) -> None:
    instruments = market.instruments()
    assert len(instruments) >= 25
    assert len({i.ticker for i in instruments}) == len(instruments)
    assert all(is_valid_ticker(i.ticker) for i in instruments)
    names = {i.ticker: i.name for i in instruments}
    assert names["069500"] == "KODEX 200" and names["005930"] == "삼성전자" and names["360750"] == "TIGER 미국S&P500"
    assert market.instrument("005930").kind is InstrumentKind.STOCK
    assert market.instrument("229200").kind is InstrumentKind.ETF
    assert market.instrument("229200").market == "KOSPI"  # ETFs list on KOSPI whatever they track
    assert {i.market for i in instruments} == {"KOSPI", "KOSDAQ"}
    assert market.instrument("999999") is None


def test_instrument_rejects_off_grid_reference_price() -> None:
    with pytest.raises(ValueError, match="tick grid"):
        Instrument("069500", "KODEX 200", InstrumentKind.ETF, "KOSPI", Calibration(56_001, 0.2, 1))


# --- synthetic bars -----------------------------------------------------------------------------


def test_synthetic_bars_on_grid_consistent_and_within_limits(market: MarketData) -> None:
    start, end = dt.date(2024, 6, 1), dt.date(2026, 6, 30)
    for instrument in BUILT_IN_INSTRUMENTS:
        bars = market.bars(instrument.ticker, start, end)
        bases = [market.base_price(instrument.ticker, b.date) for b in bars]
        assert bases[1:] == [b.close for b in bars[:-1]]
        assert_valid_bars(bars, bases, instrument.kind)
    # The whole range for a cheap ETF (coarse ticks), a stock crossing tick bands, and the priciest.
    for ticker in ("252670", "005930", "207940"):
        bars = market.bars(ticker, SYNTHETIC_START, dt.date(2028, 12, 31))
        assert [b.date for b in bars] == krx_calendar().sessions_between(SYNTHETIC_START, dt.date(2028, 12, 31))
        assert_valid_bars(bars, [market.base_price(ticker, b.date) for b in bars], market.instrument(ticker).kind)


def test_calibration_sets_level_and_volume(market: MarketData) -> None:
    reference_day = krx_calendar().previous_session(REFERENCE_DATE, include=True)
    for instrument in BUILT_IN_INSTRUMENTS:
        assert market.bar(instrument.ticker, reference_day).close == instrument.calibration.reference_price
    bars = market.bars("005930", SYNTHETIC_START, dt.date(2028, 12, 31))
    mean_volume = np.mean([b.volume for b in bars])
    assert mean_volume == pytest.approx(market.instrument("005930").calibration.average_daily_volume, rel=0.05)
    log_returns = np.diff(np.log([b.close for b in bars]))
    assert log_returns.std() * np.sqrt(252) == pytest.approx(0.30, rel=0.1)


def test_penny_stock_respects_limits_and_grid() -> None:
    # At a few won one tick exceeds the daily cap, so the limit clamp has real work to do here.
    penny = Instrument("900001", "페니", InstrumentKind.STOCK, "KOSDAQ", Calibration(5, 0.5, 1_000))
    data = MarketData(krx_calendar(), seed=1, instruments=[penny])
    bars = data.bars("900001", SYNTHETIC_START, dt.date(2028, 12, 31))
    assert_valid_bars(bars, [data.base_price("900001", b.date) for b in bars], InstrumentKind.STOCK)
    assert len({b.close for b in bars}) > 10


def test_deterministic_whatever_the_order_of_requests(market: MarketData) -> None:
    late, early = dt.date(2028, 6, 30), dt.date(2016, 3, 2)
    fresh = MarketData(krx_calendar(), seed=0)
    assert fresh.bar("005930", late) == market.bar("005930", late)
    assert fresh.bar("005930", early) == market.bar("005930", early)
    # Asking far beyond the default horizon regenerates, but never changes earlier bars.
    far = MarketData(krx_calendar(), seed=0)
    far_bar = far.bar("005930", dt.date(2031, 3, 3))
    assert far_bar.date == dt.date(2031, 3, 3)
    assert far.bars("005930", early, late) == market.bars("005930", early, late)


def test_seed_and_ticker_change_the_bars(market: MarketData) -> None:
    window = (dt.date(2024, 1, 1), dt.date(2024, 3, 31))
    other_seed = MarketData(krx_calendar(), seed=1)
    assert other_seed.bars("005930", *window) != market.bars("005930", *window)

    def returns(data: MarketData, ticker: str) -> np.ndarray:
        return np.round(np.diff(np.log([b.close for b in data.bars(ticker, *window)])), 3)

    assert not np.array_equal(returns(market, "069500"), returns(market, "102110"))


def test_bars_range_and_errors(market: MarketData) -> None:
    bars = market.bars("069500", dt.date(2025, 12, 24), dt.date(2026, 1, 6))
    assert [b.date for b in bars] == krx_calendar().sessions_between(dt.date(2025, 12, 24), dt.date(2026, 1, 6))
    assert bars == [market.bar("069500", b.date) for b in bars]
    assert market.bars("069500", dt.date(2026, 1, 6), dt.date(2026, 1, 1)) == []
    with pytest.raises(NoBarError, match="not a KRX session"):
        market.bar("069500", dt.date(2025, 11, 15))  # Saturday
    with pytest.raises(NoBarError, match="starts on 2015-01-02"):
        market.bar("069500", dt.date(2014, 12, 30))
    with pytest.raises(UnknownInstrumentError, match="999999"):
        market.bar("999999", dt.date(2025, 11, 14))
    with pytest.raises(KeyError):  # both errors are KeyErrors for callers that only care about that
        market.base_price("069500", dt.date(2025, 11, 16))


# --- loaded price files -------------------------------------------------------------------------


@pytest.mark.shared_data
def test_real_rows_replayed_exactly(loaded: MarketData) -> None:
    assert loaded.bar("069500", LAST_REAL) == DailyBar(LAST_REAL, 35265, 35335, 35050, 35050, 3155432)
    assert loaded.base_price("069500", LAST_REAL) == 34940
    file_rows = [b for b in read_price_csv(SHARED_PRICES / "KRX_069500.csv").krw_bars() if b.date.year >= 2023]
    assert loaded.bars("069500", dt.date(2023, 1, 1), LAST_REAL) == file_rows
    first = loaded.bar("360750", dt.date(2020, 8, 7))
    assert loaded.base_price("360750", first.date) == first.open  # no previous close in the file
    with pytest.raises(NoBarError, match="starts on 2020-08-07"):
        loaded.bar("360750", dt.date(2020, 8, 6))


@pytest.mark.shared_data
def test_zero_volume_real_days_are_kept(loaded: MarketData) -> None:
    rows = read_price_csv(SHARED_PRICES / "KRX_152380.csv").krw_bars()
    zero = [b for b in rows if b.volume == 0]
    assert zero and all(loaded.bar("152380", b.date) == b for b in zero)


def kodex_only(tmp_path: Path) -> Path:
    """A data dir holding just KODEX 200 (a link, not a copy), so extra instances load quickly."""
    (tmp_path / "KRX_069500.csv").symlink_to(SHARED_PRICES / "KRX_069500.csv")
    return tmp_path


@pytest.mark.shared_data
def test_continuation_after_the_file(loaded: MarketData, tmp_path: Path) -> None:
    kodex = loaded.instrument("069500")
    assert kodex.name == "KODEX 200" and kodex.calibration.reference_price == 35050
    after = loaded.bars("069500", LAST_REAL + dt.timedelta(days=1), dt.date(2026, 12, 31))
    assert after[0].date == dt.date(2023, 12, 26)
    assert loaded.base_price("069500", after[0].date) == 35050
    assert_valid_bars(after, [35050] + [b.close for b in after[:-1]], InstrumentKind.ETF)
    volumes = np.mean([b.volume for b in after])
    assert volumes == pytest.approx(kodex.calibration.average_daily_volume, rel=0.1)
    vol = np.diff(np.log([b.close for b in after])).std() * np.sqrt(252)
    assert vol == pytest.approx(kodex.calibration.annual_volatility, rel=0.15)
    again = MarketData(krx_calendar(), seed=0, data_dir=kodex_only(tmp_path))
    assert again.bar("069500", dt.date(2025, 11, 14)) == loaded.bar("069500", dt.date(2025, 11, 14))
    other = MarketData(krx_calendar(), seed=5, data_dir=tmp_path)
    assert other.bars("069500", dt.date(2024, 1, 1), dt.date(2024, 3, 1)) != loaded.bars(
        "069500", dt.date(2024, 1, 1), dt.date(2024, 3, 1))
    assert other.bar("069500", LAST_REAL) == loaded.bar("069500", LAST_REAL)  # real rows ignore the seed


@pytest.mark.shared_data
def test_us_files_are_not_exchange_instruments(loaded: MarketData) -> None:
    assert loaded.instrument("SPY") is None
    assert loaded.usd_series["SPY"].currency == "USD"
    with pytest.raises(UnknownInstrumentError):
        loaded.bar("SPY", dt.date(2025, 9, 26))


def test_unknown_files_become_instruments_by_brand(tmp_path: Path) -> None:
    (tmp_path / "etf.csv").write_text(
        KRX_HEADER + "20240102,8000,8100,7950,8050,1000,091170,091170,KODEX 은행,D\n", encoding="utf-8")
    (tmp_path / "stock.csv").write_text(
        KRX_HEADER + "20240102,70000,71000,69000,70500,0,000100,000100,유한양행,D\n", encoding="utf-8")
    data = MarketData(krx_calendar(), seed=0, data_dir=tmp_path)
    assert data.instrument("091170").kind is InstrumentKind.ETF
    assert data.instrument("000100").kind is InstrumentKind.STOCK
    assert data.instrument("000100").calibration.average_daily_volume == 0
    assert data.bar("000100", dt.date(2024, 1, 2)).volume == 0
    nxt = data.bar("091170", dt.date(2024, 1, 3))  # a one-row file still continues
    assert is_on_tick(nxt.close, InstrumentKind.ETF) and data.base_price("091170", nxt.date) == 8050
