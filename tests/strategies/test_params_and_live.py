"""Strategy files (validation, in-place updates) and the live entry point against the backtest."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import numpy as np
import pytest
from support.shared_data import require_shared_prices

from tools.prices import read_price_dir
from tools.strategies.base import State, panel_from_bars
from tools.strategies.build import build_plan, first_decision_index, strategy_targets, strategy_tickers
from tools.strategies.maps import maps_plan
from tools.strategies.momentum import momentum_plan
from tools.strategies.params import (
    StrategyFileError,
    load_strategy,
    parse_strategy,
    policy_from_name,
    update_params,
    with_values,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "strategies"


def test_examples_load() -> None:
    for path in EXAMPLES.glob("*.toml"):
        strategy = load_strategy(path)
        assert strategy_tickers(strategy)


def test_errors_name_the_file_and_field() -> None:
    text = 'strategy = "maps"\n[maps]\nSTOP_LOSS_PCT = 2\nbuckets = []\n'
    with pytest.raises(StrategyFileError) as caught:
        parse_strategy(text, source="acct.toml")
    problems = "\n".join(caught.value.problems)
    assert "acct.toml: maps.STOP_LOSS_PCT" in problems and "acct.toml: maps.buckets" in problems
    with pytest.raises(StrategyFileError, match="needs a \\[momentum\\] table"):
        parse_strategy('strategy = "momentum"\n')
    with pytest.raises(StrategyFileError, match="unknown preset"):
        parse_strategy('strategy = "static"\n[static]\nweights = {"069500" = 100}\n[policy]\npreset = "weekly"\n')


def test_policy_presets_map_to_core_trigger_policies() -> None:
    rel = policy_from_name("threshold-rel20").trigger_policy()
    assert rel.relative_band == 0.2 and rel.mp_band is None and rel.sub_band is None
    assert policy_from_name("semiannual").trigger_policy().calendar == "semiannual"
    assert policy_from_name("5-25").trigger_policy().five_twenty_five
    assert policy_from_name("threshold-abs5").trigger_policy().mp_band == 0.05


def test_update_params_keeps_comments_and_validates(tmp_path: Path) -> None:
    path = tmp_path / "maps.toml"
    shutil.copy(EXAMPLES / "maps-krx.toml", path)
    updated = update_params(path, {"maps.MA_MONTHS": 4, "maps.COOLDOWN_DAYS": 3, "policy.relative_band": 0.25},
                            comment="tuned")
    assert updated.maps is not None and updated.maps.MA_MONTHS == 4 and updated.maps.COOLDOWN_DAYS == 3
    text = path.read_text()
    assert "# sessions between a buy and a sell" not in text.split("COOLDOWN_DAYS")[1].splitlines()[0]
    assert "OVERBOUGHT_SELL_THRESHOLD = 80    # RSI points" in text  # untouched lines keep their comments
    assert load_strategy(path).policy.trigger_policy().relative_band == 0.25
    with pytest.raises(StrategyFileError):
        update_params(path, {"maps.STOP_LOSS_PCT": 5})
    assert load_strategy(path).maps.STOP_LOSS_PCT == 0.08  # an invalid update is never written


def test_with_values_replaces_dotted_parameters() -> None:
    strategy = load_strategy(EXAMPLES / "momentum-krx.toml")
    changed = with_values(strategy, {"momentum.lookback": 20})
    assert changed.momentum is not None and changed.momentum.lookback == 20


def _krx_bars(tickers: tuple[str, ...]) -> dict:
    series = read_price_dir(require_shared_prices())
    return {t: series[t].bars for t in tickers}


def test_strategy_targets_equal_the_backtest_plan_on_the_same_bars() -> None:
    strategy = load_strategy(EXAMPLES / "maps-krx.toml")
    bars = _krx_bars(strategy_tickers(strategy))
    as_of = dt.date(2023, 6, 30)
    targets, states = strategy_targets(strategy, bars, as_of)
    panel = panel_from_bars(bars)
    last = panel.index_of(as_of)
    plan = build_plan(strategy, panel, first_index=first_decision_index(strategy, panel, 0), last_index=last)
    expected = plan.targets_at(last)
    assert targets.flat() == pytest.approx(dict(expected))
    assert {s.ticker for s in states} == set(strategy_tickers(strategy))
    held = {s.ticker for s in states if s.state.holds_after}
    assert held == set(targets.flat())
    assert all(s.state in State for s in states)


def test_no_look_ahead_changing_the_future_never_changes_past_decisions() -> None:
    for name in ("maps-krx.toml", "momentum-krx.toml"):
        strategy = load_strategy(EXAMPLES / name)
        panel = panel_from_bars(_krx_bars(strategy_tickers(strategy)))
        cut = panel.index_of(dt.date(2021, 3, 15))
        scrambled = panel.closes.copy()
        rng = np.random.default_rng(7)
        scrambled[cut + 1:] *= rng.uniform(0.5, 1.5, size=scrambled[cut + 1:].shape)
        other = type(panel)(panel.dates, panel.tickers, scrambled)
        first = first_decision_index(strategy, panel, 0)
        if strategy.maps is not None:
            a, b = maps_plan(panel, strategy.maps, first_index=first), maps_plan(other, strategy.maps, first_index=first)
        else:
            assert strategy.momentum is not None
            a = momentum_plan(panel, strategy.momentum, first_index=first)
            b = momentum_plan(other, strategy.momentum, first_index=first)
        before_a = [(c.index, dict(c.targets)) for c in a.changes if c.index <= cut]
        before_b = [(c.index, dict(c.targets)) for c in b.changes if c.index <= cut]
        assert before_a == before_b and len(before_a) > 3
        assert [(c.index, dict(c.targets)) for c in a.changes] != [(c.index, dict(c.targets)) for c in b.changes]
