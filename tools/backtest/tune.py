"""Grid search of strategy parameters, an ensemble of the best three, and a held-out check.

Parameters are dotted names into the strategy file (``maps.MA_MONTHS``, ``momentum.lookback``,
``policy.relative_band``). The ensemble of the top three (by the objective, in-sample):
moving-average months → their average, rounded; every other parameter → the value at least two
of the three share (the mode), else the best trial's. The ensemble is then run in-sample and on
the held-out sessions after it, so over-fitting shows as the gap between the two.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tools.backtest.data import PricePanel
from tools.backtest.metrics import Metrics, compute_metrics
from tools.backtest.runner import RunSpec, run_strategy
from tools.strategies.params import StrategyFile, with_values

AVERAGED = ("MA_MONTHS",)  # parameter names (last dotted part) ensembled by their rounded mean


def expand_grid(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    keys = list(grid)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(grid[k] for k in keys))]


def objective_value(metrics: Metrics, objective: str) -> float:
    if objective == "calmar":
        return metrics.cagr / abs(metrics.max_drawdown) if metrics.max_drawdown < 0 else math.inf
    if objective == "final_value":
        return float(metrics.final_value)
    return float(getattr(metrics, objective))


def ensemble(top: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Combine the best trials' parameters (``top[0]`` is the best)."""
    combined: dict[str, Any] = {}
    for key in top[0]:
        values = [trial[key] for trial in top]
        if key.rsplit(".", 1)[-1] in AVERAGED:
            combined[key] = round(sum(values) / len(values))
            continue
        value, count = Counter(values).most_common(1)[0]
        combined[key] = value if count >= 2 else top[0][key]
    return combined


@dataclass
class Trial:
    values: dict[str, Any]
    metrics: Metrics
    score: float


@dataclass
class TuneReport:
    objective: str
    in_sample: tuple[dt.date, dt.date]
    held_out: tuple[dt.date, dt.date] | None
    trials: list[Trial]
    ensemble: dict[str, Any]
    ensemble_in: Metrics
    ensemble_out: Metrics | None
    best_out: Metrics | None
    seconds: float
    notes: list[str] = field(default_factory=list)

    @property
    def top(self) -> list[Trial]:
        return self.trials[:3]


def split_range(panel: PricePanel, start: dt.date | None, end: dt.date | None, holdout_start: dt.date | None,
                holdout_fraction: float) -> tuple[tuple[dt.date, dt.date], tuple[dt.date, dt.date] | None]:
    first = panel.index_on_or_after(start) if start else 1
    last = panel.index_on_or_before(end) if end else len(panel.dates) - 1
    split = panel.index_on_or_after(holdout_start) if holdout_start else \
        last - int((last - first + 1) * holdout_fraction) + 1
    if holdout_fraction == 0 or split > last:
        return (panel.dates[first], panel.dates[last]), None
    if split <= first + 1:
        raise ValueError("the held-out period leaves no in-sample sessions")
    return (panel.dates[first], panel.dates[split - 1]), (panel.dates[split], panel.dates[last])


def tune(strategy: StrategyFile, panel: PricePanel, grid: Mapping[str, Sequence[Any]], *,
         start: dt.date | None = None, end: dt.date | None = None, holdout_start: dt.date | None = None,
         objective: str | None = None, spec: RunSpec | None = None,
         progress: Callable[[int, int], None] | None = None) -> TuneReport:
    started = time.perf_counter()
    spec = spec or RunSpec()
    objective = objective or strategy.tune.objective
    in_sample, held_out = split_range(panel, start, end, holdout_start, strategy.tune.holdout_fraction)
    combos = expand_grid(grid)
    if not combos:
        raise ValueError("empty parameter grid")

    def run(values: Mapping[str, Any], window: tuple[dt.date, dt.date]) -> Metrics:
        candidate = with_values(strategy, dict(values))
        run_spec = RunSpec(start=window[0], end=window[1], capital=spec.capital, fill=spec.fill,
                           netting=spec.netting, money=spec.money, policy=None, label=spec.label,
                           sizing=spec.sizing)
        return compute_metrics(run_strategy(candidate, panel, run_spec))

    trials = []
    for number, values in enumerate(combos, start=1):
        metrics = run(values, in_sample)
        trials.append(Trial(values, metrics, objective_value(metrics, objective)))
        if progress:
            progress(number, len(combos))
    trials.sort(key=lambda t: -t.score)
    chosen = ensemble([t.values for t in trials[:3]])
    notes = [] if len(trials) >= 3 else [f"only {len(trials)} trial(s): the ensemble uses what there is"]
    return TuneReport(
        objective=objective, in_sample=in_sample, held_out=held_out, trials=trials, ensemble=chosen,
        ensemble_in=run(chosen, in_sample), ensemble_out=run(chosen, held_out) if held_out else None,
        best_out=run(trials[0].values, held_out) if held_out else None,
        seconds=time.perf_counter() - started, notes=notes)
