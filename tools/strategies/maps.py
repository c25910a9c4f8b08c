"""5-bucket MAPS: buckets of candidate ETFs, a trend-and-momentum score, and a daily state machine.

Score (points) = ma·(close/MA − 1)·100 + week1·r5·100 + week2·r10·100 + week3·r15·100
+ up_days·min(consecutive up closes, cap), with MA the ``MA_MONTHS`` × 21-session average and
r_k the k-session return; weights in ``[maps.score]``. Each bucket holds its top-N ETFs at
``bucket weight / N`` each; an empty slot stays in cash. States and cooldowns: ``maps_state``.
"""

from __future__ import annotations

import numpy as np

from tools.strategies.base import ClosePanel, State, TargetChange, TargetPlan
from tools.strategies.indicators import consecutive_up_days, period_return, rsi, sma
from tools.strategies.maps_state import MapsMemory, Signals, step
from tools.strategies.params import MapsParams


def maps_scores(closes: np.ndarray, params: MapsParams) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(score, moving average, RSI points) for every session and column of ``closes``."""
    w = params.score
    ma = sma(closes, params.ma_sessions)
    with np.errstate(invalid="ignore", divide="ignore"):
        score = (w.ma * (closes / ma - 1) * 100
                 + w.week1 * period_return(closes, 5) * 100
                 + w.week2 * period_return(closes, 10) * 100
                 + w.week3 * period_return(closes, 15) * 100
                 + w.up_days * np.minimum(consecutive_up_days(closes), w.up_days_cap))
    return score, ma, rsi(closes, params.RSI_DAYS) * 100


def is_rebalance_session(panel: ClosePanel, index: int, first_index: int, mode: str) -> bool:
    """DAILY: every session; MONTHLY / QUARTERLY: the first session of a month / quarter (and the first one)."""
    if mode == "DAILY" or index == first_index:
        return True
    today, before = panel.dates[index], panel.dates[index - 1]
    if today.month == before.month:
        return False
    return mode == "MONTHLY" or today.month in (1, 4, 7, 10)


def warmup_sessions(params: MapsParams) -> int:
    """Sessions of history needed before the first complete score."""
    return max(params.ma_sessions, params.RSI_DAYS + 1, 16)


def maps_plan(panel: ClosePanel, params: MapsParams, *, first_index: int = 0,
              last_index: int | None = None) -> TargetPlan:
    """Run the state machine from ``first_index`` to ``last_index``; a change wherever holdings change."""
    last = len(panel.dates) - 1 if last_index is None else last_index
    tickers = [t for b in params.buckets for t in b.candidates]
    missing = [t for t in tickers if t not in panel.tickers]
    if missing:
        raise ValueError(f"no price history for MAPS candidate(s) {', '.join(missing)}")
    columns = [panel.column(t) for t in tickers]
    closes = panel.closes[:last + 1, columns]
    score, ma, rsi_points = maps_scores(closes, params)
    slot = {t: b.weight / (b.top_n or params.TOP_N) for b in params.buckets for t in b.candidates}
    memory = MapsMemory()
    plan = TargetPlan()
    for index in range(first_index, last + 1):
        signals = {t: Signals(float(closes[index, k]), float(ma[index, k]), float(score[index, k]),
                              float(rsi_points[index, k])) for k, t in enumerate(tickers)}
        before = set(memory.held)
        rebalance_day = is_rebalance_session(panel, index, first_index, params.REBALANCE_MODE)
        states = step(memory, signals, index, rebalance_day, params)
        plan.states = states
        actions = [s for s in states if s.state not in (State.WAIT, State.HOLD)]
        if actions:
            plan.state_log[index] = actions
        if set(memory.held) != before or index == first_index:
            weights = {t: slot[t] for t in tickers if t in memory.held}
            reason = "; ".join(f"{s.state.value} {s.ticker}: {s.reason}" for s in actions) or "MAPS start: nothing eligible"
            plan.changes.append(TargetChange(index, weights, True, f"MAPS: {reason}"))
    return plan
