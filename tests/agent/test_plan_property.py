"""Approved means executed, for any plan at any moment: a property over the planner's choices.

Hypothesis draws a start moment on the exchange clock (early morning, the morning and mid-day,
14:50–15:20, the closing auction, after the close) and execution choices from the planner's
schema (order type 00–04, price rule, offset, slices, schedule; one for every trade, one per side,
or one per trade). The planner is replaced by one that answers with them, the guardrails judge the
plan, and an approved plan is executed headless on the embedded paper exchange, its clock frozen
at that moment (it moves only when the executor waits). Whatever the pair, never:

- sold and did not buy: sells filled while an approved buy was never sent, ran out of time, or was
  shrunk away although every sell filled (``support.plan_space.check`` says exactly what counts);
- exit 0 with the exchange's fills or holdings, share by share, off the approved trades;
- a refused plan with any order on the exchange;
- a report that differs from the exchange's order list.

Derandomized (fixed examples, no example database): the same pairs on every run.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.plan_space import (
    PRICE_RULES,
    SCHEDULES,
    WINDOWS,
    check,
    draw_pair,
    draw_pairs,
    explain,
    run_pair,
)

from agent.planner.models import ALL_PLAN_ORDER_TYPES
from tools.plan import DEFAULT_MAX_SLICES, MAX_OFFSET_TICKS

PAIRS = 40


@pytest.mark.slow
def test_every_plan_at_every_moment_is_done_in_full_or_refused_before_any_order():
    kinds: Counter = Counter()

    @settings(max_examples=PAIRS, derandomize=True, database=None, deadline=None, print_blob=False,
              suppress_health_check=[HealthCheck.too_slow])
    @given(st.randoms(use_true_random=False))
    def one_pair(rng):
        pair = draw_pair(rng)
        with tempfile.TemporaryDirectory() as home:
            out = run_pair(pair, Path(home))
        kinds[out.kind] += 1
        assert not check(out), explain(out)
        if out.refused:
            assert out.refused_by and out.orders == 0, explain(out)

    one_pair()
    # Not vacuous: some plans were refused and some carried out in full.
    assert kinds["refused"] and kinds["done"], kinds


def test_the_generator_covers_the_planners_choices_and_the_session():
    pairs = draw_pairs(seed=1, count=300)
    choices = [c for p in pairs for c in p.choices]
    assert {p.window for p in pairs} == {name for name, _, _ in WINDOWS}
    assert {p.mode for p in pairs} == {"uniform", "per_side", "per_trade"}
    assert {c.order_type for c in choices} == set(ALL_PLAN_ORDER_TYPES)
    assert {c.price_rule for c in choices} == {*PRICE_RULES, None}
    assert all((c.price_rule is None) == (c.order_type not in ("00", "02")) for c in choices)
    assert {c.schedule for c in choices} == {s for s, _ in SCHEDULES}
    assert {c.slices for c in choices} == set(range(1, DEFAULT_MAX_SLICES + 1))
    assert {c.offset_ticks for c in choices} == set(range(-MAX_OFFSET_TICKS, MAX_OFFSET_TICKS + 1))
    assert draw_pairs(seed=1, count=300) == pairs  # the same pairs for the same seed
