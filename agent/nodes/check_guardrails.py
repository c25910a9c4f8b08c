"""check_guardrails: every rule over the trades, plan and orders; open orders on the run's tickers."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from agent.approval import plan_hash
from agent.context import RunContext
from agent.executor.account_state import owner_for
from agent.run_inputs import guardrail_context
from agent.state import RunState
from guardrails import check_all

if TYPE_CHECKING:
    from langgraph.runtime import Runtime  # annotations only: langgraph loads with the graph


def check_guardrails(state: RunState, runtime: Runtime[RunContext]) -> dict:
    ctx = runtime.context
    report = check_all(guardrail_context(ctx, state))
    tickers = {o["ticker"] for o in state["orders"]}
    today = ctx.broker.clock.now().date()
    resting = [r.model_dump(mode="json") for r in ctx.broker.client.orders_today(status="open", day=today)
               if r.ticker in tickers]
    # Rebal's orders are those its journal holds for this broker, account and day: KIS order
    # numbers restart daily, so a number alone never makes a person's order Rebal's.
    owner = owner_for(ctx.broker, ctx.journal, today)
    any_run = ctx.journal.claimed_order_nos(owner)
    this_run = {e.order_no for e in ctx.journal.entries(state["run_id"])
                if e.order_no and e.trading_day == owner.trading_day} & any_run
    for order in resting:
        order["ours"] = order["order_no"] in this_run
        order["placed_by"] = ("this run" if order["ours"] else
                              "an earlier Rebal run" if order["order_no"] in any_run else "not Rebal")
    digest = plan_hash(state["netting"]["trades"], state["orders"])
    ctx.transcript.write("guardrails", plan_hash=digest, passed=report.passed, auto_approvable=report.auto_approvable,
                         results=[r.model_dump(mode="json") for r in (*report.results, *report.headless_results)])
    if resting:
        ctx.transcript.write("open_orders", orders=resting)
    failed = [r.rule_id for r in report.failures]
    ctx.say("guardrails: all passed" if not failed else f"guardrails failed: {', '.join(failed)}")
    return {"guardrails": report.model_dump(mode="json") | {"passed": report.passed,
                                                             "auto_approvable": report.auto_approvable},
            "open_orders": resting, "plan_hash": digest,
            "approval_requested_at": dt.datetime.now(dt.UTC).isoformat(),
            "planned_at_market": ctx.broker.clock.now().isoformat()}
