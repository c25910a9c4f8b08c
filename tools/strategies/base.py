"""Shared shapes of the strategies: a panel of closes, per-ticker states, and a plan of target changes.

Strategies see only closes (a float matrix, NaN where a ticker has no bar) so the same code serves
the backtester (a :class:`tools.backtest.data.PricePanel`) and the live run (bars from KIS). A
strategy's output is a :class:`TargetPlan`: the bar indices at which its targets change, each
computed from closes up to and including that bar (never later ones), with the reason.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from tools.prices import DailyBar, UsdDailyBar
from tools.targets.models import Targets

# Weights in a plan: core ``Targets`` (validated, KRX tickers) or ``{ticker: fraction}`` whose
# remainder to 1 is cash (any ticker text, e.g. US symbols in a backtest).
PlanTargets = Targets | Mapping[str, float]


class State(StrEnum):
    WAIT = "WAIT"
    BUY = "BUY"
    HOLD = "HOLD"
    SELL_TREND = "SELL_TREND"
    SELL_RSI = "SELL_RSI"
    CUT_STOPLOSS = "CUT_STOPLOSS"
    BUY_REPLACE = "BUY_REPLACE"
    SELL_REPLACE = "SELL_REPLACE"

    @property
    def holds_after(self) -> bool:
        """Whether the ticker is in the portfolio after this state's action."""
        return self in (State.BUY, State.HOLD, State.BUY_REPLACE)


@dataclass(frozen=True, slots=True)
class StrategyState:
    """What a strategy thinks of one ticker on one day, and why (shown by ``rebal status``)."""

    ticker: str
    state: State
    reason: str
    score: float | None = None
    bucket: str | None = None


@dataclass(frozen=True, slots=True)
class TargetChange:
    """Targets in force from bar ``index`` on (decided with closes up to that bar)."""

    index: int
    targets: PlanTargets
    rebalance: bool  # the strategy asks to trade now (not just a quiet change of weights)
    reason: str


@dataclass(slots=True)
class TargetPlan:
    changes: list[TargetChange] = field(default_factory=list)
    states: list[StrategyState] = field(default_factory=list)  # as of the last bar evaluated
    state_log: dict[int, list[StrategyState]] = field(default_factory=dict)  # non-trivial states by bar

    def targets_at(self, index: int) -> PlanTargets | None:
        current = None
        for change in self.changes:
            if change.index > index:
                break
            current = change.targets
        return current


@dataclass(frozen=True)
class ClosePanel:
    """Closes of several tickers on a common list of sessions (NaN where a ticker has no bar)."""

    dates: tuple[dt.date, ...]
    tickers: tuple[str, ...]
    closes: np.ndarray  # float64, shape (len(dates), len(tickers))

    def __post_init__(self) -> None:
        if self.closes.shape != (len(self.dates), len(self.tickers)):
            raise ValueError(f"closes shape {self.closes.shape} does not match "
                             f"{len(self.dates)} dates × {len(self.tickers)} tickers")
        if any(b <= a for a, b in zip(self.dates, self.dates[1:], strict=False)):
            raise ValueError("panel dates must be strictly ascending")

    def column(self, ticker: str) -> int:
        return self.tickers.index(ticker)

    def upto(self, index: int) -> ClosePanel:
        """The panel cut after bar ``index`` (for look-ahead checks and live use)."""
        return ClosePanel(self.dates[:index + 1], self.tickers, self.closes[:index + 1])

    def index_of(self, day: dt.date) -> int:
        """Index of the last session on or before ``day``; ValueError when there is none."""
        position = int(np.searchsorted(np.array(self.dates, dtype="datetime64[D]"),
                                       np.datetime64(day, "D"), side="right")) - 1
        if position < 0:
            raise ValueError(f"no session on or before {day}")
        return position


def panel_from_bars(bars: Mapping[str, Sequence[DailyBar | UsdDailyBar]]) -> ClosePanel:
    """A close panel from per-ticker bars (adj_close for USD bars: total-return closes)."""
    dates = sorted({bar.date for series in bars.values() for bar in series})
    row = {day: i for i, day in enumerate(dates)}
    tickers = tuple(bars)
    closes = np.full((len(dates), len(tickers)), np.nan)
    for j, ticker in enumerate(tickers):
        for bar in bars[ticker]:
            closes[row[bar.date], j] = bar.adj_close if isinstance(bar, UsdDailyBar) else bar.close
    return ClosePanel(tuple(dates), tickers, closes)
