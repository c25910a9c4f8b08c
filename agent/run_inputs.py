"""Typed inputs rebuilt from the JSON-plain run state, shared by the nodes and the executor."""

from __future__ import annotations

from agent.context import RunContext
from agent.state import RunState
from guardrails import GuardrailContext
from tools.netting import NettingResult
from tools.plan import ExecutionPlan, Order, Quote
from tools.portfolio import AccountSnapshot
from tools.schedule import SessionDay


def plan_quotes(state: RunState) -> dict[str, Quote]:
    return {t: Quote(ticker=t, bid=q["bid"], ask=q["ask"], base_price=q["base_price"], kind=q["kind"])
            for t, q in state["quotes"].items()}


def guardrail_context(ctx: RunContext, state: RunState, *, orders: list[Order] | None = None,
                      netting: NettingResult | None = None,
                      snapshot: AccountSnapshot | None = None) -> GuardrailContext:
    netting = netting or NettingResult.model_validate(state["netting"])
    excluded = {e["ticker"] for e in state.get("edits") or [] if e["kind"] == "exclude" and e.get("ticker")}
    limits = ctx.config.guardrails.model_copy(update={
        "money": ctx.config.money, "max_slices": ctx.config.planner.max_slices,
        "tolerance_exempt": frozenset(ctx.config.rebalance.locked) | excluded})
    now = ctx.broker.clock.now()  # the timetable starts here: sells now, then the buys
    return GuardrailContext.from_netting(
        netting, snapshot or AccountSnapshot.model_validate(state["account"]["snapshot"]),
        plan=ExecutionPlan.model_validate(state["planner"]["plan"]),
        orders=tuple(orders if orders is not None else (Order.model_validate(o) for o in state["orders"])),
        quotes=plan_quotes(state), phase=ctx.calendar.phase(now), limits=limits,
        start=now, session=SessionDay.of(ctx.calendar, now), timetable_settings=ctx.config.timetable)
