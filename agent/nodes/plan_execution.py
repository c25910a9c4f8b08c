"""plan_execution: the planner chooses how to execute each trade; the proposal is made from both.

The LLM (when configured) sees only computed features; its answer can change order types, price
rules and slicing, never tickers, sides or quantities (``tools.proposal.make_proposal`` builds
the orders from the trades).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

from agent.approval import Edit
from agent.context import RunContext
from agent.run_inputs import propose
from agent.state import PlannerRecord, RunState
from tools.kis.models import BookLevel, OrderBook
from tools.netting import Trade
from tools.plan import ExecutionPlan, OrderChoice

if TYPE_CHECKING:
    from langgraph.runtime import Runtime  # annotations only: langgraph loads with the graph

ADV_LOOKBACK_DAYS = 45  # calendar days of daily bars: ~30 sessions for volume and volatility


def order_type_changes(edits: Sequence[Edit], trades: Sequence[Trade]) -> tuple[dict[str, str], list[str]]:
    """{trade id: order type} of the person's order-type edits on ``trades``, matched by the ticker
    and side they were checked against (by trade id for an unchecked edit); notes on edits whose
    trade is no longer in the plan."""
    from agent.nodes.compute_trades import edit_key

    by_key = {(t.ticker, t.side): t.trade_id for t in trades}
    ids = {t.trade_id: (t.ticker, t.side) for t in trades}
    changes, notes = {}, []
    for edit in (e for e in edits if e.kind == "order_type" and e.order_type):
        trade_id = by_key.get(edit_key(edit, ids))  # type: ignore[arg-type]
        if trade_id is None:
            notes.append(f"order type edit of {edit.trade_id} not applied: that trade is no longer in the plan")
            continue
        changes[trade_id] = edit.order_type
    return changes, notes


def apply_order_type_edits(plan: ExecutionPlan, changes: dict[str, str]) -> ExecutionPlan:
    """The plan with the person's order types ({trade id: order type})."""
    if not changes:
        return plan
    choices = []
    for choice in plan.choices:
        new_type = changes.get(choice.trade_id)
        if new_type is None:
            choices.append(choice)
            continue
        priced = new_type in ("00", "02")
        choices.append(OrderChoice(trade_id=choice.trade_id, order_type=new_type,
                                   price_rule=(choice.price_rule or "mid") if priced else None,
                                   offset_ticks=choice.offset_ticks if priced else 0, slices=choice.slices,
                                   schedule=choice.schedule, rationale=f"order type {new_type} set by the person"))
    return plan.model_copy(update={"choices": tuple(choices), "planner": plan.planner + "+edit"})


def plan_execution(state: RunState, runtime: Runtime[RunContext]) -> dict:
    from agent.planner import PlannerSettings, compute_features
    from agent.planner import plan_execution as run_planner

    ctx = runtime.context
    netting = state.netting
    assert netting is not None  # compute_trades ran first
    quotes = state.quotes
    now = ctx.broker.clock.now()
    books = {t: OrderBook(ticker=t, asks=(BookLevel(price=q.ask, quantity=q.depth_ask),),
                          bids=(BookLevel(price=q.bid, quantity=q.depth_bid),), quoted_at="",
                          price=q.price, base_price=q.base_price)
             for t, q in quotes.items()}
    traded = sorted({t.ticker for t in netting.trades})
    bars = {t: ctx.broker.client.daily_bars(t, now.date() - dt.timedelta(days=ADV_LOOKBACK_DAYS), now.date())
            for t in traded}
    section = ctx.config.planner
    settings = PlannerSettings(model=section.model, base_url=section.base_url, timeout=section.timeout,
                               max_retries=section.max_retries, max_output_tokens=section.max_output_tokens,
                               token_budget=section.token_budget, max_slices=section.max_slices)
    allowed = sorted(ctx.config.guardrails.allowed_order_types)
    inputs = compute_features(state.run_id, netting.trades, books, bars, now, ctx.calendar,
                              {t: q.name for t, q in quotes.items()}, max_slices=section.max_slices,
                              allowed_order_types=tuple(allowed), timetable=ctx.config.timetable)
    ctx.transcript.write("planner_input", **inputs.model_dump(mode="json"))
    ctx.say("planning execution" + (f" with {section.model}" if ctx.planner_model is not None else " by rules"))
    result = run_planner(inputs, settings, model=ctx.planner_model)
    for call in result.calls:
        ctx.transcript.write("llm_call", **call.model_dump(mode="json"))
    reason = result.reason if ctx.planner_model is not None or not ctx.planner_note else ctx.planner_note
    changes, notes = order_type_changes(state.edits, netting.trades)
    plan = apply_order_type_edits(result.plan, changes)
    proposal = propose(ctx, netting, plan, state.plan_quotes, now)
    planner = PlannerRecord(planner=result.planner, reason=reason, calls=tuple(result.calls))
    ctx.transcript.write("plan", planner=result.planner, reason=reason, plan=plan.model_dump(mode="json"),
                         orders=[o.model_dump(mode="json") for o in proposal.orders],
                         committed=proposal.committed, proceeds=proposal.proceeds,
                         cash_path=[c.model_dump(mode="json") for c in proposal.cash_path], digest=proposal.digest)
    ctx.say(f"planner: {result.planner} ({reason})")
    update = {"planner": planner.model_dump(mode="json"), "proposal": proposal.model_dump(mode="json")}
    if notes:
        for note in notes:
            ctx.say(note)
        update["approval_problem"] = "; ".join(filter(None, [state.approval_problem, *notes]))
    return update
