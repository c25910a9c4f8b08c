"""Daily OHLCV price files: the two CSV layouts in ``shared/data/prices`` (see its SOURCES.md).

* KRX layout (``KRX_*.csv``): header ``date,open,high,low,close,volume,ticker,code,name,interval``,
  dates as ``YYYYMMDD``, integer KRW prices. Read into :class:`DailyBar` (integers: money is exact).
* yfinance layout (``US_*.csv``): four header lines (``Price,…`` / ``Ticker,…`` twice / ``Date,…``),
  then ``date, adj_close, close, high, low, open, volume`` with float USD prices. Read into
  :class:`UsdDailyBar`, a separate float-valued type, so a dollar price can never be mistaken for
  an integer KRW amount.

The files are research fixtures: the reader validates and converts, but never corrects them (no
filtering of bad prints, no re-adjustment). Malformed input raises :class:`PriceFileError` naming
the file and line. Used by the paper exchange's market data and, later, the backtester.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar

Currency = Literal["KRW", "USD"]

KRX_COLUMNS = ("date", "open", "high", "low", "close", "volume", "ticker", "code", "name", "interval")
US_COLUMNS = ("date", "adj_close", "close", "high", "low", "open", "volume")


class PriceFileError(ValueError):
    """A price file that cannot be read; the message starts with ``path:line:``."""

    def __init__(self, path: Path, line: int | None, problem: str) -> None:
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {problem}")
        self.path = path
        self.line = line
        self.problem = problem


@dataclass(frozen=True, slots=True)
class DailyBar:
    """One session's OHLCV in integer KRW (volume in shares)."""

    date: dt.date
    open: int
    high: int
    low: int
    close: int
    volume: int


@dataclass(frozen=True, slots=True)
class UsdDailyBar:
    """One session's OHLCV in float USD as yfinance reports it (split-adjusted, not dividend-adjusted);
    ``adj_close`` is adjusted for splits and dividends."""

    date: dt.date
    open: float
    high: float
    low: float
    close: float
    adj_close: float
    volume: int


Bar = DailyBar | UsdDailyBar
B = TypeVar("B", DailyBar, UsdDailyBar)


@dataclass(frozen=True, slots=True)
class PriceSeries:
    """The daily history of one instrument, bars strictly ascending by date.

    KRW series hold :class:`DailyBar`, USD series :class:`UsdDailyBar`; ``krw_bars()`` gives the
    former with the type narrowed. ``bars`` is a tuple so a series can be shared safely.
    """

    ticker: str
    name: str
    currency: Currency
    bars: tuple[DailyBar, ...] | tuple[UsdDailyBar, ...]
    source: Path | None = None

    @property
    def first_date(self) -> dt.date:
        return self.bars[0].date

    @property
    def last_date(self) -> dt.date:
        return self.bars[-1].date

    def krw_bars(self) -> tuple[DailyBar, ...]:
        if self.currency != "KRW":
            raise TypeError(f"{self.ticker} is priced in {self.currency}, not KRW")
        return self.bars  # type: ignore[return-value]  # KRW series hold DailyBar by construction


def read_price_csv(path: str | Path) -> PriceSeries:
    """Read one file in either layout (detected from its first line)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise PriceFileError(path, None, f"cannot read: {exc}") from exc
    rows = list(csv.reader(text.splitlines()))
    if not rows:
        raise PriceFileError(path, 1, "empty file")
    if rows[0] and rows[0][0] == "Price":
        return _read_us(path, rows)
    if [c.strip() for c in rows[0]] == list(KRX_COLUMNS):
        return _read_krx(path, rows)
    raise PriceFileError(
        path, 1, f"unrecognised header {','.join(rows[0])!r}: expected the KRX header "
        f"{','.join(KRX_COLUMNS)!r} or a yfinance header starting with 'Price'")


def read_price_dir(directory: str | Path) -> dict[str, PriceSeries]:
    """Every ``*.csv`` in ``directory``, keyed by ticker (KRX short code or US symbol)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"price directory {directory} does not exist")
    series: dict[str, PriceSeries] = {}
    for path in sorted(directory.glob("*.csv")):
        one = read_price_csv(path)
        if one.ticker in series:
            raise PriceFileError(path, None, f"ticker {one.ticker} also in {series[one.ticker].source}")
        series[one.ticker] = one
    return series


# --- KRX layout -------------------------------------------------------------------------------


def _read_krx(path: Path, rows: list[list[str]]) -> PriceSeries:
    bars: list[DailyBar] = []
    ticker = name = ""
    for line, row in _data_rows(rows[1:], first_line=2):
        if len(row) != len(KRX_COLUMNS):
            raise PriceFileError(path, line, f"expected {len(KRX_COLUMNS)} fields, found {len(row)}")
        date_text, *numbers, row_ticker, _code, row_name, _interval = row
        day = _parse_date(path, line, date_text, compact=True)
        try:
            o, h, lo, c, v = map(int, numbers)
        except ValueError:  # the slower per-field parse explains what is wrong (or accepts "5402.0")
            o, h, lo, c, v = (_parse_int(path, line, col, text)
                              for col, text in zip(KRX_COLUMNS[1:6], numbers, strict=True))
        _check_ohlcv(path, line, o, h, lo, c, v)
        if not ticker:
            ticker, name = row_ticker.strip(), row_name.strip()
            if not ticker:
                raise PriceFileError(path, line, "empty ticker")
        elif row_ticker.strip() != ticker:
            raise PriceFileError(path, line, f"ticker {row_ticker!r} differs from {ticker!r} above")
        _check_after(path, line, bars, day)
        bars.append(DailyBar(day, o, h, lo, c, v))
    return PriceSeries(ticker, name, "KRW", _non_empty(path, bars), path)


# --- yfinance layout --------------------------------------------------------------------------


def _read_us(path: Path, rows: list[list[str]]) -> PriceSeries:
    # Line 1: Price,Price,Close,High,Low,Open,Volume; lines 2-3: Ticker,SPY,…; line 4: Date,,,…
    if len(rows) < 4 or not rows[1] or rows[1][0] != "Ticker" or len(rows[1]) < 2 \
            or not rows[3] or rows[3][0] != "Date":
        raise PriceFileError(path, 2, "yfinance header must be 4 lines: Price…, Ticker…, Ticker…, Date…")
    ticker = rows[1][1].strip()
    bars: list[UsdDailyBar] = []
    for line, row in _data_rows(rows[4:], first_line=5):
        if len(row) != len(US_COLUMNS):
            raise PriceFileError(path, line, f"expected {len(US_COLUMNS)} fields, found {len(row)}")
        date_text, *prices, volume_text = row
        day = _parse_date(path, line, date_text.split(" ")[0], compact=False)
        try:
            adj, c, h, lo, o = map(float, prices)
            if adj != adj or c != c or h != h or lo != lo or o != o:  # NaN: a missing quote
                raise ValueError
        except ValueError:
            adj, c, h, lo, o = (_parse_float(path, line, col, text)
                                for col, text in zip(US_COLUMNS[1:6], prices, strict=True))
        v = _parse_int(path, line, "volume", volume_text)
        _check_ohlcv(path, line, o, h, lo, c, v)
        if adj <= 0:
            raise PriceFileError(path, line, f"adj_close must be positive, found {adj}")
        _check_after(path, line, bars, day)
        bars.append(UsdDailyBar(day, o, h, lo, c, adj, v))
    return PriceSeries(ticker, ticker, "USD", _non_empty(path, bars), path)


# --- shared checks ----------------------------------------------------------------------------


def _data_rows(rows: list[list[str]], first_line: int) -> Iterator[tuple[int, list[str]]]:
    """(1-based file line, fields) for the non-blank rows; ``rows[0]`` is on line ``first_line``."""
    for offset, row in enumerate(rows):
        if row and any(cell.strip() for cell in row):
            yield first_line + offset, row


def _parse_date(path: Path, line: int, text: str, *, compact: bool) -> dt.date:
    """``YYYYMMDD`` (compact) or ``YYYY-MM-DD``; hand-parsed because strptime dominated read time."""
    text = text.strip()
    try:
        if compact:
            if len(text) != 8 or not text.isdigit():
                raise ValueError(text)
            return dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
        return dt.date.fromisoformat(text)
    except ValueError:
        expected = "YYYYMMDD" if compact else "YYYY-MM-DD"
        raise PriceFileError(path, line, f"bad date {text!r} (expected {expected})") from None


def _parse_int(path: Path, line: int, column: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)  # writers such as pandas may emit "5402.0"
    except ValueError:
        raise PriceFileError(path, line, f"{column} {text!r} is not a number") from None
    if not value.is_integer():
        raise PriceFileError(path, line, f"{column} {text!r} is not a whole number")
    return int(value)


def _parse_float(path: Path, line: int, column: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise PriceFileError(path, line, f"{column} {text!r} is not a number") from None
    if value != value:  # NaN: yfinance writes empty or 'nan' for missing quotes
        raise PriceFileError(path, line, f"{column} is missing (NaN)")
    return value


def _check_ohlcv(path: Path, line: int, o: float, h: float, lo: float, c: float, v: int) -> None:
    if min(o, h, lo, c) <= 0:
        raise PriceFileError(path, line, "prices must be positive")
    if not lo <= min(o, c) <= max(o, c) <= h:
        raise PriceFileError(path, line, f"inconsistent bar: open {o}, high {h}, low {lo}, close {c}")
    if v < 0:
        raise PriceFileError(path, line, f"negative volume {v}")


def _check_after(path: Path, line: int, bars: list[DailyBar] | list[UsdDailyBar], day: dt.date) -> None:
    if bars and day <= bars[-1].date:
        raise PriceFileError(path, line, f"date {day} is not after the previous row's {bars[-1].date}")


def _non_empty(path: Path, bars: list[B]) -> tuple[B, ...]:
    if not bars:
        raise PriceFileError(path, None, "no data rows")
    return tuple(bars)
