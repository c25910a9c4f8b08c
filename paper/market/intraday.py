"""One day's intraday price path, volume profile and order book, synthesised from its daily bar.

Model (KST, times from ``KrxCalendar.session_bounds``):

* The opening call auction prints the bar's open at the open (09:00 normally) with ~3% of the
  day's volume.
* Continuous trading runs from the open to 10 minutes before the close. The price is a step
  function on a fixed grid (every 10 s): it starts at the open, passes through the bar's high and
  low at two random moments (random order) and ends at the close, with Brownian bridges between
  these anchors, reflected into [low, high] and rounded to the tick grid. Volume (~89%) follows a
  U-shaped intraday profile with seeded noise.
* The closing call auction prints the close at the close (15:30 normally) with ~8% of the volume.

Every print is an *event* at a grid time; queries look at events at or before a moment. Moments
before the open are clamped to it (price = open, nothing traded yet), moments after the close
see the whole day. Bars from adjusted price files can lie off the tick grid: then the path still
hits their exact open/high/low/close, but the points in between are on the grid.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from paper.market import seeds
from paper.market.grid import IntArray, round_nearest
from tools.market import CLOSING_AUCTION_LENGTH, InstrumentKind, price_limits, round_to_tick, shift_ticks
from tools.prices import DailyBar

GRID_STEP = dt.timedelta(seconds=10)
OPENING_AUCTION_SHARE = 0.03
CLOSING_AUCTION_SHARE = 0.08
U_SHAPE_DEPTH = 3.0  # the first and last minutes trade (1 + depth)× the midday rate
BRIDGE_SCALE = 0.6  # bridge step noise, relative to the day's range per sqrt(grid steps)
BOOK_TOP_SHARE = 0.005  # best level ≈ 0.5% of the day's volume
BOOK_LEVEL_GROWTH = 0.2  # each level further out holds 20% more

Quote = tuple[int, int]  # (price, quantity)


class HighLow(NamedTuple):
    """The day's extremes so far. Note the order: high first, as the name says."""

    high: int
    low: int


class PriceRange(NamedTuple):
    """Lowest and highest print in an interval: low first, like a range."""

    low: int
    high: int


@dataclass(frozen=True, eq=False)
class IntradayPath:
    ticker: str
    kind: InstrumentKind
    bar: DailyBar
    base_price: int  # 기준가: the previous close, for the day's price limits
    open_time: dt.datetime
    continuous_end: dt.datetime
    close_time: dt.datetime
    opening_volume: int
    closing_volume: int
    # Events: index 0 the opening print, 1..N continuous grid steps, N+1 the closing print.
    event_seconds: np.ndarray  # float seconds after open_time, ascending
    event_prices: IntArray
    event_cum_volume: IntArray  # volume traded up to and including each event
    _running_high: IntArray
    _running_low: IntArray
    _book_seed: tuple[int, str, int]

    @classmethod
    def build(cls, ticker: str, kind: InstrumentKind, bar: DailyBar, base_price: int,
              bounds: tuple[dt.datetime, dt.datetime], seed: int) -> IntradayPath:
        """The path for ``bar``, reproducible from (seed, ticker, bar.date)."""
        open_time, close_time = bounds
        continuous_end = max(close_time - CLOSING_AUCTION_LENGTH, open_time + 3 * GRID_STEP)
        steps = int((continuous_end - open_time) / GRID_STEP)
        rng = seeds.rng(seed, ticker, seeds.INTRADAY_PATH, bar.date.toordinal())
        prices = _bridge_path(bar, kind, steps, rng)
        opening = round(bar.volume * OPENING_AUCTION_SHARE)
        closing = round(bar.volume * CLOSING_AUCTION_SHARE)
        continuous = _u_shaped_volumes(bar.volume - opening - closing, steps, rng)

        seconds = np.concatenate([np.arange(steps + 1) * GRID_STEP.total_seconds(),
                                  [(close_time - open_time).total_seconds()]])
        event_prices = np.concatenate([prices, [bar.close]]).astype(np.int64)
        event_volumes = np.concatenate([[opening], continuous, [closing]]).astype(np.int64)
        arrays = [seconds, event_prices, np.cumsum(event_volumes),
                  np.maximum.accumulate(event_prices), np.minimum.accumulate(event_prices)]
        for array in arrays:
            array.flags.writeable = False
        return cls(ticker, kind, bar, base_price, open_time, continuous_end, close_time, opening, closing,
                   *arrays, (seed, ticker, bar.date.toordinal()))

    # --- queries --------------------------------------------------------------------------------

    @property
    def limits(self) -> tuple[int, int]:
        """(lower, upper) price limits of the day."""
        return price_limits(self.base_price, self.kind)

    @property
    def grid_prices(self) -> IntArray:
        """The continuous-session prices at open + i × GRID_STEP, i = 0..N (read-only)."""
        return self.event_prices[:-1]

    def last_price(self, moment: dt.datetime) -> int:
        return int(self.event_prices[max(self._last_event(moment), 0)])

    def high_low(self, moment: dt.datetime) -> HighLow:
        """(high, low) of the day so far; (open, open) before the open."""
        k = max(self._last_event(moment), 0)
        return HighLow(int(self._running_high[k]), int(self._running_low[k]))

    def range_between(self, start: dt.datetime, end: dt.datetime) -> PriceRange:
        """(low, high) of the prints in (start, end]; without a print, the prevailing price twice."""
        first, last = self._last_event(start) + 1, self._last_event(end)
        if last < first:
            price = self.last_price(end)
            return PriceRange(price, price)
        window = self.event_prices[first:last + 1]
        return PriceRange(int(window.min()), int(window.max()))

    def cum_volume(self, moment: dt.datetime) -> int:
        """Shares traded up to and including ``moment`` (0 before the opening print)."""
        k = self._last_event(moment)
        return int(self.event_cum_volume[k]) if k >= 0 else 0

    def volume_between(self, start: dt.datetime, end: dt.datetime) -> int:
        """Shares traded in (start, end]."""
        return max(self.cum_volume(end) - self.cum_volume(start), 0)

    def book(self, moment: dt.datetime, levels: int = 10) -> tuple[list[Quote], list[Quote]]:
        """(bids, asks), best first, one tick wide around the price, inside the day's limits.

        Depth scales with the day's volume and is seeded by the grid step, so the book is stable
        within one step and reproducible. A day without volume has an empty book.
        """
        if self.bar.volume <= 0 or levels <= 0:
            return [], []
        lower, upper = self.limits
        best_bid = round_to_tick(self.last_price(moment), self.kind)
        best_ask = shift_ticks(best_bid, 1, self.kind)
        # Starting points pulled inside the limits so a (bad) print outside them still shows a book.
        bid_prices = _ladder(min(best_bid, upper), -1, levels, self.kind, lower, upper)
        ask_prices = _ladder(max(best_ask, lower), 1, levels, self.kind, lower, upper)
        seed, ticker, ordinal = self._book_seed
        step = max(self._last_event(moment), 0)
        noise = seeds.rng(seed, ticker, seeds.INTRADAY_BOOK, ordinal, step).lognormal(0.0, 0.35, (2, levels))
        growth = 1 + BOOK_LEVEL_GROWTH * np.arange(levels)
        depth = np.maximum(np.rint(self.bar.volume * BOOK_TOP_SHARE * growth * noise), 1).astype(np.int64)
        bids = [(p, int(q)) for p, q in zip(bid_prices, depth[0], strict=False)]
        asks = [(p, int(q)) for p, q in zip(ask_prices, depth[1], strict=False)]
        return bids, asks

    def _last_event(self, moment: dt.datetime) -> int:
        """Index of the last event at or before ``moment``; -1 before the opening print."""
        if moment.tzinfo is None:
            raise ValueError(f"moment {moment} must be timezone-aware")
        seconds = (moment - self.open_time).total_seconds()
        return int(np.searchsorted(self.event_seconds, seconds, side="right")) - 1


def _bridge_path(bar: DailyBar, kind: InstrumentKind, steps: int, rng: np.random.Generator) -> IntArray:
    """Prices at grid points 0..steps: open → high/low (random order and times) → close."""
    first, second = np.sort(rng.choice(np.arange(1, steps), size=2, replace=False))
    extremes = (bar.high, bar.low) if rng.random() < 0.5 else (bar.low, bar.high)
    anchor_at = np.array([0, first, second, steps])
    anchor_value = np.array([bar.open, *extremes, bar.close], dtype=np.float64)
    grid = np.arange(steps + 1)
    step_noise = (bar.high - bar.low) * BRIDGE_SCALE / np.sqrt(steps)
    walk = np.concatenate([[0.0], np.cumsum(rng.standard_normal(steps) * step_noise)])
    # Pinning the walk at the anchors turns each segment into a Brownian bridge between anchor values.
    path = walk - np.interp(grid, anchor_at, walk[anchor_at]) + np.interp(grid, anchor_at, anchor_value)
    prices = np.clip(round_nearest(_fold_into(path, bar.low, bar.high), kind), bar.low, bar.high)
    prices[anchor_at] = anchor_value.astype(np.int64)
    return prices


def _fold_into(path: np.ndarray, low: float, high: float) -> np.ndarray:
    """Reflect the path at ``low`` and ``high`` (clipping instead would pin it flat at an extreme)."""
    width = high - low
    if width <= 0:
        return np.full_like(path, low)
    offset = np.mod(path - low, 2 * width)
    return low + np.where(offset > width, 2 * width - offset, offset)


def _u_shaped_volumes(total: int, steps: int, rng: np.random.Generator) -> IntArray:
    """``total`` shares over grid steps 1..steps, heavier near the open and the close; sums exactly."""
    middle = (np.arange(steps) + 0.5) / steps
    weights = (1 + U_SHAPE_DEPTH * (2 * middle - 1) ** 2) * rng.lognormal(0.0, 0.5, steps)
    cumulative = np.rint(np.cumsum(weights) / weights.sum() * max(total, 0)).astype(np.int64)
    cumulative[-1] = max(total, 0)
    return np.diff(cumulative, prepend=0)


def _ladder(best: int, direction: int, levels: int, kind: InstrumentKind, lower: int, upper: int) -> list[int]:
    """Up to ``levels`` grid prices from ``best`` outwards, stopping at the day's limits."""
    prices: list[int] = []
    price = best
    while len(prices) < levels and lower <= price <= upper:
        prices.append(price)
        following = shift_ticks(price, direction, kind)
        if following == price:  # the grid's floor
            break
        price = following
    return prices
