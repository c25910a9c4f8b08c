"""Synthetic price panels for the backtest tests (exact, hand-checkable numbers)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np

from tools.backtest.data import PricePanel
from tools.backtest.fills import FillModel
from tools.market import InstrumentKind
from tools.money import MoneyRules
from tools.netting import NettingOptions

FREE = {k: 0.0 for k in InstrumentKind}


def business_days(n: int, start: dt.date = dt.date(2020, 1, 1)) -> tuple[dt.date, ...]:
    days, day = [], start
    while len(days) < n:
        if day.weekday() < 5:
            days.append(day)
        day += dt.timedelta(days=1)
    return tuple(days)


def make_panel(closes: dict[str, Sequence[int]], *, opens: dict[str, Sequence[int]] | None = None,
               volume: int = 10**9, volumes: dict[str, Sequence[int]] | None = None,
               start: dt.date = dt.date(2020, 1, 1), currency: str = "KRW") -> PricePanel:
    tickers = tuple(closes)
    close = np.column_stack([np.asarray(closes[t], dtype=np.int64) for t in tickers])
    open_ = close if opens is None else np.column_stack([np.asarray(opens.get(t, closes[t]), dtype=np.int64)
                                                         for t in tickers])
    high, low = np.maximum(open_, close), np.minimum(open_, close)
    vol = np.full(close.shape, volume, dtype=np.int64)
    if volumes:
        for j, t in enumerate(tickers):
            if t in volumes:
                vol[:, j] = volumes[t]
    return PricePanel(business_days(len(close), start), tickers, currency, open_, high, low, close, vol,
                      np.ones(close.shape, dtype=bool), tuple(InstrumentKind.ETF for _ in tickers), tickers)


# bt-like frictionless settings: fill at the decision close, no spread, no volume cap, no costs.
FRICTIONLESS_FILL = FillModel(timing="same_close", min_half_tick=False, participation=None, carry_days=0,
                              respect_price_limits=False)
FRICTIONLESS_NETTING = NettingOptions(money=MoneyRules(commission_rates=FREE, margin=0, cash_buffer=0),
                                      min_trade_value=0)
