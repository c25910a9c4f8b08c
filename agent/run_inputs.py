"""The run's settings as the guardrails and the proposal need them (one place for both)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from agent.context import RunContext
from guardrails import GuardrailLimits
from tools.netting import NettingResult
from tools.plan import ExecutionPlan, Quote
from tools.proposal import Proposal, make_proposal
from tools.schedule import SessionDay


def guardrail_limits(ctx: RunContext, excluded: Iterable[str] = ()) -> GuardrailLimits:
    """The config's thresholds; tickers locked in the config or excluded by the person are not held
    to the weight tolerance (they are deliberately left as they are)."""
    return ctx.config.guardrails.model_copy(update={
        "money": ctx.config.money, "max_slices": ctx.config.planner.max_slices,
        "tolerance_exempt": frozenset(ctx.config.rebalance.locked) | frozenset(excluded)})


def propose(ctx: RunContext, netting: NettingResult, plan: ExecutionPlan, quotes: dict[str, Quote],
            at: dt.datetime) -> Proposal:
    """``tools.proposal.make_proposal`` with the run's money rules, session and timetable settings."""
    return make_proposal(netting, plan, quotes, money=ctx.config.money, session=SessionDay.of(ctx.calendar, at),
                         timetable=ctx.config.timetable, at=at)
