"""tools.prices: both CSV layouts of shared/data/prices, and clear errors for malformed files."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path

import pytest

from tools.prices import DailyBar, PriceFileError, UsdDailyBar, read_price_csv, read_price_dir

SHARED_PRICES = Path(__file__).resolve().parents[3] / "shared" / "data" / "prices"
KRX_HEADER = "date,open,high,low,close,volume,ticker,code,name,interval\n"
US_HEADER = "Price,Price,Close,High,Low,Open,Volume\nTicker,SPY,SPY,SPY,SPY,SPY,SPY\nTicker,SPY,SPY,SPY,SPY,SPY,SPY\nDate,,,,,,\n"


@pytest.fixture(scope="module")
def prices_dir() -> Path:
    if not SHARED_PRICES.is_dir():
        pytest.skip("needs ../shared/data/prices (real price history), absent here")
    return SHARED_PRICES


@pytest.mark.shared_data
def test_reads_krx_layout(prices_dir: Path) -> None:
    series = read_price_csv(prices_dir / "KRX_069500.csv")
    assert (series.ticker, series.name, series.currency) == ("069500", "KODEX 200", "KRW")
    assert len(series.bars) == 5243
    assert series.bars[0] == DailyBar(dt.date(2002, 10, 14), 5402, 5541, 5257, 5368, 3720670)
    assert series.bars[-1] == DailyBar(dt.date(2023, 12, 22), 35265, 35335, 35050, 35050, 3155432)
    assert all(type(b.close) is int for b in series.bars)
    assert all(a.date < b.date for a, b in itertools.pairwise(series.bars))
    assert series.krw_bars() is series.bars


@pytest.mark.shared_data
def test_reads_yfinance_layout(prices_dir: Path) -> None:
    series = read_price_csv(prices_dir / "US_SPY.csv")
    assert (series.ticker, series.currency, len(series.bars)) == ("SPY", "USD", 8222)
    first = series.bars[0]
    assert isinstance(first, UsdDailyBar)
    assert first.date == dt.date(1993, 1, 29)
    assert (first.open, first.high, first.low, first.close) == (43.96875, 43.96875, 43.75, 43.9375)
    assert first.adj_close == pytest.approx(24.313047409057617)
    assert first.volume == 1003200
    assert series.last_date == dt.date(2025, 9, 26)
    with pytest.raises(TypeError, match="USD"):
        series.krw_bars()


@pytest.mark.shared_data
def test_reads_whole_directory_and_keeps_zero_volume_days(prices_dir: Path) -> None:
    series = read_price_dir(prices_dir)
    assert {t for t, s in series.items() if s.currency == "KRW"} == {
        "069500", "152380", "219480", "229200", "308620", "329750", "360750"}
    assert {t for t, s in series.items() if s.currency == "USD"} == {"SPY", "QQQ", "TLT", "IEF", "SHY", "GLD"}
    assert sum(b.volume == 0 for b in series["152380"].bars) == 61  # as SOURCES.md reports


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    return path


GOOD_KRX_ROW = "20231222,35265,35335,35050,35050,3155432,069500,069500,KODEX 200,D\n"


@pytest.mark.parametrize(("text", "line", "problem"), [
    (KRX_HEADER + GOOD_KRX_ROW + "2023-12-26,1,1,1,1,1,069500,069500,KODEX 200,D\n", 3, "bad date"),
    (KRX_HEADER + "20231222,35265,abc,35050,35050,1,069500,069500,KODEX 200,D\n", 2, "high 'abc'"),
    (KRX_HEADER + "20231222,35265,35335.5,35050,35050,1,069500,069500,KODEX 200,D\n", 2, "whole number"),
    (KRX_HEADER + "20231222,35265,35335,35050\n", 2, "expected 10 fields"),
    (KRX_HEADER + "20231222,35265,35000,35050,35050,1,069500,069500,KODEX 200,D\n", 2, "inconsistent bar"),
    (KRX_HEADER + GOOD_KRX_ROW + GOOD_KRX_ROW, 3, "not after"),
    (KRX_HEADER + GOOD_KRX_ROW + "20231226,1,1,1,1,1,102110,102110,TIGER 200,D\n", 3, "differs"),
    (KRX_HEADER + "20231222,35265,35335,35050,35050,-1,069500,069500,KODEX 200,D\n", 2, "negative volume"),
    ("day,open\n20231222,1\n", 1, "unrecognised header"),
    ("", 1, "empty file"),
    (US_HEADER + "1993-01-29 00:00:00,24.3,43.9,43.9,43.7,nan,100\n", 5, "NaN"),
    (US_HEADER.replace("Date,,,,,,\n", ""), 2, "4 lines"),
])
def test_malformed_file_names_file_and_line(tmp_path: Path, text: str, line: int, problem: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(PriceFileError, match=problem) as caught:
        read_price_csv(path)
    assert str(caught.value).startswith(f"{path}:{line}: ")
    assert caught.value.line == line


def test_header_only_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(PriceFileError, match="no data rows"):
        read_price_csv(_write(tmp_path, KRX_HEADER))


def test_integral_float_prices_are_accepted(tmp_path: Path) -> None:
    series = read_price_csv(_write(tmp_path, KRX_HEADER + "20231222,35265.0,35335,35050,35050,7,069500,069500,KODEX 200,D\n"))
    assert series.bars == (DailyBar(dt.date(2023, 12, 22), 35265, 35335, 35050, 35050, 7),)


def test_duplicate_ticker_in_directory(tmp_path: Path) -> None:
    for name in ("a.csv", "b.csv"):
        (tmp_path / name).write_text(KRX_HEADER + GOOD_KRX_ROW, encoding="utf-8")
    with pytest.raises(PriceFileError, match="also in"):
        read_price_dir(tmp_path)
