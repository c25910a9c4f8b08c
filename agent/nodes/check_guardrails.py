"""check_guardrails: every rule over the trades, plan and orders; open orders on the run's tickers."""

from __future__ import annotations

import datetime as dt

from langgraph.runtime import Runtime

from agent.approval import plan_hash
from agent.context import RunContext
from agent.run_inputs import guardrail_context
from agent.state import RunState
from guardrails import check_all


def check_guardrails(state: RunState, runtime: Runtime[RunContext]) -> dict:
    ctx = runtime.context
    report = check_all(guardrail_context(ctx, state))
    tickers = {o["ticker"] for o in state["orders"]}
    resting = [r.model_dump(mode="json") for r in ctx.broker.client.orders_today(
        status="open", day=ctx.broker.clock.now().date()) if r.ticker in tickers]
    this_run = {e.order_no for e in ctx.journal.entries(state["run_id"]) if e.order_no}
    any_run = ctx.journal.claimed_order_nos()
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
