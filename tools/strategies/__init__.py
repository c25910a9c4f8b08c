"""Target-generating strategies (static, momentum, MAPS) shared by the live run and the backtester."""

from tools.strategies.base import State, StrategyState, TargetChange, TargetPlan
from tools.strategies.build import build_plan, strategy_targets, strategy_tickers
from tools.strategies.params import StrategyFile, StrategyFileError, load_strategy

__all__ = [
    "State",
    "StrategyFile",
    "StrategyFileError",
    "StrategyState",
    "TargetChange",
    "TargetPlan",
    "build_plan",
    "load_strategy",
    "strategy_targets",
    "strategy_tickers",
]
