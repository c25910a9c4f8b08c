"""check_guardrails: every rule over the proposal; open orders on the run's tickers, and whose they are."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from agent.context import RunContext
from agent.executor.account_state import owner_for
from agent.run_inputs import guardrail_limits
from agent.state import RestingOrder, RunState
from guardrails import check

if TYPE_CHECKING:
    from langgraph.runtime import Runtime  # annotations only: langgraph loads with the graph


def resting_orders(ctx: RunContext, state: RunState, tickers: set[str]) -> list[RestingOrder]:
    """Orders open on the broker for ``tickers`` today, labelled by the journal's ownership."""
    today = ctx.broker.clock.now().date()
    # Rebal's orders are those its journal holds for this broker, account and day: KIS order
    # numbers restart daily, so a number alone never makes a person's order Rebal's.
    owner = owner_for(ctx.broker, ctx.journal, today)
    any_run = ctx.journal.claimed_order_nos(owner)
    this_run = {e.order_no for e in ctx.journal.entries(state.run_id)
                if e.order_no and e.trading_day == owner.trading_day} & any_run
    resting = []
    for record in ctx.broker.client.orders_today(status="open", day=today):
        if record.ticker not in tickers:
            continue
        number = record.order_no
        placed_by = "this run" if number in this_run else "an earlier Rebal run" if number in any_run else "not Rebal"
        resting.append(RestingOrder(**record.model_dump(), ours=number in this_run, placed_by=placed_by))
    return resting


def check_guardrails(state: RunState, runtime: Runtime[RunContext]) -> dict:
    ctx = runtime.context
    proposal = state.proposal
    assert proposal is not None  # plan_execution ran first
    report = check(proposal, state.snapshot, proposal.made_at, guardrail_limits(ctx, state.excluded))
    resting = [r.model_dump(mode="json") for r in resting_orders(ctx, state, {o.ticker for o in proposal.orders})]
    ctx.transcript.write("guardrails", plan_hash=proposal.digest, passed=report.passed,
                         auto_approvable=report.auto_approvable,
                         results=[r.model_dump(mode="json") for r in (*report.results, *report.headless_results)])
    if resting:
        ctx.transcript.write("open_orders", orders=resting)
    failed = [r.rule_id for r in report.failures]
    ctx.say("guardrails: all passed" if not failed else f"guardrails failed: {', '.join(failed)}")
    return {"guardrails": report.model_dump(mode="json"), "open_orders": resting,
            "approval_requested_at": dt.datetime.now(dt.UTC).isoformat()}
