"""What a backtest produces: the daily ledger, fills, and each rebalance with its trigger reason."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from tools.backtest.fills import Fill


@dataclass(frozen=True, slots=True)
class RebalanceEvent:
    date: dt.date  # session the orders were placed for (filled that session or later)
    decision_date: dt.date  # session whose close the decision used
    kind: str  # initial | strategy | policy | contribution | withdrawal
    reasons: tuple[str, ...]
    trades: int
    planned_turnover: int  # Σ netting notionals at the reference prices
    solver: str = ""


@dataclass
class BacktestResult:
    label: str
    dates: tuple[dt.date, ...]  # the simulated sessions
    tickers: tuple[str, ...]
    currency: str
    unit: int  # integer money units per currency unit (100 for USD cents)
    equity: np.ndarray  # int64 at each close: cash + Σ shares × close
    cash: np.ndarray  # int64
    shares: np.ndarray  # int64 (sessions × tickers)
    prices: np.ndarray  # int64 valuation closes (sessions × tickers)
    flows: np.ndarray  # int64 external flows booked each session (+ in, − out)
    initial_capital: int
    first_index: int = 0  # panel index of dates[0]; fills carry panel indices
    fills: list[Fill] = field(default_factory=list)
    events: list[RebalanceEvent] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # decisions that could not be carried out, and why

    @property
    def final_value(self) -> int:
        return int(self.equity[-1])

    @property
    def commission(self) -> int:
        return sum(f.commission for f in self.fills)

    @property
    def tax(self) -> int:
        return sum(f.tax for f in self.fills)

    @property
    def slippage(self) -> float:
        return sum(f.slippage for f in self.fills)

    @property
    def traded_notional(self) -> int:
        return sum(f.notional for f in self.fills)

    def fill_date(self, panel_index: int) -> dt.date:
        return self.dates[panel_index - self.first_index]

    def holdings_value(self) -> np.ndarray:
        return self.shares * self.prices

    def weights(self) -> np.ndarray:
        """Instrument weights in equity per session (cash is 1 − row sum)."""
        equity = np.where(self.equity > 0, self.equity, 1)
        return self.holdings_value() / equity[:, None]
