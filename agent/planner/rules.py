"""The rules planner: the same decisions as the LLM, made by fixed rules over the features.

It is the default when no LLM is configured and the fallback on any LLM failure, so it must
always produce a plan, deterministically, that satisfies ``policy.plan_problems`` during the
session. The rules, in order:

1. no two-sided quote → no limit price can be computed: one 최유리 (03) order now;
2. no session left today → one limit order (it goes out next session);
3. closing auction under way → one limit order in the closing auction;
4. less than ``NEAR_CLOSE_MINUTES`` of continuous trading left → a small trade is one
   conditional limit (02: the unfilled rest joins the closing auction), a large one goes to
   the closing auction;
5. small (≤ 1 % of ADV and within the depth at the touch) → one limit order now;
6. large → limit orders spread over the remaining session ("twap"), one slice per depth at
   the touch and per 0.5 % of ADV, capped by max_slices and by the time left.

Limit prices sit at the counter-side touch (a buy at ask1, a sell at bid1: marketable), or at
the mid when the spread is wide. Market orders (01) are never chosen.
"""

from __future__ import annotations

import math

from agent.planner.models import PlannerInput, TradeFeatures
from agent.planner.policy import continuous_minutes_left, max_twap_slices
from tools.market import Phase
from tools.plan import MAX_RATIONALE, ExecutionPlan, OrderChoice, PriceRule, Schedule

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
        {"trade_id": trade.trade_id, "order_type": order_type, "price_rule": price_rule, "offset_ticks": 0,
         "slices": slices, "schedule": schedule, "rationale": rationale},
        context={"max_slices": inp.max_slices})


def choose(inp: PlannerInput, trade: TradeFeatures) -> OrderChoice:
    """The rules' choice for one trade (see the module docstring for the order of the rules)."""
    phase = Phase(inp.phase)
    if trade.bid is None or trade.ask is None:
        order_type = _first_allowed(inp, "03", "04")
        return _choice(inp, trade, order_type, None, 1, "now", "no two-sided quote to price a limit: "
                       "one best-price order now")
    wide = trade.spread_ticks is not None and trade.spread_ticks > WIDE_SPREAD_TICKS
    rule: PriceRule = "mid" if wide else ("ask1" if trade.side == "buy" else "bid1")
    price = "the mid (spread wide)" if wide else f"the {rule} touch"
    limit = _first_allowed(inp, "00", "02")
    small = is_small(trade)

    if phase in (Phase.CLOSED_DAY, Phase.POST_CLOSE) or inp.minutes_to_close <= 0:
        return _choice(inp, trade, limit, rule, 1, "now", f"no session left today: one limit at {price}, "
                       "sent when the market next opens")
    if phase is Phase.CLOSING_AUCTION:
        return _choice(inp, trade, limit, rule, 1, "closing_auction",
                       f"closing auction under way: one limit at {price} in the auction")
    if phase is Phase.CONTINUOUS and continuous_minutes_left(inp) < NEAR_CLOSE_MINUTES:
        if small and "02" in inp.allowed_order_types:
            return _choice(inp, trade, "02", rule, 1, "now", f"near the close: one conditional limit at {price}, "
                           "the unfilled rest joins the closing auction")
        return _choice(inp, trade, limit, rule, 1, "closing_auction",
                       f"near the close and too large to cross now: one limit at {price} in the closing auction")
    # Before the open, "now" would not be accepted: a one-slice twap waits for continuous trading.
    single_schedule: Schedule = "twap" if phase is Phase.PRE_OPEN else "now"
    if small:
        return _choice(inp, trade, limit, rule, 1, single_schedule, f"small: one limit at {price}")
    slices = min(slices_needed(trade, inp.max_slices), inp.max_slices, max_twap_slices(inp), trade.quantity)
    if slices < 2:
        return _choice(inp, trade, limit, rule, 1, single_schedule,
                       f"large but no room to slice: one limit at {price}")
    return _choice(inp, trade, limit, rule, slices, "twap",
                   f"large: {slices} limit slices at {price} spread over the "
                   f"{continuous_minutes_left(inp):.0f} min of session left")


def rules_plan(inp: PlannerInput) -> ExecutionPlan:
    """One choice per trade, in the input's order."""
    return ExecutionPlan(choices=tuple(choose(inp, trade) for trade in inp.trades), planner="rules")
