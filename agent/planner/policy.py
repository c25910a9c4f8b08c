"""What any plan must satisfy for a given input, shared by both planners.

The LLM's answer is accepted only when ``plan_problems`` finds nothing; the rules planner is
built to satisfy the same checks whenever any plan can. They mirror the ``plan.*``,
``krx.order_type_session`` and ``schedule.*`` guardrails: the whole plan's worst-case timetable
(``tools.schedule``: sells, then buys once every sell is done, each slice within its fill
window) is computed from the input's session times and settings exactly as the guardrails
compute it, so an infeasible answer is caught here and repaired or replaced before the
guardrails ever see it.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from agent.planner.models import PlannerInput, TradeFeatures
from tools.market import OrderType
from tools.plan import PRICED_ORDER_TYPES, ExecutionPlan, OrderChoice, slice_quantities
from tools.schedule import Timetable, make_timetable, stage_times, twap_times

MIN_SLICE_MINUTES = 3.0  # TWAP slices at least this far apart


@dataclass(frozen=True)
class PlannedSlice:
    """One order slice as ``build_orders`` will make it, without its price (a ``SliceSpec``)."""

    order_id: str
    trade_id: str
    side: str
    schedule: str
    order_type: OrderType
    slice_no: int
    slice_count: int


def planned_slices(trade: TradeFeatures, choice: OrderChoice) -> list[PlannedSlice]:
    parts = slice_quantities(trade.quantity, choice.slices)
    return [PlannedSlice(order_id=f"{trade.trade_id}/{number}", trade_id=trade.trade_id, side=trade.side,
                         schedule=choice.schedule, order_type=OrderType(choice.order_type), slice_no=number,
                         slice_count=len(parts))
            for number in range(1, len(parts) + 1)]


def stage_begin(inp: PlannerInput) -> dt.datetime:
    """When the first stage (the sells; the buys when there are none) can begin."""
    assert inp.session is not None
    return max(inp.start, inp.session.open)


def plan_timetable(inp: PlannerInput, plan: ExecutionPlan) -> Timetable | None:
    """The plan's worst-case timetable from ``inp.as_of``; None when the session is unknown."""
    if inp.session is None:
        return None
    slices: list[PlannedSlice] = []
    for trade in inp.trades:
        choice = plan.choice_for(trade.trade_id)
        if choice is not None:
            slices += planned_slices(trade, choice)
    return make_timetable(slices, inp.start, inp.session, inp.timetable)


def twap_room(inp: PlannerInput, begin: dt.datetime) -> int:
    """How many TWAP slices fit, ``MIN_SLICE_MINUTES`` apart, in a stage beginning at ``begin``."""
    assert inp.session is not None
    first = max(begin, inp.session.at(inp.timetable.twap_start), inp.session.open)
    window = (inp.session.at(inp.timetable.twap_end) - first).total_seconds() / 60
    return max(0, int(window // MIN_SLICE_MINUTES))


def twap_spacing_problem(inp: PlannerInput, choice: OrderChoice, trade: TradeFeatures,
                         begin: dt.datetime) -> str | None:
    """A TWAP whose slices would be less than ``MIN_SLICE_MINUTES`` apart (the window being over
    is the timetable's problem)."""
    assert inp.session is not None
    count = len(slice_quantities(trade.quantity, choice.slices))
    if choice.schedule != "twap" or count < 2:
        return None
    times = twap_times(begin, count, inp.session, inp.timetable)
    if times is None:
        return None
    step = (times[1] - times[0]).total_seconds() / 60
    if step < MIN_SLICE_MINUTES - 1e-9:
        return (f"{choice.trade_id}: twap with {count} slices from {times[0]:%H:%M} to "
                f"{inp.timetable.twap_end:%H:%M} puts them {step:.1f} min apart; at least "
                f"{MIN_SLICE_MINUTES:g} min: use at most {twap_room(inp, begin)} slices")
    return None


def timing_problems(inp: PlannerInput, choice: OrderChoice, trade: TradeFeatures, begin: dt.datetime) -> list[str]:
    """Why ``choice`` does not fit a stage beginning at ``begin`` (its slices alone: stages are
    judged slice by slice, so a stage fits when each of its trades does)."""
    assert inp.session is not None
    _, problems = stage_times(planned_slices(trade, choice), begin, inp.session, inp.timetable)
    spacing = twap_spacing_problem(inp, choice, trade, begin)
    return problems + ([spacing] if spacing else [])


def _price_rule_problem(choice: OrderChoice, trade: TradeFeatures) -> str | None:
    if choice.order_type not in PRICED_ORDER_TYPES:
        return None
    needs = {"bid1": ("bid",), "ask1": ("ask",), "mid": ("bid", "ask")}.get(choice.price_rule or "", ())
    missing = [side for side in needs if getattr(trade, side) is None]
    if missing:
        return f"price rule {choice.price_rule} needs a quote but {'/'.join(missing)} is unknown"
    return None


def choice_problems(inp: PlannerInput, choice: OrderChoice, trade: TradeFeatures) -> list[str]:
    """Why ``choice`` is not acceptable for ``trade`` whatever the time (empty when it is); the
    timetable (``plan_problems``) judges when its slices go out and whether they finish."""
    where = choice.trade_id
    problems = []
    if choice.order_type not in inp.allowed_order_types:
        problems.append(f"{where}: order_type {choice.order_type} is not in allowed_order_types "
                        f"{inp.allowed_order_types}")
    if choice.slices > inp.max_slices:
        problems.append(f"{where}: {choice.slices} slices exceed max_slices {inp.max_slices}")
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


def schedule_problems(inp: PlannerInput, plan: ExecutionPlan) -> list[str]:
    """The whole plan's timetable problems (and what to do), and TWAP slices packed too close."""
    table = plan_timetable(inp, plan)
    if table is None:
        return ["the session's times are unknown (no session in the input): the timetable cannot be checked"]
    problems = list(table.problems)
    if problems:
        problems.append(f"what to do: {table.advice}")
    for trade in inp.trades:
        choice = plan.choice_for(trade.trade_id)
        if choice is None:
            continue
        begin = (table.buys_start if trade.side == "buy" else None) or stage_begin(inp)
        spacing = twap_spacing_problem(inp, choice, trade, begin)
        if spacing:
            problems.append(spacing)
    return problems


def plan_problems(inp: PlannerInput, plan: ExecutionPlan) -> list[str]:
    """Exactly one choice per input trade id, each acceptable, and the whole plan's timetable
    fits today's session; empty when the plan may be used."""
    trades = {t.trade_id: t for t in inp.trades}
    counts = Counter(c.trade_id for c in plan.choices)
    problems = [f"{t}: {n} choices for one trade (give exactly one)" for t, n in counts.items() if n > 1]
    problems += [f"{t}: unknown trade_id (not in the input)" for t in counts if t not in trades]
    problems += [f"{t}: missing (every trade_id needs a choice)" for t in trades if t not in counts]
    for choice in plan.choices:
        trade = trades.get(choice.trade_id)
        if trade is not None:
            problems += choice_problems(inp, choice, trade)
    if inp.trades:
        problems += schedule_problems(inp, plan)
    return problems
