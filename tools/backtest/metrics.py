"""Performance figures of a backtest, with external cash flows kept out of the returns.

Time-weighted return: a flow booked on session t is cash until that session's fills (and a
withdrawal is paid after them), so it earns nothing on day t; the session's return is therefore
``(E_t − F_t) / E_{t−1} − 1`` (0 while the account is empty). Chaining these gives an index that
new money can neither dilute nor inflate. CAGR, volatility, Sharpe and drawdown are computed on that index; turnover is the
traded notional over the average equity, per year.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from tools.backtest.result import BacktestResult

TRADING_DAYS = 252


def daily_returns(result: BacktestResult) -> np.ndarray:
    """Session returns with flows excluded; the first uses the initial capital as the prior value."""
    before = np.concatenate([[result.initial_capital], result.equity[:-1]]).astype(float)
    after = (result.equity - result.flows).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(before > 0, after / np.where(before > 0, before, 1.0) - 1, 0.0)


def twr_index(result: BacktestResult) -> np.ndarray:
    """Growth of 1 under the time-weighted return."""
    return np.cumprod(1 + daily_returns(result))


def drawdown(index: np.ndarray) -> np.ndarray:
    return index / np.maximum.accumulate(index) - 1


@dataclass(frozen=True)
class Metrics:
    start: str
    end: str
    years: float
    final_value: int
    net_flows: int
    twr: float  # total time-weighted return
    cagr: float
    volatility: float
    sharpe: float
    max_drawdown: float
    turnover: float  # per year, traded notional / average equity
    commission: int
    tax: int
    slippage: int
    rebalances: int

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def compute_metrics(result: BacktestResult, *, risk_free: float = 0.0) -> Metrics:
    returns = daily_returns(result)
    index = np.cumprod(1 + returns)
    years = max((result.dates[-1] - result.dates[0]).days / 365.25, 1 / TRADING_DAYS)
    total = float(index[-1] - 1)
    cagr = float(index[-1] ** (1 / years) - 1) if index[-1] > 0 else -1.0
    vol = float(returns.std(ddof=1) * math.sqrt(TRADING_DAYS)) if len(returns) > 1 else 0.0
    sharpe = (float(returns.mean()) * TRADING_DAYS - risk_free) / vol if vol > 0 else 0.0
    mean_equity = float(result.equity.mean()) or 1.0
    return Metrics(
        start=result.dates[0].isoformat(), end=result.dates[-1].isoformat(), years=years,
        final_value=result.final_value, net_flows=int(result.flows.sum()), twr=total, cagr=cagr, volatility=vol,
        sharpe=sharpe, max_drawdown=float(drawdown(index).min()),
        turnover=result.traded_notional / mean_equity / years, commission=result.commission, tax=result.tax,
        slippage=round(result.slippage), rebalances=len(result.events))
