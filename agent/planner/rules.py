"""The rules planner: the same decisions as the LLM, made by fixed rules over the features.

It is the default when no LLM is configured and the fallback on any LLM failure, so it must
always produce a plan, deterministically, and one that satisfies ``policy.plan_problems`` (the
whole timetable fits today's session) whenever any plan without market orders does.

Every trade is planned for the stage it belongs to: the sells from the run's start (or the
open), the buys from when every sell is done at worst (``tools.schedule``). The first choice
for a trade, in order:

1. no two-sided quote → no limit price can be computed: one 최유리 (03) order now (a limit at the
   quoted touch when only priced types are allowed);
2. no session left today → one limit order (the guardrails refuse it: run again next session);
3. the stage begins in the closing auction → one limit order in the closing auction (a sell
   that buys wait on: one limit now, which the guardrails refuse: nothing could be bought);
4. less than ``NEAR_CLOSE_MINUTES`` of continuous trading left, or too little for a fill window
   → a small trade is one conditional limit (02: the unfilled rest joins the closing auction),
   a large one goes to the closing auction; but sells never do either when there are buys (the
   buys would wait for the close): they stay one limit now;
5. small (≤ 1 % of ADV and within the depth at the touch) → one limit order now;
6. large → limit orders spread by the TWAP (``twap_start``–``twap_end``), one slice per depth at
   the touch and per 0.5 % of ADV, capped by max_slices and by the TWAP window left.

When the first choice does not fit the timetable, simpler ones are tried, trade by trade: fewer
TWAP slices, then one marketable limit now at the touch, then (when nothing waits on the trade)
02 now or the closing auction. With sells and buys, the sells are simplified together until the
buys fit after them: their TWAP slices capped, then every sell one limit now at the touch. When
nothing fits, the first choices are returned and the guardrails refuse them with the reason.

Limit prices sit at the counter-side touch (a buy at ask1, a sell at bid1: marketable), or at
the mid when the spread is wide. Market orders (01) are never chosen.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence

from agent.planner.models import PlannerInput, TradeFeatures
from agent.planner.policy import (
    choice_problems,
    plan_problems,
    planned_slices,
    stage_begin,
    timing_problems,
    twap_room,
)
from tools.market import Phase
from tools.plan import MAX_RATIONALE, ExecutionPlan, OrderChoice, PriceRule, Schedule
from tools.schedule import clock, stage_times

SMALL_PARTICIPATION = 0.01  # ≤ 1 % of average daily volume fits in one order
SLICE_PARTICIPATION = 0.005  # a TWAP slice should take at most 0.5 % of average daily volume
WIDE_SPREAD_TICKS = 2  # wider than this → price at the mid rather than cross the spread
NEAR_CLOSE_MINUTES = 15.0  # continuous minutes left below which trades go to the close


def _first_allowed(inp: PlannerInput, *preferred: str) -> str:
    """The first preferred type the configuration allows; else any allowed type but market."""
    for order_type in preferred:
        if order_type in inp.allowed_order_types:
            return order_type
    non_market = [t for t in inp.allowed_order_types if t != "01"]
    return (non_market or inp.allowed_order_types)[0]


def is_small(trade: TradeFeatures) -> bool:
    """Fits in one order: within the shares at the touch and (when volume is known) ≤ 1 % of ADV."""
    within_depth = 0 < trade.quantity <= trade.depth_at_touch
    light = trade.participation is None or trade.participation <= SMALL_PARTICIPATION
    return within_depth and light


def slices_needed(trade: TradeFeatures, max_slices: int) -> int:
    """Enough slices that each fits the depth at the touch and 0.5 % of ADV (before any cap)."""
    by_depth = math.ceil(trade.quantity / trade.depth_at_touch) if trade.depth_at_touch > 0 else max_slices
    by_volume = math.ceil(trade.participation / SLICE_PARTICIPATION) if trade.participation else 1
    return max(2, by_depth, by_volume)


def _facts(trade: TradeFeatures, inp: PlannerInput) -> str:
    touch = "ask" if trade.side == "buy" else "bid"
    volume = (f"{trade.participation:.2%} of 20d ADV {trade.adv_20d:,.0f}"
              if trade.participation is not None and trade.adv_20d is not None else "ADV unknown")
    spread = f"{trade.spread_ticks} tick(s)" if trade.spread_ticks is not None else "unknown"
    return (f"{trade.side} {trade.quantity:,} sh = {volume}; depth {trade.depth_at_touch:,} at {touch}; "
            f"spread {spread}; {inp.minutes_to_close:.0f} min to close")


def _choice(inp: PlannerInput, trade: TradeFeatures, order_type: str, price_rule: PriceRule | None,
            slices: int, schedule: Schedule, decision: str) -> OrderChoice:
    rationale = f"{_facts(trade, inp)} → {decision}"
    if len(rationale) > MAX_RATIONALE:
        rationale = rationale[:MAX_RATIONALE - 1] + "…"
    return OrderChoice.model_validate(
        {"trade_id": trade.trade_id, "order_type": order_type,
         "price_rule": price_rule if order_type in ("00", "02") else None, "offset_ticks": 0,
         "slices": slices, "schedule": schedule, "rationale": rationale},
        context={"max_slices": inp.max_slices})


def _touch(trade: TradeFeatures) -> PriceRule | None:
    """The counter-side touch (a buy's ask1, a sell's bid1) when it is quoted."""
    if trade.side == "buy":
        return "ask1" if trade.ask is not None else None
    return "bid1" if trade.bid is not None else None


def choose(inp: PlannerInput, trade: TradeFeatures, begin: dt.datetime | None = None, *,
           before_buys: bool = False) -> OrderChoice:
    """The rules' first choice for one trade whose stage begins at ``begin`` (the run's start or
    the open by default); ``before_buys``: a sell that buys wait on (see the module docstring)."""
    session = inp.session
    assert session is not None
    begin = begin or stage_begin(inp)
    if trade.bid is None or trade.ask is None:
        return _unquoted(inp, trade, "now")
    wide = trade.spread_ticks is not None and trade.spread_ticks > WIDE_SPREAD_TICKS
    rule: PriceRule = "mid" if wide else ("ask1" if trade.side == "buy" else "bid1")
    price = "the mid (spread wide)" if wide else f"the {rule} touch"
    # A sell the buys wait on must not be a 02 (done only at the close) while another type is allowed.
    limit = _first_allowed(inp, *(("00", "03", "04", "02") if before_buys else ("00", "02")))
    if limit not in ("00", "02"):
        price = f"the best price ({limit})"
    small = is_small(trade)

    if not session.is_session or begin >= session.close:
        opens = session.next_session_open or session.next_open  # said plainly: when trading is next possible
        return _choice(inp, trade, limit, rule, 1, "now", f"no session left today: one limit at {price} for the "
                       f"next session, which opens {opens:%H:%M} on {opens:%Y-%m-%d}")
    if session.phase(begin) is Phase.CLOSING_AUCTION:
        if before_buys:  # a sell here is done only at the close: the guardrails refuse the plan
            return _choice(inp, trade, limit, rule, 1, "now", f"closing auction under way, and the buys wait on "
                           f"the sells: one limit at {price} now (nothing could be bought after it today)")
        return _choice(inp, trade, limit, rule, 1, "closing_auction",
                       f"closing auction under way: one limit at {price} in the auction")
    left = (session.continuous_close - begin).total_seconds() / 60
    now_fits = begin + inp.timetable.slice_lifetime <= session.continuous_close
    if left < NEAR_CLOSE_MINUTES or not now_fits:
        if before_buys:
            return _choice(inp, trade, limit, rule, 1, "now", f"near the close, and the buys wait on the sells: "
                           f"one limit at {price} now")
        if small and "02" in inp.allowed_order_types:
            return _choice(inp, trade, "02", rule, 1, "now", f"near the close: one conditional limit at {price}, "
                           "the unfilled rest joins the closing auction")
        return _choice(inp, trade, limit, rule, 1, "closing_auction",
                       f"near the close and too large to cross now: one limit at {price} in the closing auction")
    if small:
        return _choice(inp, trade, limit, rule, 1, "now", f"small: one limit at {price}")
    slices = min(slices_needed(trade, inp.max_slices), inp.max_slices, twap_room(inp, begin), trade.quantity)
    if slices < 2:
        return _choice(inp, trade, limit, rule, 1, "now", f"large but no room to slice: one limit at {price}")
    return _choice(inp, trade, limit, rule, slices, "twap",
                   f"large: {slices} limit slices at {price} spread from {clock(max(begin, session.at(inp.timetable.twap_start)))} "
                   f"to {inp.timetable.twap_end:%H:%M}")


def _fewer_slices(inp: PlannerInput, trade: TradeFeatures, choice: OrderChoice, slices: int) -> OrderChoice:
    return choice.model_copy(update={"slices": slices, "rationale": _clip(
        f"{choice.rationale} (cut to {slices} slices to finish in time)")})


def _clip(text: str) -> str:
    return text if len(text) <= MAX_RATIONALE else text[:MAX_RATIONALE - 1] + "…"


def _simple(inp: PlannerInput, trade: TradeFeatures, schedule: Schedule, order_type: str | None = None) -> OrderChoice:
    """One marketable order at the touch (a 03 without a quoted touch) with ``schedule``."""
    touch = _touch(trade)
    what = {"now": "now", "closing_auction": "in the closing auction"}.get(schedule, schedule)
    if touch is None:
        return _unquoted(inp, trade, schedule, order_type)
    auction = ("00", "02")  # 03/04 are not accepted in an auction
    kind = order_type or _first_allowed(inp, *(auction if schedule == "closing_auction" else ("00", "03", "04", "02")))
    note = "the rest joins the closing auction" if kind == "02" else "to finish in time"
    return _choice(inp, trade, kind, touch, 1, schedule, f"{note}: one limit at the {touch} touch {what}")


def _unquoted(inp: PlannerInput, trade: TradeFeatures, schedule: Schedule, order_type: str | None = None) -> OrderChoice:
    """No two-sided quote: a best-price order (03, else 04); when only priced types are allowed, a
    limit at the quoted touch, else at the mid (which cannot be priced: the policy refuses it)."""
    what = {"now": "now", "closing_auction": "in the closing auction"}.get(schedule, schedule)
    unpriced = [t for t in ("03", "04") if t in inp.allowed_order_types]
    kind = order_type or (unpriced[0] if unpriced else _first_allowed(inp, "00", "02"))
    if kind not in ("00", "02"):
        return _choice(inp, trade, kind, None, 1, schedule, f"no two-sided quote to price a limit: "
                       f"one best-price order {what}")
    rule = _touch(trade) or "mid"
    return _choice(inp, trade, kind, rule, 1, schedule, f"no two-sided quote and no best-price type allowed: "
                   f"one limit at {rule} {what}")


def _options(inp: PlannerInput, trade: TradeFeatures, first: OrderChoice, *, before_buys: bool) -> list[OrderChoice]:
    """The first choice, then simpler ones, in the order they are tried."""
    options = [first]
    if first.schedule == "twap":
        options += [_fewer_slices(inp, trade, first, n) for n in range(first.slices - 1, 1, -1)]
    options.append(_simple(inp, trade, "now"))
    if not before_buys:
        if "02" in inp.allowed_order_types and _touch(trade) is not None:
            options.append(_simple(inp, trade, "now", "02"))
        options.append(_simple(inp, trade, "closing_auction"))
    return options


def _fits(inp: PlannerInput, trade: TradeFeatures, choice: OrderChoice, begin: dt.datetime) -> bool:
    return not choice_problems(inp, choice, trade) and not timing_problems(inp, choice, trade, begin)


def pick(inp: PlannerInput, trade: TradeFeatures, begin: dt.datetime, *, before_buys: bool = False) -> OrderChoice:
    """The first of the trade's options that fits a stage beginning at ``begin``; the first
    choice when none does."""
    first = choose(inp, trade, begin, before_buys=before_buys)
    return next((o for o in _options(inp, trade, first, before_buys=before_buys) if _fits(inp, trade, o, begin)),
                first)


def _sells_done(inp: PlannerInput, sells: Sequence[TradeFeatures], choices: dict[str, OrderChoice],
                begin: dt.datetime) -> tuple[dt.datetime, bool]:
    """(when every sell is done at worst, whether every sell fits) for a sell stage at ``begin``."""
    assert inp.session is not None
    slices = [s for trade in sells for s in planned_slices(trade, choices[trade.trade_id])]
    times, problems = stage_times(slices, begin, inp.session, inp.timetable)
    return max(t.done_by for t in times), not problems


def _sell_variants(inp: PlannerInput, sells: Sequence[TradeFeatures], begin: dt.datetime) -> Iterable[dict[str, OrderChoice]]:
    """The sells' choices from the preferred to the quickest: each sell's own pick, its TWAP
    slices capped lower and lower, then every sell one marketable limit now."""
    own = {t.trade_id: pick(inp, t, begin, before_buys=True) for t in sells}
    yield own
    most = max((c.slices for c in own.values() if c.schedule == "twap"), default=0)
    for cap in range(most - 1, 1, -1):
        yield {t.trade_id: (_fewer_slices(inp, t, own[t.trade_id], cap)
                            if own[t.trade_id].schedule == "twap" and own[t.trade_id].slices > cap
                            else own[t.trade_id]) for t in sells}
    quick = {}
    for trade in sells:
        choice = own[trade.trade_id]
        keep = choice.schedule == "now" and choice.slices == 1 and choice.order_type != "02"
        quick[trade.trade_id] = choice if keep else _simple(inp, trade, "now")
    yield quick


def _plan(inp: PlannerInput, choices: dict[str, OrderChoice]) -> ExecutionPlan:
    return ExecutionPlan(choices=tuple(choices[t.trade_id] for t in inp.trades), planner="rules")


def rules_plan(inp: PlannerInput) -> ExecutionPlan:
    """One choice per trade, in the input's order (see the module docstring)."""
    if inp.session is None:  # an input without session times: plain choices (the policy refuses them)
        return _plan(inp, {t.trade_id: _simple(inp, t, "now") for t in inp.trades})
    begin = stage_begin(inp)
    sells = [t for t in inp.trades if t.side == "sell"]
    buys = [t for t in inp.trades if t.side == "buy"]
    if not sells or not buys:  # one stage: each trade on its own
        return _plan(inp, {t.trade_id: pick(inp, t, begin) for t in inp.trades})
    first: ExecutionPlan | None = None
    seen: list[dict[str, OrderChoice]] = []
    for sell_choices in _sell_variants(inp, sells, begin):
        if sell_choices in seen:
            continue
        seen.append(sell_choices)
        sells_done, sells_fit = _sells_done(inp, sells, sell_choices, begin)
        buys_begin = max(sells_done, begin)
        plan = _plan(inp, sell_choices | {t.trade_id: pick(inp, t, buys_begin) for t in buys})
        first = first or plan
        if sells_fit and sells_done < inp.session.continuous_close and not plan_problems(inp, plan):
            return plan
    assert first is not None
    return first
