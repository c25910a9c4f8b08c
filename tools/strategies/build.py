"""From a strategy file to a plan of targets — the one path shared by the backtest and the live run.

``strategy_targets`` is what the live graph's ``fetch_targets`` and ``rebal status`` call: the
same plan the backtester replays, evaluated on the bars up to ``as_of``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path

from tools.prices import DailyBar, UsdDailyBar
from tools.strategies.base import ClosePanel, PlanTargets, State, StrategyState, TargetPlan, panel_from_bars
from tools.strategies.maps import maps_plan, warmup_sessions
from tools.strategies.momentum import momentum_plan
from tools.strategies.params import StrategyFile, load_strategy
from tools.strategies.static import static_plan
from tools.targets import Targets, targets_from_weights


def strategy_tickers(strategy: StrategyFile) -> tuple[str, ...]:
    if strategy.strategy == "momentum":
        assert strategy.momentum is not None
        return strategy.momentum.universe
    if strategy.strategy == "maps":
        assert strategy.maps is not None
        return tuple(t for b in strategy.maps.buckets for t in b.candidates)
    targets = strategy.static_targets()
    return targets.tickers if isinstance(targets, Targets) else tuple(targets)


def strategy_warmup(strategy: StrategyFile) -> int:
    """Sessions of history a strategy needs before its first decision."""
    if strategy.strategy == "momentum":
        assert strategy.momentum is not None
        return strategy.momentum.lookback + 1
    if strategy.strategy == "maps":
        assert strategy.maps is not None
        return warmup_sessions(strategy.maps)
    return 0


def first_decision_index(strategy: StrategyFile, panel: ClosePanel, earliest: int) -> int:
    """``earliest``, or the anchor's session if the file sets one, but never inside the warm-up."""
    index = max(earliest, strategy_warmup(strategy) - 1)
    if strategy.anchor:
        anchor = dt.date.fromisoformat(strategy.anchor)
        if anchor > panel.dates[0]:
            index = max(index, panel.index_of(anchor - dt.timedelta(days=1)) + 1)
    return min(index, len(panel.dates) - 1)


def build_plan(strategy: StrategyFile, panel: ClosePanel, *, first_index: int,
               last_index: int | None = None) -> TargetPlan:
    if strategy.strategy == "momentum":
        assert strategy.momentum is not None
        return momentum_plan(panel, strategy.momentum, first_index=first_index, last_index=last_index)
    if strategy.strategy == "maps":
        assert strategy.maps is not None
        return maps_plan(panel, strategy.maps, first_index=first_index, last_index=last_index)
    return static_plan(strategy.static_targets(), first_index=first_index)


def as_core_targets(targets: PlanTargets, *, source: str) -> Targets:
    if isinstance(targets, Targets):
        return targets
    weights = {t: w for t, w in targets.items() if w > 0}
    cash = max(0.0, 1.0 - sum(weights.values()))
    return targets_from_weights({**weights, "cash": cash} if cash > 1e-12 else weights, source=source,
                                normalise=True)


def strategy_targets(strategy_file: str | Path | StrategyFile,
                     bars: Mapping[str, Sequence[DailyBar | UsdDailyBar]],
                     as_of: dt.date) -> tuple[Targets, list[StrategyState]]:
    """Today's targets and each ticker's state, from the bars up to ``as_of`` (a pure function).

    Momentum sessions are counted from the strategy file's ``anchor`` (else from the first session
    with enough history), so the live run and a backtest agree when they see the same bars.
    """
    strategy = strategy_file if isinstance(strategy_file, StrategyFile) else load_strategy(strategy_file)
    source = str(strategy.path or "strategy")
    if strategy.strategy == "static":
        targets = as_core_targets(strategy.static_targets(), source=source)
        states = [StrategyState(t, State.HOLD, f"static target {w:.1%}") for t, w in targets.flat().items()]
        return targets, states
    missing = [t for t in strategy_tickers(strategy) if t not in bars or not bars[t]]
    if missing:
        raise ValueError(f"no bars for {', '.join(missing)}")
    panel = panel_from_bars({t: bars[t] for t in strategy_tickers(strategy)})
    last = panel.index_of(as_of)
    panel = panel.upto(last)
    first = first_decision_index(strategy, panel, 0)
    plan = build_plan(strategy, panel, first_index=first, last_index=last)
    current = plan.targets_at(last)
    if current is None:
        raise ValueError(f"not enough history before {as_of}: {strategy.strategy} needs "
                         f"{strategy_warmup(strategy)} sessions, have {last + 1}")
    return as_core_targets(current, source=source), plan.states
