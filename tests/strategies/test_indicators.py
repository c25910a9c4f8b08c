"""Indicators against hand-computed values, with flat prices and missing data."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tools.strategies.indicators import (
    consecutive_up_days,
    momentum_score,
    period_return,
    rsi,
    sma,
    stochastic,
)
from tools.strategies.momentum import momentum_weights

CLOSES = np.array([10.0, 11.0, 10.5, 10.5, 12.0])


def test_rsi_is_up_moves_over_absolute_moves() -> None:
    values = rsi(CLOSES, 4)
    assert np.isnan(values[:4]).all()  # 4 moves need 5 closes
    # moves +1, −0.5, 0, +1.5: up 2.5 of 3.0
    assert values[4] == pytest.approx(2.5 / 3.0)
    assert rsi(CLOSES, 2)[4] == pytest.approx(1.5 / 1.5)
    assert rsi(CLOSES, 2)[3] == pytest.approx(0.0 / 0.5)


def test_stochastic_is_position_in_the_range() -> None:
    values = stochastic(CLOSES, 4)
    assert np.isnan(values[:3]).all()
    assert values[3] == pytest.approx((10.5 - 10) / (11 - 10))
    assert values[4] == pytest.approx(1.0)


def test_flat_prices_are_neutral_not_missing() -> None:
    flat = np.full(6, 5.0)
    assert rsi(flat, 4)[-1] == 0.5
    assert stochastic(flat, 4)[-1] == 0.5
    assert momentum_score(flat, 4)[-1] == 0.5


def test_missing_close_inside_the_window_gives_nan() -> None:
    gappy = np.array([10.0, 11.0, math.nan, 10.5, 12.0, 12.5, 13.0])
    assert np.isnan(rsi(gappy, 3)[4])  # window holds the gap
    assert not np.isnan(rsi(gappy, 3)[6])  # moves 3→4, 4→5, 5→6 are complete
    assert np.isnan(stochastic(gappy, 3)[3])
    assert stochastic(gappy, 3)[5] == pytest.approx(1.0)


def test_momentum_score_is_the_mean_and_works_per_column() -> None:
    panel = np.column_stack([CLOSES, CLOSES[::-1]])
    score = momentum_score(panel, 4)
    assert score.shape == (5, 2)
    assert score[4, 0] == pytest.approx((2.5 / 3.0 + 1.0) / 2)
    # reversed 12, 10.5, 10.5, 11, 10: moves −1.5, 0, +0.5, −1 → up 0.5 of 3; close 10 is the low → 0
    assert score[4, 1] == pytest.approx((0.5 / 3.0 + 0.0) / 2)


def test_moving_average_returns_and_up_days() -> None:
    assert sma(CLOSES, 2)[4] == pytest.approx(11.25)
    assert np.isnan(sma(CLOSES, 2)[0])
    assert period_return(CLOSES, 2)[4] == pytest.approx(12 / 10.5 - 1)
    assert list(consecutive_up_days(np.array([1.0, 2, 3, 3, 4, 5, 6, 5]))) == [0, 1, 2, 0, 1, 2, 3, 0]


def test_weights_are_proportional_to_score_within_the_mask() -> None:
    scores = np.array([0.6, 0.2, math.nan, 0.9, 0.0])
    mask = np.array([True, True, True, False, True])
    weights = momentum_weights(scores, mask)
    assert weights == pytest.approx([0.75, 0.25, 0.0, 0.0, 0.0])
    assert momentum_weights(np.array([math.nan, 0.0]), np.array([True, True])).sum() == 0  # all cash
