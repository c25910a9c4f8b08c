"""A strategy as the live run's target source: bars from the broker, targets and states by the
same code the backtester runs (``tools.strategies.strategy_targets``)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from agent.context import RunContext
from tools.targets import Targets


def strategy_states(ctx: RunContext, strategy_file: Path, as_of: str):
    """(targets, states) for ``as_of`` from daily bars read through the broker."""
    from tools.strategies.build import strategy_targets, strategy_tickers, strategy_warmup
    from tools.strategies.params import load_strategy

    strategy = load_strategy(strategy_file)
    day = dt.date.fromisoformat(as_of)
    # Calendar days that hold the strategy's warm-up in sessions, with room for holidays.
    start = day - dt.timedelta(days=int(strategy_warmup(strategy) * 1.6) + 14)
    bars = {ticker: ctx.broker.client.daily_bars(ticker, start, day) for ticker in strategy_tickers(strategy)}
    # The live run decides on completed sessions, as the backtest does: today's bar is still forming.
    completed = {t: [b for b in series if b.date < day] for t, series in bars.items()}
    return strategy_targets(strategy, completed, day)


def targets_from_strategy(ctx: RunContext, strategy_file: Path, as_of: str) -> tuple[Targets, str]:
    targets, states = strategy_states(ctx, strategy_file, as_of)
    ctx.transcript.write("strategy_states", strategy=str(strategy_file),
                         states=[{"ticker": s.ticker, "state": str(s.state), "reason": s.reason} for s in states])
    return targets, f"strategy {strategy_file}"
