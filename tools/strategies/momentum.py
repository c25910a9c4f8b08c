"""Momentum score weights: score = mean(RSI(n), n-session stochastic), weights ∝ score.

Rules, chosen so every case has a stated outcome:

* Only tickers in the universe mask take part; others get weight 0 ("not in universe").
* A NaN score (a missing close inside the window, or too little history) means weight 0 for
  that rebalance ("missing data"), never a stale or guessed score.
* Flat prices score 0.5 (both parts neutral, see ``indicators``), so they stay investable.
* If no ticker has a positive score, the whole account goes to cash.
* Rebalanced every ``rebalance_every`` sessions, counted from the first decision bar.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tools.strategies.base import ClosePanel, State, StrategyState, TargetChange, TargetPlan
from tools.strategies.indicators import momentum_score
from tools.strategies.params import MomentumParams


def momentum_weights(scores: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Weights ∝ score over the masked tickers with a finite positive score; all 0 if none."""
    usable = mask & np.isfinite(scores) & (scores > 0)
    weights = np.where(usable, np.nan_to_num(scores), 0.0)
    total = weights.sum()
    return weights / total if total > 0 else weights


def _states(panel: ClosePanel, scores: np.ndarray, mask: np.ndarray, weights: np.ndarray,
            previous: np.ndarray | None, lookback: int) -> list[StrategyState]:
    states = []
    for j, ticker in enumerate(panel.tickers):
        score = float(scores[j]) if np.isfinite(scores[j]) else None
        if not mask[j]:
            states.append(StrategyState(ticker, State.WAIT, "not in the universe", score))
        elif score is None:
            states.append(StrategyState(ticker, State.WAIT, f"missing data in the last {lookback + 1} sessions"))
        elif weights[j] <= 0:
            states.append(StrategyState(ticker, State.WAIT, f"score {score:.3f}: nothing to allocate", score))
        else:
            held = previous is not None and previous[j] > 0
            states.append(StrategyState(ticker, State.HOLD if held else State.BUY,
                                        f"score {score:.3f} → weight {weights[j]:.1%}", score))
    return states


def momentum_plan(panel: ClosePanel, params: MomentumParams, *, first_index: int = 0,
                  last_index: int | None = None) -> TargetPlan:
    """Targets at ``first_index`` and every ``rebalance_every`` sessions after, up to ``last_index``."""
    last = len(panel.dates) - 1 if last_index is None else last_index
    mask = np.array([t in params.universe for t in panel.tickers])
    scores = momentum_score(panel.closes[:last + 1], params.lookback)
    plan = TargetPlan()
    previous: np.ndarray | None = None
    for index in range(first_index, last + 1, params.rebalance_every):
        weights = momentum_weights(scores[index], mask)
        chosen = {t: float(w) for t, w in zip(panel.tickers, weights, strict=True) if w > 0}
        reason = (f"momentum rebalance (every {params.rebalance_every} sessions): "
                  + (", ".join(f"{t} {w:.1%}" for t, w in chosen.items()) or "no positive score: all cash"))
        plan.changes.append(TargetChange(index, chosen, True, reason))
        plan.states = _states(panel, scores[index], mask, weights, previous, params.lookback)
        previous = weights
    return plan


def universe_mask(tickers: Sequence[str], universe: Sequence[str]) -> np.ndarray:
    return np.array([t in set(universe) for t in tickers])
