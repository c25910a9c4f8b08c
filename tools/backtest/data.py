"""Price panels for the backtester: CSV folders (``tools.prices``) or KIS daily bars with a local cache.

A :class:`PricePanel` holds OHLCV of several tickers on the union of their sessions, as integer
money in one currency. Units, and why:

* KRW series: integer KRW as read (KRX files are already distribution-adjusted, see SOURCES.md).
* USD series: total-return prices in integer **cents**. Open, high, low and close are scaled by
  ``adj_close / close`` (so a dividend is a price effect, as in the KRX files) and rounded to the
  cent. Cents keep the netting core, which books money in ints, usable unchanged: cash, notionals
  and commissions are then whole cents. Dividing by ``unit`` (100) gives dollars back.
* Mixing currencies in one panel is refused: no FX series is available (rebalancing notes §6).

Missing bars (a ticker not yet listed, a gap) have ``present`` False and price 0; valuation uses
the last close before them (``valuation_close``) and no order fills on such a day.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tools.market import InstrumentKind, is_valid_ticker
from tools.prices import DailyBar, PriceSeries, UsdDailyBar, read_price_csv, read_price_dir
from tools.private import private_dir, write_private_text
from tools.strategies.base import ClosePanel

CURRENCY_UNIT = {"KRW": 1, "USD": 100}  # integer price units per currency unit
ALIAS_PREFIX = "Q9"  # synthetic ETN-shaped codes for non-KRX tickers inside the integer core


class PanelError(ValueError):
    """Price data that cannot form a panel (unknown ticker, mixed currencies, empty range)."""


@dataclass(frozen=True)
class PricePanel:
    dates: tuple[dt.date, ...]
    tickers: tuple[str, ...]
    currency: str
    open: np.ndarray  # int64 (dates × tickers), 0 where not present
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    present: np.ndarray  # bool
    kinds: tuple[InstrumentKind, ...]
    names: tuple[str, ...]

    @property
    def unit(self) -> int:
        return CURRENCY_UNIT[self.currency]

    @property
    def valuation_close(self) -> np.ndarray:
        """Close carried forward over missing bars (0 before a ticker's first bar)."""
        filled = np.where(self.present, self.close, 0)
        index = np.where(self.present, np.arange(len(self.dates))[:, None], 0)
        np.maximum.accumulate(index, axis=0, out=index)
        return np.take_along_axis(filled, index, axis=0)

    def close_panel(self) -> ClosePanel:
        """Float closes for the strategies (NaN where no bar)."""
        return ClosePanel(self.dates, self.tickers, np.where(self.present, self.close.astype(float), np.nan))

    def core_codes(self) -> tuple[str, ...]:
        """A valid KRX-shaped code per ticker for the netting/drift core, which checks ticker format.

        KRX tickers map to themselves; others (US symbols) get ``Q9nnnnn`` aliases. Tell the lead:
        the core could accept any ticker for backtests instead (see the report).
        """
        used = {t for t in self.tickers if is_valid_ticker(t)}
        codes, serial = [], 0
        for ticker in self.tickers:
            if is_valid_ticker(ticker):
                codes.append(ticker)
                continue
            while (code := f"{ALIAS_PREFIX}{serial:05d}") in used:
                serial += 1
            used.add(code)
            codes.append(code)
            serial += 1
        return tuple(codes)

    def index_on_or_after(self, day: dt.date) -> int:
        days = np.array(self.dates, dtype="datetime64[D]")
        return int(np.searchsorted(days, np.datetime64(day, "D"), side="left"))

    def index_on_or_before(self, day: dt.date) -> int:
        days = np.array(self.dates, dtype="datetime64[D]")
        return int(np.searchsorted(days, np.datetime64(day, "D"), side="right")) - 1


def _scaled(bar: DailyBar | UsdDailyBar) -> tuple[int, int, int, int]:
    if isinstance(bar, DailyBar):
        return bar.open, bar.high, bar.low, bar.close
    factor = bar.adj_close / bar.close * 100  # total-return dollars → cents
    return (round(bar.open * factor), round(bar.high * factor), round(bar.low * factor), round(bar.adj_close * 100))


def panel_from_series(series: Mapping[str, PriceSeries], tickers: Sequence[str] | None = None, *,
                      start: dt.date | None = None, end: dt.date | None = None,
                      kinds: Mapping[str, InstrumentKind] | None = None) -> PricePanel:
    """A panel of ``tickers`` (default: all) on the union of their sessions within [start, end]."""
    tickers = tuple(tickers or series)
    unknown = [t for t in tickers if t not in series]
    if unknown:
        raise PanelError(f"no price history for {', '.join(unknown)} (have: {', '.join(sorted(series))})")
    currencies = {series[t].currency for t in tickers}
    if len(currencies) != 1:
        raise PanelError(f"tickers mix currencies {sorted(currencies)}; there is no FX series to convert "
                         "them: backtest KRW and USD instruments separately")
    lo, hi = start or dt.date.min, end or dt.date.max
    dates = sorted({b.date for t in tickers for b in series[t].bars if lo <= b.date <= hi})
    if not dates:
        raise PanelError(f"no sessions between {start} and {end} for {', '.join(tickers)}")
    row = {d: i for i, d in enumerate(dates)}
    shape = (len(dates), len(tickers))
    ohlc = np.zeros((4, *shape), dtype=np.int64)
    volume = np.zeros(shape, dtype=np.int64)
    present = np.zeros(shape, dtype=bool)
    for j, ticker in enumerate(tickers):
        for bar in series[ticker].bars:
            i = row.get(bar.date)
            if i is not None:
                ohlc[:, i, j] = _scaled(bar)
                volume[i, j] = bar.volume
                present[i, j] = True
    kinds = kinds or {}
    return PricePanel(tuple(dates), tickers, currencies.pop(), ohlc[0], ohlc[1], ohlc[2], ohlc[3], volume, present,
                      tuple(kinds.get(t, InstrumentKind.ETF) for t in tickers),
                      tuple(series[t].name for t in tickers))


def load_csv_panel(directory: str | Path, tickers: Sequence[str], *, start: dt.date | None = None,
                   end: dt.date | None = None, warmup_sessions: int = 0) -> PricePanel:
    """Read a price folder in place (e.g. ``../shared/data/prices``) and build a panel.

    ``warmup_sessions`` of history before ``start`` are kept so indicators are complete on day one.
    """
    directory = Path(directory)
    wanted = set(tickers)
    series = {}
    for path in sorted(directory.glob("*.csv")):
        stem_ticker = path.stem.split("_", 1)[-1]
        if stem_ticker in wanted:  # KRX_069500.csv / US_SPY.csv: skip unrelated files quickly
            one = read_price_csv(path)
            series[one.ticker] = one
    if set(series) != wanted:
        series = {**read_price_dir(directory), **series}
    first = start
    if start is not None and warmup_sessions:
        days = sorted({b.date for t in tickers if t in series for b in series[t].bars if b.date < start})
        first = days[-warmup_sessions] if len(days) >= warmup_sessions else (days[0] if days else start)
    return panel_from_series(series, tickers, start=first, end=end)


# --- KIS daily bars with a local cache --------------------------------------------------------

KRX_HEADER = "date,open,high,low,close,volume,ticker,code,name,interval"


def _write_cache(path: Path, ticker: str, bars: Iterable[DailyBar], covered: tuple[dt.date, dt.date]) -> None:
    lines = [KRX_HEADER] + [f"{b.date:%Y%m%d},{b.open},{b.high},{b.low},{b.close},{b.volume},{ticker},{ticker},,D"
                            for b in bars]
    write_private_text(path, "\n".join(lines) + "\n")
    write_private_text(path.with_suffix(".json"),
                       json.dumps({"start": covered[0].isoformat(), "end": covered[1].isoformat()}))


def _read_cache(path: Path) -> tuple[dict[dt.date, DailyBar], tuple[dt.date, dt.date] | None]:
    try:
        meta = json.loads(path.with_suffix(".json").read_text())
        covered = (dt.date.fromisoformat(meta["start"]), dt.date.fromisoformat(meta["end"]))
        bars = {b.date: b for b in read_price_csv(path).krw_bars()} if path.stat().st_size > len(KRX_HEADER) + 1 \
            else {}
        return bars, covered
    except (OSError, ValueError, KeyError):
        return {}, None  # no cache, or a damaged one: fetch again


async def fetch_kis_bars(client: object, tickers: Sequence[str], start: dt.date, end: dt.date,
                         cache_dir: str | Path) -> dict[str, PriceSeries]:
    """Daily bars from ``client.daily_bars`` (a ``tools.kis.KisClient``), fetching only what the cache lacks.

    The cache is one KRX-layout CSV per ticker plus a ``.json`` of the covered date range, so a
    ticker listed after ``start`` is not asked for its missing early years again.
    """
    cache = private_dir(cache_dir)
    out: dict[str, PriceSeries] = {}
    for ticker in tickers:
        path = cache / f"KRX_{ticker}.csv"
        bars, covered = _read_cache(path)
        gaps = [(start, end)] if covered is None else [
            (a, b) for a, b in ((start, covered[0] - dt.timedelta(days=1)), (covered[1] + dt.timedelta(days=1), end))
            if a <= b]
        for gap_start, gap_end in gaps:
            for bar in await client.daily_bars(ticker, gap_start, gap_end):  # type: ignore[attr-defined]
                bars[bar.date] = bar
        span = (min(start, covered[0]), max(end, covered[1])) if covered else (start, end)
        if gaps:
            _write_cache(path, ticker, (bars[d] for d in sorted(bars)), span)
        chosen = tuple(bars[d] for d in sorted(bars) if start <= d <= end)
        if chosen:
            out[ticker] = PriceSeries(ticker, ticker, "KRW", chosen, path)
    return out
