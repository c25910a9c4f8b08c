"""plan_execution: the planner chooses how to execute each trade; orders are rebuilt from the trades.

The LLM (when configured) sees only computed features; its answer can change order types, price
rules and slicing, never tickers, sides or quantities (``tools.plan.build_orders``).
"""

from __future__ import annotations

import datetime as dt

from langgraph.runtime import Runtime

from agent.context import RunContext
from agent.run_inputs import plan_quotes
from agent.state import RunState
from tools.kis.models import BookLevel, OrderBook
from tools.netting import NettingResult
from tools.plan import ExecutionPlan, OrderChoice, build_orders

ADV_LOOKBACK_DAYS = 45  # calendar days of daily bars: ~30 sessions for volume and volatility


def apply_order_type_edits(plan: ExecutionPlan, edits: list[dict]) -> ExecutionPlan:
    changes = {e["trade_id"]: e["order_type"] for e in edits if e["kind"] == "order_type"}
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
    netting = NettingResult.model_validate(state["netting"])
    quotes = state["quotes"]
    now = ctx.broker.clock.now()
    books = {t: OrderBook(ticker=t, asks=(BookLevel(price=q["ask"], quantity=q["depth_ask"]),),
                          bids=(BookLevel(price=q["bid"], quantity=q["depth_bid"]),), quoted_at="",
                          price=q["price"], base_price=q["base_price"])
             for t, q in quotes.items()}
    traded = sorted({t.ticker for t in netting.trades})
    bars = {t: ctx.broker.client.daily_bars(t, now.date() - dt.timedelta(days=ADV_LOOKBACK_DAYS), now.date())
            for t in traded}
    section = ctx.config.planner
    settings = PlannerSettings(model=section.model, timeout=section.timeout, max_retries=section.max_retries,
                               max_output_tokens=section.max_output_tokens, token_budget=section.token_budget,
                               max_slices=section.max_slices)
    allowed = sorted(ctx.config.guardrails.allowed_order_types)
    inputs = compute_features(state["run_id"], netting.trades, books, bars, now, ctx.calendar,
                              {t: q["name"] for t, q in quotes.items()}, max_slices=section.max_slices,
                              allowed_order_types=tuple(allowed))
    ctx.transcript.write("planner_input", **inputs.model_dump(mode="json"))
    ctx.say("planning execution" + (f" with {section.model}" if ctx.planner_model is not None else " by rules"))
    result = run_planner(inputs, settings, model=ctx.planner_model)
    for call in result.calls:
        ctx.transcript.write("llm_call", **call.model_dump(mode="json"))
    reason = result.reason if ctx.planner_model is not None or not ctx.planner_note else ctx.planner_note
    plan = apply_order_type_edits(result.plan, state.get("edits") or [])
    orders = build_orders(netting.trades, plan, plan_quotes(state))
    planner = {"plan": plan.model_dump(mode="json"), "planner": result.planner, "reason": reason,
               "calls": [c.model_dump(mode="json") for c in result.calls]}
    ctx.transcript.write("plan", planner=result.planner, reason=reason, plan=planner["plan"],
                         orders=[o.model_dump(mode="json") for o in orders])
    ctx.say(f"planner: {result.planner} ({reason})")
    return {"planner": planner, "orders": [o.model_dump(mode="json") for o in orders]}
