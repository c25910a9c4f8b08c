"""Daily bars for the paper exchange: seeded synthetic history, or real files replayed and continued.

* Built-in instruments (``instruments.BUILT_IN_INSTRUMENTS``) get synthetic bars on every KRX
  session from 2015-01-02: log returns with the instrument's volatility, scaled so that the close
  on ``REFERENCE_DATE`` is the calibrated price, O/H/L/C consistent, on the tick grid and inside
  each day's ±30% limits; lognormal volume around the average.
* With ``data_dir``, KRW price files (``tools.prices``) are replayed on their own dates; after a
  file's last row the series continues as a seeded random walk from the last close, with the
  realised volatility and mean volume of the last ``REALISED_WINDOW`` rows. Days before the first
  row have no bar. Real rows are served exactly as written (zero-volume days included; adjusted
  old prices may be off today's tick grid).

Randomness is drawn per calendar year from a stream keyed by (seed, ticker, year), so a bar never
depends on which dates were asked for first or how far ahead the series was generated.
"""

from __future__ import annotations

import bisect
import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from paper.market import seeds
from paper.market.grid import IntArray, round_nearest
from paper.market.instruments import BUILT_IN_INSTRUMENTS, Calibration, Instrument, kind_from_name
from paper.market.intraday import IntradayPath
from tools.market import (
    InstrumentKind,
    KrxCalendar,
    is_valid_ticker,
    krx_calendar,
    price_limits,
    round_to_tick,
)
from tools.prices import DailyBar, PriceSeries, read_price_dir

SYNTHETIC_START = dt.date(2015, 1, 2)
REFERENCE_DATE = dt.date(2025, 11, 14)  # calibrated prices are closes on the session at or before this
DEFAULT_HORIZON = dt.date(2028, 12, 31)  # generated up front; later days extend it (same bars before)
MAX_HORIZON = dt.date(2100, 12, 31)  # no bars after this: a stray date.max must not generate 8,000 years
REALISED_WINDOW = 60
TRADING_DAYS = 252
MAX_DAILY_LOG_MOVE = 0.2  # synthetic moves are capped well inside the ±30% limit (e^0.2 ≈ +22%)
PATH_CACHE_SIZE = 512


class UnknownInstrumentError(KeyError):
    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class NoBarError(KeyError):
    """No daily bar for that ticker on that day (not a session, or outside the series)."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True, eq=False)
class _Columns:
    """One ticker's bars, ascending, as columns; ``base`` is each day's 기준가 (previous close)."""

    days: list[dt.date]
    open: IntArray
    high: IntArray
    low: IntArray
    close: IntArray
    volume: IntArray
    base: IntArray

    def bar(self, i: int) -> DailyBar:
        return DailyBar(self.days[i], int(self.open[i]), int(self.high[i]), int(self.low[i]),
                        int(self.close[i]), int(self.volume[i]))


class MarketData:
    """The daily bar source behind the paper exchange (and intraday paths derived from its bars).

    ``calendar`` defaults to the process-wide ``krx_calendar()``. USD files in ``data_dir`` are
    parsed (so a broken file fails loudly) but are not exchange instruments: they stay available in
    ``usd_series`` for research, and ``instrument()`` does not know them.

    Safe to share between threads: generation and the path cache are guarded by one lock.
    """

    def __init__(self, calendar: KrxCalendar | None = None, seed: int = 0, data_dir: Path | None = None,
                 *, instruments: Iterable[Instrument] = BUILT_IN_INSTRUMENTS) -> None:
        if seed < 0:
            raise ValueError("seed must be >= 0")
        self.calendar = calendar if calendar is not None else krx_calendar()
        self.seed = seed
        self._instruments = {i.ticker: i for i in instruments}
        self._real: dict[str, tuple[DailyBar, ...]] = {}
        self.usd_series: dict[str, PriceSeries] = {}
        if data_dir is not None:
            self._load(Path(data_dir))
        self._horizon = DEFAULT_HORIZON
        self._columns: dict[str, _Columns] = {}
        self._sessions: dict[tuple[dt.date, dt.date], list[dt.date]] = {}
        self._paths: OrderedDict[tuple[str, dt.date], IntradayPath] = OrderedDict()
        self._lock = threading.RLock()

    # --- instruments ------------------------------------------------------------------------------

    def instruments(self) -> list[Instrument]:
        return sorted(self._instruments.values(), key=lambda i: i.ticker)

    def instrument(self, ticker: str) -> Instrument | None:
        return self._instruments.get(ticker)

    def _load(self, data_dir: Path) -> None:
        for ticker, series in read_price_dir(data_dir).items():
            if series.currency != "KRW":
                self.usd_series[ticker] = series
                continue
            if not is_valid_ticker(ticker):
                raise ValueError(f"{series.source}: {ticker!r} is not a KRX short code")
            known = self._instruments.get(ticker)
            kind = known.kind if known else kind_from_name(series.name)
            bars = series.krw_bars()
            self._real[ticker] = bars
            # Loaded instruments describe their data: calibration is the realised one.
            self._instruments[ticker] = Instrument(
                ticker, known.name if known else series.name, kind, known.market if known else "KOSPI",
                _realised_calibration(bars, kind))

    # --- daily bars ---------------------------------------------------------------------------------

    def bar(self, ticker: str, day: dt.date) -> DailyBar:
        columns, i = self._locate(ticker, day)
        return columns.bar(i)

    def bars(self, ticker: str, start: dt.date, end: dt.date) -> list[DailyBar]:
        """Bars from ``start`` to ``end`` inclusive, ascending; days without a bar are absent."""
        columns = self._series(ticker, end)
        first, last = bisect.bisect_left(columns.days, start), bisect.bisect_right(columns.days, end)
        return [columns.bar(i) for i in range(first, last)]

    def base_price(self, ticker: str, day: dt.date) -> int:
        """기준가 of ``day``: the previous session's close (a file's first row: its own open)."""
        columns, i = self._locate(ticker, day)
        return int(columns.base[i])

    def path(self, ticker: str, day: dt.date) -> IntradayPath:
        """The intraday path of ``day`` (cached: the last ``PATH_CACHE_SIZE`` are kept)."""
        key = (ticker, day)
        with self._lock:
            if key in self._paths:
                self._paths.move_to_end(key)
                return self._paths[key]
            columns, i = self._locate(ticker, day)
            path = IntradayPath.build(ticker, self._instruments[ticker].kind, columns.bar(i),
                                      int(columns.base[i]), self.calendar.session_bounds(day), self.seed)
            self._paths[key] = path
            if len(self._paths) > PATH_CACHE_SIZE:
                self._paths.popitem(last=False)
            return path

    def _locate(self, ticker: str, day: dt.date) -> tuple[_Columns, int]:
        columns = self._series(ticker, day)
        i = bisect.bisect_left(columns.days, day)
        if i == len(columns.days) or columns.days[i] != day:
            if day < columns.days[0]:
                reason = f"its history starts on {columns.days[0]}"
            elif not self.calendar.is_session(day):
                reason = "that day is not a KRX session"
            elif day > columns.days[-1]:
                reason = f"bars end on {columns.days[-1]}"
            else:
                reason = "the price file has no row for that session"
            raise NoBarError(f"no daily bar for {ticker} on {day}: {reason}")
        return columns, i

    def _series(self, ticker: str, through: dt.date) -> _Columns:
        """The ticker's columns, generated at least through ``through`` (at most MAX_HORIZON)."""
        if ticker not in self._instruments:
            raise UnknownInstrumentError(f"unknown instrument {ticker!r}")
        with self._lock:
            if min(through, MAX_HORIZON) > self._horizon:
                # Whole years only, so every year's draws (and thus every earlier bar) stay the same.
                self._horizon = dt.date(min(through, MAX_HORIZON).year, 12, 31)
                self._columns.clear()
                self._sessions.clear()
            if ticker not in self._columns:
                self._columns[ticker] = self._generate(self._instruments[ticker])
            return self._columns[ticker]

    def _generate(self, instrument: Instrument) -> _Columns:
        cal, kind, ticker = instrument.calibration, instrument.kind, instrument.ticker
        real = self._real.get(ticker)
        if real is None:
            days = self._sessions_from(SYNTHETIC_START)
            draws = self._draws(ticker, seeds.SYNTHETIC_DAILY, days)
            # Start where the walk must begin for the close on REFERENCE_DATE to be the calibrated price.
            anchor = bisect.bisect_right(days, REFERENCE_DATE) - 1
            start_close = cal.reference_price * float(np.exp(-_log_returns(draws, cal)[: anchor + 1].sum()))
            return _simulate(days, draws, start_close, round_to_tick(start_close, kind), cal, kind)
        real_columns = _columns_from_bars(list(real))
        days = self._sessions_from(real[-1].date + dt.timedelta(days=1))
        if not days:
            return real_columns
        draws = self._draws(ticker, seeds.CONTINUATION_DAILY, days)
        return _concat(real_columns, _simulate(days, draws, float(real[-1].close), real[-1].close, cal, kind))

    def _sessions_from(self, start: dt.date) -> list[dt.date]:
        key = (start, self._horizon)
        if key not in self._sessions:
            self._sessions[key] = self.calendar.sessions_between(start, self._horizon)
        return self._sessions[key]

    def _draws(self, ticker: str, purpose: int, days: list[dt.date]) -> np.ndarray:
        """Standard normals, 5 per day (return, gap, high extension, low extension, volume), drawn
        year by year so a year's numbers do not depend on how many years are generated."""
        years = np.array([d.year for d in days])
        chunks = [seeds.rng(self.seed, ticker, purpose, int(year)).standard_normal((int(n), 5))
                  for year, n in zip(*np.unique(years, return_counts=True), strict=True)]
        return np.concatenate(chunks)


def _log_returns(draws: np.ndarray, cal: Calibration) -> np.ndarray:
    daily_vol = cal.annual_volatility / np.sqrt(TRADING_DAYS)
    return np.clip(draws[:, 0] * daily_vol, -MAX_DAILY_LOG_MOVE, MAX_DAILY_LOG_MOVE)


def _simulate(days: list[dt.date], draws: np.ndarray, start_close: float, start_base: int,
              cal: Calibration, kind: InstrumentKind) -> _Columns:
    """Bars on ``days`` walking from ``start_close``; ``start_base`` is the first day's 기준가."""
    daily_vol = cal.annual_volatility / np.sqrt(TRADING_DAYS)
    log_close = np.log(start_close) + np.cumsum(_log_returns(draws, cal))
    log_prev = np.concatenate([[np.log(start_close)], log_close[:-1]])
    log_open = log_prev + draws[:, 1] * daily_vol * 0.35
    log_high = np.maximum(log_open, log_close) + np.abs(draws[:, 2]) * daily_vol * 0.5
    log_low = np.minimum(log_open, log_close) - np.abs(draws[:, 3]) * daily_vol * 0.5
    cap = log_prev + MAX_DAILY_LOG_MOVE, log_prev - MAX_DAILY_LOG_MOVE

    def grid(log_price: np.ndarray) -> IntArray:
        return round_nearest(np.exp(np.clip(log_price, cap[1], cap[0])), kind)

    close, open_ = grid(log_close), grid(log_open)
    high = np.maximum.reduce([grid(log_high), open_, close])
    low = np.minimum.reduce([grid(log_low), open_, close])
    base = np.concatenate([[start_base], close[:-1]]).astype(np.int64)
    sigma = 0.5  # lognormal volume with mean = the average daily volume
    volume = np.rint(cal.average_daily_volume * np.exp(sigma * draws[:, 4] - sigma**2 / 2)).astype(np.int64)
    _clamp_to_limits(open_, high, low, close, base, kind)
    return _Columns(days, open_, high, low, close, volume, base)


def _clamp_to_limits(open_: IntArray, high: IntArray, low: IntArray, close: IntArray, base: IntArray,
                     kind: InstrumentKind) -> None:
    """Make every day respect ``price_limits(previous close)``, in place.

    A grid price within ±29% of the base is always inside the limits, so the exact (slow) check
    runs only from the first day outside that band: in practice only for prices of a few won,
    where one tick is more than the daily cap.
    """
    outside = (high * 100 > base * 129) | (low * 100 < base * 71)
    if not outside.any():
        return
    for i in range(int(np.argmax(outside)), len(close)):
        if i > 0:
            base[i] = close[i - 1]
        lower, upper = price_limits(int(base[i]), kind)
        for column in (open_, high, low, close):
            column[i] = min(max(int(column[i]), lower), upper)


def _columns_from_bars(bars: list[DailyBar]) -> _Columns:
    def column(field: str) -> IntArray:
        return np.array([getattr(b, field) for b in bars], dtype=np.int64)

    close = column("close")
    base = np.concatenate([[bars[0].open], close[:-1]]).astype(np.int64)
    return _Columns([b.date for b in bars], column("open"), column("high"), column("low"), close,
                    column("volume"), base)


def _concat(first: _Columns, second: _Columns) -> _Columns:
    def join(field: str) -> IntArray:
        return np.concatenate([getattr(first, field), getattr(second, field)])

    return _Columns(first.days + second.days, join("open"), join("high"), join("low"), join("close"),
                    join("volume"), join("base"))


def _realised_calibration(bars: tuple[DailyBar, ...], kind: InstrumentKind) -> Calibration:
    recent = bars[-(REALISED_WINDOW + 1):]
    closes = np.array([b.close for b in recent], dtype=np.float64)
    returns = np.diff(np.log(closes))
    volatility = float(returns.std(ddof=1) * np.sqrt(TRADING_DAYS)) if len(returns) > 1 else 0.0
    volume = int(np.mean([b.volume for b in recent[-REALISED_WINDOW:]]))
    # A floor keeps a flat (or one-row) history from freezing the continuation completely.
    return Calibration(round_to_tick(closes[-1], kind), min(max(volatility, 0.01), 2.5), volume)
