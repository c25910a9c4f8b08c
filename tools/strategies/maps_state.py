"""The MAPS daily state machine: one step per session, from indicators known at that close.

Per held ETF, protective sells are checked every session whatever REBALANCE_MODE says, in the
priority CUT_STOPLOSS > SELL_RSI > SELL_TREND. On rebalance sessions each bucket then fills free
slots with its best eligible candidates (BUY) and replaces a held ETF when a candidate scores
above it by more than REPLACE_SCORE_THRESHOLD (BUY_REPLACE / SELL_REPLACE); held ETFs are tried
from the weakest up, skipping those still in their buy cooldown.

Cooldowns (in sessions): an ETF bought less than COOLDOWN_DAYS ago is not sold by SELL_RSI,
SELL_TREND or replacement (CUT_STOPLOSS is exempt: a stop-loss always fires); an ETF sold less
than COOLDOWN_DAYS ago is not bought back. The entry price of a position is the close of the
session that decided the buy, so the machine is a pure function of closes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from tools.strategies.base import State, StrategyState
from tools.strategies.params import MapsBucket, MapsParams


@dataclass(frozen=True, slots=True)
class Signals:
    """One ticker's indicators at one close (NaN where history is too short or a bar is missing)."""

    close: float
    ma: float
    score: float
    rsi_points: float  # RSI × 100

    @property
    def complete(self) -> bool:
        return not any(math.isnan(v) for v in (self.close, self.ma, self.score, self.rsi_points))


@dataclass(slots=True)
class Position:
    entry_price: float
    bought_at: int  # session index of the buy decision


@dataclass(slots=True)
class MapsMemory:
    """What the machine carries from one session to the next."""

    held: dict[str, Position] = field(default_factory=dict)
    sold_at: dict[str, int] = field(default_factory=dict)


def _cooldown_left(since: int | None, today: int, days: int) -> int:
    return 0 if since is None else max(0, days - (today - since))


def _sell_state(ticker: str, s: Signals, pos: Position, today: int, p: MapsParams) -> StrategyState:
    """The state of a held ETF before any rebalancing: a protective sell or HOLD."""
    if math.isnan(s.close):
        return StrategyState(ticker, State.HOLD, "no bar this session: kept")
    change = s.close / pos.entry_price - 1
    if change <= -p.STOP_LOSS_PCT:
        return StrategyState(ticker, State.CUT_STOPLOSS,
                             f"{change:+.1%} since entry {pos.entry_price:g} (stop {-p.STOP_LOSS_PCT:.1%})", s.score)
    reasons = []
    if not math.isnan(s.rsi_points) and s.rsi_points > p.OVERBOUGHT_SELL_THRESHOLD:
        reasons.append((State.SELL_RSI, f"RSI {s.rsi_points:.0f} > {p.OVERBOUGHT_SELL_THRESHOLD:g}"))
    if not math.isnan(s.ma) and s.close < s.ma:
        reasons.append((State.SELL_TREND, f"close {s.close:g} below its {p.MA_MONTHS}-month average {s.ma:.6g}"))
    cooldown = _cooldown_left(pos.bought_at, today, p.COOLDOWN_DAYS)
    if reasons and cooldown:
        return StrategyState(ticker, State.HOLD, f"{reasons[0][1]}, but bought {today - pos.bought_at} "
                             f"session(s) ago: buy cooldown, {cooldown} left", s.score)
    if reasons:
        state, reason = reasons[0]  # the list is in sell priority
        return StrategyState(ticker, state, reason, s.score)
    return StrategyState(ticker, State.HOLD, f"above its average, score {s.score:.2f}", s.score)


def _why_not_eligible(s: Signals, sold_at: int | None, today: int, p: MapsParams) -> str | None:
    if not s.complete:
        return "not enough history or no bar"
    if s.close <= s.ma:
        return f"close {s.close:g} not above its {p.MA_MONTHS}-month average {s.ma:.6g}"
    if s.rsi_points > p.OVERBOUGHT_SELL_THRESHOLD:
        return f"RSI {s.rsi_points:.0f} > {p.OVERBOUGHT_SELL_THRESHOLD:g} blocks new buys"
    left = _cooldown_left(sold_at, today, p.COOLDOWN_DAYS)
    if left:
        return f"sold {today - (sold_at or 0)} session(s) ago: sell cooldown, {left} left"
    return None


def step(memory: MapsMemory, signals: dict[str, Signals], today: int, rebalance_day: bool,
         params: MapsParams) -> list[StrategyState]:
    """Advance ``memory`` by one session; returns every candidate's state, buckets in file order."""
    states: dict[str, StrategyState] = {}
    bucket_of = {t: b.name for b in params.buckets for t in b.candidates}
    for ticker, pos in list(memory.held.items()):
        state = replace(_sell_state(ticker, signals[ticker], pos, today, params), bucket=bucket_of[ticker])
        states[ticker] = state
        if state.state in (State.CUT_STOPLOSS, State.SELL_RSI, State.SELL_TREND):
            del memory.held[ticker]
            memory.sold_at[ticker] = today
    for bucket in params.buckets:
        _bucket_step(bucket, memory, signals, today, rebalance_day, params, states)
    return [states[t] for b in params.buckets for t in b.candidates]


def _bucket_step(bucket: MapsBucket, memory: MapsMemory, signals: dict[str, Signals], today: int,
                 rebalance_day: bool, p: MapsParams, states: dict[str, StrategyState]) -> None:
    top_n = bucket.top_n or p.TOP_N
    waiting = [t for t in bucket.candidates if t not in memory.held and t not in states]
    if not rebalance_day:
        for t in waiting:
            states[t] = StrategyState(t, State.WAIT, f"not a rebalance session ({p.REBALANCE_MODE})",
                                      _score(signals[t]), bucket.name)
        return
    eligible: list[str] = []
    for t in waiting:
        why = _why_not_eligible(signals[t], memory.sold_at.get(t), today, p)
        if why:
            states[t] = StrategyState(t, State.WAIT, why, _score(signals[t]), bucket.name)
        else:
            eligible.append(t)
    eligible.sort(key=lambda t: -signals[t].score)
    held = [t for t in bucket.candidates if t in memory.held]
    while eligible and len(held) < top_n:
        t = eligible.pop(0)
        memory.held[t] = Position(signals[t].close, today)
        held.append(t)
        states[t] = StrategyState(t, State.BUY, f"score {signals[t].score:.2f}, rank in bucket "
                                  f"{bucket.name!r}: free slot", signals[t].score, bucket.name)
    replaced: set[str] = set()
    for t in list(eligible):
        cand = signals[t].score
        # Weakest held first; those in buy cooldown (or just bought/replaced) are skipped.
        weakest_first = sorted((h for h in held if h not in replaced), key=lambda h: _score(signals[h]) or 0.0)
        victim = None
        for h in weakest_first:
            if _cooldown_left(memory.held[h].bought_at, today, p.COOLDOWN_DAYS):
                continue
            if cand > (_score(signals[h]) or 0.0) + p.REPLACE_SCORE_THRESHOLD:
                victim = h
            break  # only the weakest replaceable holding is compared
        if victim is None:
            states[t] = StrategyState(t, State.WAIT, f"score {cand:.2f}: bucket {bucket.name!r} full and no "
                                      f"replaceable holding beaten by {p.REPLACE_SCORE_THRESHOLD:g}", cand, bucket.name)
            continue
        victim_score = _score(signals[victim]) or 0.0
        del memory.held[victim]
        memory.sold_at[victim] = today
        memory.held[t] = Position(signals[t].close, today)
        held[held.index(victim)] = t
        replaced.update({t, victim})
        states[victim] = StrategyState(victim, State.SELL_REPLACE, f"replaced by {t} ({cand:.2f} > "
                                       f"{victim_score:.2f} + {p.REPLACE_SCORE_THRESHOLD:g})", victim_score, bucket.name)
        states[t] = StrategyState(t, State.BUY_REPLACE, f"replaces {victim} ({cand:.2f} > {victim_score:.2f} + "
                                  f"{p.REPLACE_SCORE_THRESHOLD:g})", cand, bucket.name)


def _score(s: Signals) -> float | None:
    return None if math.isnan(s.score) else s.score
