"""MAPS state transitions: buys, sell priority, cooldowns, replacement, daily protective sells."""

from __future__ import annotations

import math

from tools.strategies.base import State
from tools.strategies.maps_state import MapsMemory, Position, Signals, step
from tools.strategies.params import MapsParams

NAN = math.nan


def params(**overrides: object) -> MapsParams:
    base: dict[str, object] = dict(
        REBALANCE_MODE="MONTHLY", OVERBOUGHT_SELL_THRESHOLD=80, STOP_LOSS_PCT=0.1, COOLDOWN_DAYS=5,
        REPLACE_SCORE_THRESHOLD=2.0, TOP_N=1,
        buckets=[{"name": "equity", "weight": 0.5, "candidates": ["AAA", "BBB", "CCC"]},
                 {"name": "bonds", "weight": 0.5, "candidates": ["DDD"]}])
    base.update(overrides)
    return MapsParams.model_validate(base)


def sig(close: float = 110, ma: float = 100, score: float = 1.0, rsi: float = 50) -> Signals:
    return Signals(close, ma, score, rsi)


def quiet(**changes: Signals) -> dict[str, Signals]:
    """Every candidate below its average (not eligible) unless given."""
    signals = {t: sig(close=90) for t in ("AAA", "BBB", "CCC", "DDD")}
    signals.update(changes)
    return signals


def states_of(result: list) -> dict[str, State]:
    return {s.ticker: s.state for s in result}


def test_buys_the_best_eligible_candidate_on_a_rebalance_day_only() -> None:
    p = params()
    memory = MapsMemory()
    signals = quiet(AAA=sig(score=1), BBB=sig(score=3), DDD=sig(score=0.5))
    states = states_of(step(memory, signals, 0, False, p))
    assert states["BBB"] is State.WAIT and not memory.held
    states = states_of(step(memory, signals, 1, True, p))
    assert states["BBB"] is State.BUY and states["AAA"] is State.WAIT and states["DDD"] is State.BUY
    assert memory.held["BBB"].entry_price == 110 and memory.held["BBB"].bought_at == 1


def test_sell_priority_stoploss_then_rsi_then_trend() -> None:
    p = params()

    def sell_state(signals: Signals) -> State:
        memory = MapsMemory(held={"AAA": Position(entry_price=100, bought_at=0)})
        return states_of(step(memory, quiet(AAA=signals), 20, False, p))["AAA"]

    assert sell_state(sig(close=85, ma=95, rsi=90)) is State.CUT_STOPLOSS  # all three apply
    assert sell_state(sig(close=95, ma=98, rsi=90)) is State.SELL_RSI  # RSI and trend
    assert sell_state(sig(close=95, ma=98, rsi=50)) is State.SELL_TREND
    assert sell_state(sig(close=105, ma=98, rsi=50)) is State.HOLD


def test_buy_cooldown_blocks_trend_and_rsi_sells_but_not_the_stop_loss() -> None:
    p = params()
    memory = MapsMemory(held={"AAA": Position(100, bought_at=10)})
    state = step(memory, quiet(AAA=sig(close=95, ma=98)), 12, False, p)
    assert states_of(state)["AAA"] is State.HOLD and "cooldown, 3 left" in state[0].reason
    assert states_of(step(memory, quiet(AAA=sig(close=89, ma=98)), 13, False, p))["AAA"] is State.CUT_STOPLOSS
    memory = MapsMemory(held={"AAA": Position(100, bought_at=10)})
    assert states_of(step(memory, quiet(AAA=sig(close=95, ma=98)), 15, False, p))["AAA"] is State.SELL_TREND


def test_sell_cooldown_blocks_buying_back() -> None:
    p = params()
    memory = MapsMemory(sold_at={"AAA": 10})
    result = step(memory, quiet(AAA=sig(score=5)), 12, True, p)
    assert states_of(result)["AAA"] is State.WAIT and "sell cooldown" in result[0].reason
    assert states_of(step(memory, quiet(AAA=sig(score=5)), 15, True, p))["AAA"] is State.BUY


def test_overbought_rsi_blocks_new_buys() -> None:
    memory = MapsMemory()
    result = step(memory, quiet(AAA=sig(score=5, rsi=85)), 0, True, params())
    assert states_of(result)["AAA"] is State.WAIT and "blocks new buys" in result[0].reason


def test_replacement_searches_from_the_weakest_up_skipping_cooldowns() -> None:
    p = params(TOP_N=2)
    memory = MapsMemory(held={"AAA": Position(100, bought_at=0), "BBB": Position(100, bought_at=48)})
    # BBB is the weakest but was bought 2 sessions ago: skipped; AAA is replaced by CCC.
    signals = quiet(AAA=sig(score=1.0), BBB=sig(score=0.5), CCC=sig(score=5.0))
    states = states_of(step(memory, signals, 50, True, p))
    assert states["BBB"] is State.HOLD
    assert states["AAA"] is State.SELL_REPLACE and states["CCC"] is State.BUY_REPLACE
    assert set(memory.held) == {"BBB", "CCC"} and memory.sold_at["AAA"] == 50


def test_replacement_needs_the_threshold_margin() -> None:
    p = params()
    memory = MapsMemory(held={"AAA": Position(100, bought_at=0)})
    states = states_of(step(memory, quiet(AAA=sig(score=1.0), CCC=sig(score=2.9)), 50, True, p))
    assert states["AAA"] is State.HOLD and states["CCC"] is State.WAIT
    states = states_of(step(memory, quiet(AAA=sig(score=1.0), CCC=sig(score=3.1)), 51, True, p))
    assert states["AAA"] is State.SELL_REPLACE and states["CCC"] is State.BUY_REPLACE


def test_protective_sells_run_on_non_rebalance_days_without_buying() -> None:
    p = params(REBALANCE_MODE="QUARTERLY")
    memory = MapsMemory(held={"AAA": Position(100, bought_at=0)})
    states = states_of(step(memory, quiet(AAA=sig(close=95, ma=98), BBB=sig(score=9)), 30, False, p))
    assert states["AAA"] is State.SELL_TREND and states["BBB"] is State.WAIT
    assert not memory.held


def test_missing_bar_keeps_a_holding() -> None:
    memory = MapsMemory(held={"AAA": Position(100, bought_at=0)})
    states = states_of(step(memory, quiet(AAA=Signals(NAN, NAN, NAN, NAN)), 30, True, params()))
    assert states["AAA"] is State.HOLD and "AAA" in memory.held
