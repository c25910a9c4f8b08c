"""Price indicators over a panel of closes (rows = sessions, columns = tickers), vectorised.

Conventions, so every caller (strategies, tests, ``rebal status``) reads the numbers alike:

* Row ``t`` of every result uses closes up to and including row ``t`` only (no look-ahead).
* A window that reaches before the first row, or holds a NaN close (a missing bar), gives NaN:
  missing data is never papered over; the strategies decide what a NaN means.
* Flat prices are defined, not NaN: RSI with no moves and a stochastic with max = min are 0.5
  (neutral), so a flat instrument neither scores best nor is dropped as missing.
* RSI here is a fraction in [0, 1] (sum of up-moves / sum of absolute moves over ``n`` moves,
  i.e. ``n + 1`` closes); multiply by 100 for the usual RSI points.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

NEUTRAL = 0.5


def _as_2d(closes: np.ndarray) -> np.ndarray:
    array = np.asarray(closes, dtype=float)
    return array.reshape(-1, 1) if array.ndim == 1 else array


def _shape_like(result: np.ndarray, closes: np.ndarray) -> np.ndarray:
    return result.ravel() if np.asarray(closes).ndim == 1 else result


def _windows(values: np.ndarray, n: int) -> np.ndarray:
    """(rows, cols, n) windows ending at each row; rows before the first full window are NaN."""
    padded = np.vstack([np.full((n - 1, values.shape[1]), np.nan), values]) if n > 1 else values
    return sliding_window_view(padded, n, axis=0)


def rsi(closes: np.ndarray, n: int) -> np.ndarray:
    """Σ up-moves / Σ |moves| over the last ``n`` moves; 0.5 when the window is flat."""
    if n < 1:
        raise ValueError("RSI window must be at least 1")
    values = _as_2d(closes)
    moves = np.vstack([np.full((1, values.shape[1]), np.nan), np.diff(values, axis=0)])
    windows = _windows(moves, n)
    with np.errstate(invalid="ignore"):
        up = np.clip(windows, 0, None).sum(axis=2)
        total = np.abs(windows).sum(axis=2)
        result = np.where(total > 0, up / np.where(total > 0, total, 1.0), NEUTRAL)
    result[np.isnan(total)] = np.nan
    return _shape_like(result, closes)


def stochastic(closes: np.ndarray, n: int) -> np.ndarray:
    """(close − min) / (max − min) over the last ``n`` closes; 0.5 when max = min."""
    if n < 1:
        raise ValueError("stochastic window must be at least 1")
    values = _as_2d(closes)
    windows = _windows(values, n)
    low, high = windows.min(axis=2), windows.max(axis=2)  # NaN propagates from any missing close
    span = high - low
    with np.errstate(invalid="ignore", divide="ignore"):
        result = np.where(span > 0, (values - low) / np.where(span > 0, span, 1.0), NEUTRAL)
    result[np.isnan(span)] = np.nan
    return _shape_like(result, closes)


def momentum_score(closes: np.ndarray, n: int = 10) -> np.ndarray:
    """Mean of RSI(n) and the n-session stochastic, in [0, 1]; NaN where either is missing."""
    return (rsi(closes, n) + stochastic(closes, n)) / 2


def sma(closes: np.ndarray, n: int) -> np.ndarray:
    """Simple moving average of the last ``n`` closes."""
    if n < 1:
        raise ValueError("moving-average window must be at least 1")
    values = _as_2d(closes)
    return _shape_like(_windows(values, n).mean(axis=2), closes)


def period_return(closes: np.ndarray, k: int) -> np.ndarray:
    """close_t / close_{t−k} − 1."""
    values = _as_2d(closes)
    result = np.full(values.shape, np.nan)
    if k < len(values):
        result[k:] = values[k:] / values[:-k] - 1 if k > 0 else 0.0
    return _shape_like(result, closes)


def consecutive_up_days(closes: np.ndarray) -> np.ndarray:
    """Number of consecutive sessions, ending at t, whose close rose over the previous close."""
    values = _as_2d(closes)
    result = np.zeros(values.shape)
    for t in range(1, len(values)):  # a scan: each row depends on the previous one
        rose = values[t] > values[t - 1]
        result[t] = np.where(rose, result[t - 1] + 1, 0)
    result[np.isnan(values)] = np.nan
    return _shape_like(result, closes)
