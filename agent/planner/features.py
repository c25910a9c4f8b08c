"""The planner's input, computed by code from trades, order books, daily bars and the clock.

Pure: no I/O and no clock reads; ``now`` and the calendar are passed in. The session's times and
the timetable settings go with the features, so the policy can compute the plan's timetable.
The only free text is the instrument name, which is cleaned (control characters removed, length
capped) and later shown to the LLM strictly as data.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
import unicodedata
from collections.abc import Mapping, Sequence
from itertools import pairwise

from agent.planner.models import ALL_PLAN_ORDER_TYPES, PlannerInput, TradeFeatures
from tools.kis.models import OrderBook
from tools.market import KST, KrxCalendar, Phase, ticks_between
from tools.netting.models import Trade
from tools.prices import DailyBar
from tools.schedule import SessionDay, TimetableSettings

ADV_SESSIONS = 20
TRADING_DAYS_PER_YEAR = 252
MAX_NAME_LENGTH = 120


def clean_name(name: str) -> str:
    """Instrument names are untrusted: drop control/format characters (newlines, bidi
    overrides) so a name cannot fake a new line or block in the prompt, and cap the length."""
    kept = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in name)
    return " ".join(kept.split())[:MAX_NAME_LENGTH]


def completed_bars(bars: Sequence[DailyBar], today: dt.date, count: int) -> list[DailyBar]:
    """The last ``count`` bars strictly before ``today`` (today's bar is still forming), by date."""
    past = sorted((b for b in bars if b.date < today), key=lambda b: b.date)
    return past[-count:]


def average_daily_volume(bars: Sequence[DailyBar]) -> float | None:
    return statistics.fmean(b.volume for b in bars) if bars else None


def annualised_volatility(bars: Sequence[DailyBar]) -> float | None:
    """Sample stdev of daily log close-to-close returns × √252; None with fewer than two returns."""
    closes = [b.close for b in bars if b.close > 0]
    returns = [math.log(later / earlier) for earlier, later in pairwise(closes)]
    if len(returns) < 2:
        return None
    return statistics.stdev(returns) * math.sqrt(TRADING_DAYS_PER_YEAR)


def minutes_to_close(now: dt.datetime, calendar: KrxCalendar) -> float:
    """Minutes until today's session closes (end of the closing auction); 0 when none is left."""
    day = now.astimezone(KST).date()  # KRX sessions are defined in KST whatever zone ``now`` carries
    if not calendar.is_session(day):
        return 0.0
    _, close = calendar.session_bounds(day)
    return max(0.0, (close - now).total_seconds() / 60)


def _significant(value: float, digits: int = 4) -> float:
    """Rounded to a few significant digits: enough for the planner, fewer prompt tokens."""
    return float(f"{value:.{digits}g}")


def trade_features(trade: Trade, book: OrderBook | None, bars: Sequence[DailyBar], today: dt.date,
                   name: str) -> TradeFeatures:
    bid = book.best_bid if book else None
    ask = book.best_ask if book else None
    spread = ticks_between(bid, ask, trade.kind) if bid is not None and ask is not None and bid <= ask else None
    # A buy takes liquidity from the asks, a sell from the bids.
    levels = (book.asks if trade.side == "buy" else book.bids) if book else ()
    depth = levels[0].quantity if levels else 0
    history = completed_bars(bars, today, ADV_SESSIONS + 1)  # 21 closes give 20 returns
    adv = average_daily_volume(history[-ADV_SESSIONS:])
    vol = annualised_volatility(history)
    return TradeFeatures(
        trade_id=trade.trade_id, ticker=trade.ticker, name=clean_name(name), side=trade.side,
        quantity=trade.quantity, reference_price=trade.reference_price, notional=trade.notional,
        bid=bid, ask=ask, spread_ticks=spread, depth_at_touch=depth,
        adv_20d=round(adv, 1) if adv is not None else None,
        participation=_significant(trade.quantity / adv) if adv else None,
        volatility_20d=_significant(vol) if vol is not None else None, kind=trade.kind)


def compute_features(run_id: str, trades: Sequence[Trade], books: Mapping[str, OrderBook],
                     bars: Mapping[str, Sequence[DailyBar]], now: dt.datetime, calendar: KrxCalendar,
                     names: Mapping[str, str], *, max_slices: int = 5,
                     allowed_order_types: Sequence[str] = ALL_PLAN_ORDER_TYPES,
                     timetable: TimetableSettings | None = None) -> PlannerInput:
    """Features of every trade, with the session's times and the timetable settings (the
    ``[execution]`` section; defaults when None). ``now`` must be timezone-aware."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    today = now.astimezone(KST).date()
    phase: Phase = calendar.phase(now)
    return PlannerInput(
        run_id=run_id, as_of=now.isoformat(), phase=phase.value,
        minutes_to_close=round(minutes_to_close(now, calendar), 1), max_slices=max_slices,
        allowed_order_types=list(allowed_order_types), session=SessionDay.of(calendar, now),
        timetable=timetable or TimetableSettings(),
        trades=[trade_features(t, books.get(t.ticker), bars.get(t.ticker, ()), today, names.get(t.ticker, ""))
                for t in trades])
