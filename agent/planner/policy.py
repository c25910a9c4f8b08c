"""What any plan must satisfy for a given input, shared by both planners.

The LLM's answer is accepted only when ``plan_problems`` finds nothing; the rules planner is
built to satisfy the same checks. They mirror the ``plan.*`` and ``krx.order_type_session``
guardrails, so a rejected answer is caught here and repaired or replaced before the guardrails
ever see it.
"""

from __future__ import annotations

from collections import Counter

from agent.planner.models import PlannerInput, TradeFeatures
from tools.market import OrderType, Phase, order_type_allowed
from tools.plan import PRICED_ORDER_TYPES, ExecutionPlan, OrderChoice, slice_quantities

CLOSING_AUCTION_MINUTES = 10.0  # KRX: 15:20–15:30 call auction
CONTINUOUS_SESSION_MINUTES = 380.0  # 09:00–15:20
MIN_SLICE_MINUTES = 3.0  # a TWAP slice needs at least this much of the continuous session

_BEFORE_CLOSE = (Phase.PRE_OPEN, Phase.OPENING_AUCTION, Phase.CONTINUOUS)


def continuous_minutes_left(inp: PlannerInput) -> float:
    """Minutes of today's continuous session still ahead (0 once the closing auction has begun)."""
    if Phase(inp.phase) not in _BEFORE_CLOSE:
        return 0.0
    return min(CONTINUOUS_SESSION_MINUTES, max(0.0, inp.minutes_to_close - CLOSING_AUCTION_MINUTES))


def schedule_phase(schedule: str, phase: Phase) -> Phase:
    """The phase a schedule places its orders in ("now" means the current one), as the
    ``krx.order_type_session`` guardrail sees it."""
    return {"twap": Phase.CONTINUOUS, "closing_auction": Phase.CLOSING_AUCTION}.get(schedule, phase)


def max_twap_slices(inp: PlannerInput) -> int:
    return int(continuous_minutes_left(inp) // MIN_SLICE_MINUTES)


def _price_rule_problem(choice: OrderChoice, trade: TradeFeatures) -> str | None:
    if choice.order_type not in PRICED_ORDER_TYPES:
        return None
    needs = {"bid1": ("bid",), "ask1": ("ask",), "mid": ("bid", "ask")}.get(choice.price_rule or "", ())
    missing = [side for side in needs if getattr(trade, side) is None]
    if missing:
        return f"price rule {choice.price_rule} needs a quote but {'/'.join(missing)} is unknown"
    return None


def choice_problems(inp: PlannerInput, choice: OrderChoice, trade: TradeFeatures) -> list[str]:
    """Why ``choice`` is not acceptable for ``trade`` now (empty when it is)."""
    where = choice.trade_id
    problems = []
    if choice.order_type not in inp.allowed_order_types:
        problems.append(f"{where}: order_type {choice.order_type} is not in allowed_order_types "
                        f"{inp.allowed_order_types}")
    if choice.slices > inp.max_slices:
        problems.append(f"{where}: {choice.slices} slices exceed max_slices {inp.max_slices}")
    phase = schedule_phase(choice.schedule, Phase(inp.phase))
    if not order_type_allowed(OrderType(choice.order_type), phase):
        problems.append(f"{where}: order_type {choice.order_type} is not accepted in phase {phase.value} "
                        f"(schedule {choice.schedule})")
    if choice.schedule == "twap":
        if continuous_minutes_left(inp) <= 0:
            problems.append(f"{where}: twap impossible, no continuous session left today")
        elif choice.slices > max(1, max_twap_slices(inp)):
            problems.append(f"{where}: twap with {choice.slices} slices needs {MIN_SLICE_MINUTES:g} min each, "
                            f"only {continuous_minutes_left(inp):.0f} min of continuous session left")
    if choice.schedule == "closing_auction" and inp.minutes_to_close <= 0:
        problems.append(f"{where}: no closing auction left today")
    price_problem = _price_rule_problem(choice, trade)
    if price_problem:
        problems.append(f"{where}: {price_problem}")
    if choice.order_type == OrderType.MARKET.value:
        # A market order may only take what rests at the touch: it must never walk the book.
        largest = max(slice_quantities(trade.quantity, choice.slices))
        if largest > trade.depth_at_touch:
            problems.append(f"{where}: market order slice of {largest} shares exceeds depth_at_touch "
                            f"{trade.depth_at_touch}")
    return problems


def plan_problems(inp: PlannerInput, plan: ExecutionPlan) -> list[str]:
    """Exactly one choice per input trade id, each acceptable; empty when the plan may be used."""
    trades = {t.trade_id: t for t in inp.trades}
    counts = Counter(c.trade_id for c in plan.choices)
    problems = [f"{t}: {n} choices for one trade (give exactly one)" for t, n in counts.items() if n > 1]
    problems += [f"{t}: unknown trade_id (not in the input)" for t in counts if t not in trades]
    problems += [f"{t}: missing (every trade_id needs a choice)" for t in trades if t not in counts]
    for choice in plan.choices:
        trade = trades.get(choice.trade_id)
        if trade is not None:
            problems += choice_problems(inp, choice, trade)
    return problems
