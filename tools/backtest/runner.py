"""Run a strategy file over a price panel: the plan, the cash flows and the engine, wired once."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from tools.backtest.data import PricePanel
from tools.backtest.engine import BacktestConfig, run_backtest
from tools.backtest.fills import FillModel
from tools.backtest.result import BacktestResult
from tools.drift import TriggerPolicy
from tools.money import MoneyRules
from tools.netting import NettingOptions
from tools.strategies.build import build_plan, first_decision_index
from tools.strategies.params import StrategyFile
from tools.strategies.static import CashFlowSchedule, contribution_schedule


@dataclass(frozen=True)
class RunSpec:
    """Per-run choices that the strategy file's [backtest] table gives defaults for."""

    start: dt.date | None = None
    end: dt.date | None = None
    capital: int | None = None
    fill: FillModel | None = None
    netting: NettingOptions | None = None
    # Commission, tax and margin (e.g. ``RebalConfig.money``, the live run's); None: MoneyRules' defaults.
    # Used by the default netting options only (``netting`` above brings its own).
    money: MoneyRules | None = None
    policy: TriggerPolicy | None = None  # None: the strategy file's [policy]
    label: str | None = None
    sizing: Literal["netting", "bt"] = "netting"  # "bt": bt's per-security floor, for comparisons with bt only


def default_fill(strategy: StrategyFile) -> FillModel:
    b = strategy.backtest
    return FillModel(timing=b.fill, slippage_bp=b.slippage_bp, participation=b.participation)


def default_netting(strategy: StrategyFile, money: MoneyRules | None = None) -> NettingOptions:
    """The core's defaults (10,000 minimum trade: 10,000 KRW, or 100 USD in cents) with ``money``'s
    rates. The cash buffer is the strategy file's [backtest] cash_buffer when the file sets it, else
    ``money``'s; without ``money`` it is the file's (default 0: a backtest keeps no buffer unless asked)."""
    if money is None:
        return NettingOptions(money=MoneyRules(cash_buffer=strategy.backtest.cash_buffer))
    if "cash_buffer" in strategy.backtest.model_fields_set:
        money = money.model_copy(update={"cash_buffer": strategy.backtest.cash_buffer})
    return NettingOptions(money=money)


def run_strategy(strategy: StrategyFile, panel: PricePanel, spec: RunSpec | None = None) -> BacktestResult:
    """Backtest ``strategy`` on ``panel``. The file's money (capital, contributions) is in currency units
    (KRW, or dollars for a USD panel); ``RunSpec.capital`` is in the panel's integer units (cents)."""
    spec = spec or RunSpec()
    fill = spec.fill or default_fill(strategy)
    lag = 0 if fill.timing == "same_close" else 1
    first = panel.index_on_or_after(spec.start) if spec.start else lag
    last = panel.index_on_or_before(spec.end) if spec.end else len(panel.dates) - 1
    closes = panel.close_panel()
    decision_first = first_decision_index(strategy, closes, max(first - lag, 0))
    first = max(first, decision_first + lag)
    plan = build_plan(strategy, closes, first_index=decision_first, last_index=last)
    config = BacktestConfig(
        capital=strategy.backtest.capital * panel.unit if spec.capital is None else spec.capital, fill=fill,
        netting=spec.netting or default_netting(strategy, spec.money),
        policy=spec.policy if spec.policy is not None else strategy.policy.trigger_policy(), sizing=spec.sizing)
    flows = contribution_schedule(panel.dates, strategy.contributions, first_index=first, last_index=last)
    if panel.unit != 1:
        flows = CashFlowSchedule({d: amount * panel.unit for d, amount in flows.flows.items()}, flows.quiet_until)
    label = spec.label or strategy.name or strategy.strategy
    return run_backtest(panel, plan, config, first_index=first, last_index=last, flows=flows, label=label)
