"""Static targets under a drift policy, and the schedule of regular contributions.

The static strategy never changes its targets: it asks for one allocation at the start and
leaves every later trade to the policy (``tools.drift.TriggerPolicy`` from a preset such as
``threshold-rel20``). Contributions arrive on the first session of each month (or quarter); during
the optional opening period they are invested buy-only and nothing is rebalanced.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from tools.strategies.base import PlanTargets, TargetChange, TargetPlan
from tools.strategies.params import ContributionSpec


def static_plan(targets: PlanTargets, *, first_index: int) -> TargetPlan:
    return TargetPlan(changes=[TargetChange(first_index, targets, True, "initial allocation to the static targets")])


@dataclass(frozen=True)
class CashFlowSchedule:
    flows: dict[int, int]  # session index → amount (+ contribution, − withdrawal)
    quiet_until: int  # sessions before this index see no policy rebalancing (opening period)


def add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return dt.date(year, month, 1)


def contribution_schedule(dates: Sequence[dt.date], spec: ContributionSpec | None, *,
                          first_index: int, last_index: int | None = None) -> CashFlowSchedule:
    """Flows on the first session of each month (quarter) after ``first_index``, up to ``last_index``."""
    last = len(dates) - 1 if last_index is None else last_index
    if spec is None:
        return CashFlowSchedule({}, first_index)
    start = dates[first_index]
    quiet_end = add_months(start, spec.opening_months) if spec.opening_months else start
    flows: dict[int, int] = {}
    quiet_until = first_index
    for index in range(first_index + 1, last + 1):
        day, before = dates[index], dates[index - 1]
        if day < quiet_end:
            quiet_until = index + 1
        new_period = day.month != before.month and (spec.every == "monthly" or day.month in (1, 4, 7, 10))
        if new_period and (spec.months is None or len(flows) < spec.months):
            flows[index] = spec.amount
    return CashFlowSchedule(flows, quiet_until)
