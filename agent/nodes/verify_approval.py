"""verify_approval: is the answer valid for this exact plan, now? Then where the run goes next.

An approval must echo the plan's hash, may not approve a plan that failed a guardrail, expires
after ``approval.ttl_seconds``, and is void when a traded price moved more than
``approval.quote_tolerance_bp`` since planning. When market time passed, the proposal is checked
again from the approval's moment. An edit goes back through netting and guardrails; an undo
drops the last edit and goes back the same way.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from agent.approval import EditError, check_edits
from agent.context import RunContext
from agent.run_inputs import guardrail_limits
from agent.state import RunState
from guardrails import check
from tools.proposal import Proposal

if TYPE_CHECKING:
    from langgraph.runtime import Runtime  # annotations only: langgraph loads with the graph

QUOTE_RECHECK_AFTER = 1.0  # market seconds


def _moved_bp(ctx: RunContext, state: RunState, proposal: Proposal) -> tuple[float, str]:
    """The largest move of a traded instrument's mid since planning, in bp, and its ticker."""
    worst, where = 0.0, ""
    for ticker in sorted({o.ticker for o in proposal.orders}):
        before = state.quotes[ticker]
        book = ctx.broker.client.order_book(ticker)
        if book.best_bid is None or book.best_ask is None:
            return float("inf"), ticker
        mid_before = (before.bid + before.ask) / 2
        mid_now = (book.best_bid + book.best_ask) / 2
        moved = abs(mid_now - mid_before) / mid_before * 10_000
        if moved > worst:
            worst, where = moved, ticker
    return worst, where


def verify_approval(state: RunState, runtime: Runtime[RunContext]) -> dict:
    ctx = runtime.context
    approval, proposal = state.approval, state.proposal
    assert approval is not None and proposal is not None and state.guardrails is not None  # approve ran first
    ctx.transcript.write("approval", **approval.model_dump(mode="json"), plan_hash_shown=proposal.digest)
    if approval.decision == "reject":
        return {"route": "record", "outcome": "rejected",
                "message": f"rejected by {approval.by}" + (f": {approval.note}" if approval.note else "")}
    if approval.decision == "edit":
        try:  # every edit must name a trade or ticker of the plan shown; refused, the plan stays as it was
            checked = check_edits(approval.edits, [t.model_dump(mode="json") for t in proposal.trades],
                                  {t.ticker: state.snapshot.sellable_of(t.ticker) for t in proposal.trades})
        except EditError as error:
            ctx.say(f"edit refused: {error}")
            return {"route": "approve", "approval_problem": f"edit refused: {error}"}
        edits = [e.model_dump(mode="json") for e in (*state.edits, *checked)]
        ctx.say(f"{len(approval.edits)} edit(s): back through netting and the guardrails")
        return {"route": "compute_trades", "edits": edits, "approval_problem": ""}
    if approval.decision == "undo":
        if not state.edits:  # the terminal says so itself; another client gets the plan back unchanged
            return {"route": "approve", "approval_problem": "nothing to undo: no edit has been applied"}
        ctx.say(f"undo {state.edits[-1].kind} edit: back through netting and the guardrails")
        return {"route": "compute_trades", "edits": [e.model_dump(mode="json") for e in state.edits[:-1]],
                "approval_problem": ""}
    if approval.plan_hash != proposal.digest:
        return {"route": "approve", "approval_problem": "the approval names a different plan than the one shown"}
    if not state.guardrails.passed:
        return {"route": "approve", "approval_problem": "a guardrail failed: this plan cannot be approved "
                                                        "(edit it or reject it)"}
    assert state.approval_requested_at is not None
    answered = dt.datetime.fromisoformat(approval.at)
    if answered.tzinfo is None:
        answered = answered.replace(tzinfo=dt.UTC)
    age = (answered - state.approval_requested_at).total_seconds()
    if age > ctx.config.approval.ttl_seconds:
        ctx.say("approval expired: refreshing the account and prices")
        return {"route": "fetch_account", "approval_problem":
                f"the approval came {age:.0f} s after the plan (limit {ctx.config.approval.ttl_seconds:.0f} s); "
                "the plan was refreshed"}
    # Prices can only have moved if market time passed since the plan's quotes (an instant
    # auto-approval on the same tick needs no second look at the book).
    now = ctx.broker.clock.now()
    stale = (now - proposal.made_at).total_seconds() >= QUOTE_RECHECK_AFTER
    moved, ticker = _moved_bp(ctx, state, proposal) if stale else (0.0, "")
    if moved > ctx.config.approval.quote_tolerance_bp:
        ctx.say(f"{ticker} moved {moved:.0f} bp since planning: refreshing")
        return {"route": "fetch_account", "approval_problem":
                f"{ticker} moved {moved:.0f} bp since the plan (limit {ctx.config.approval.quote_tolerance_bp:.0f} bp); "
                "the plan was refreshed"}
    if stale:
        # The person took time: the approved proposal is judged again from now (the session may
        # have moved on while they read it). A plan that no longer fits is refused before any order.
        report = check(proposal, state.snapshot, now, guardrail_limits(ctx, state.excluded), headless=False)
        ctx.transcript.write("guardrails", stage="approval", plan_hash=proposal.digest, passed=report.passed,
                             results=[r.model_dump(mode="json") for r in report.results])
        if not report.passed:
            why = "; ".join(f"{r.rule_id}: {r.message}" for r in report.failures[:3])
            return {"route": "record", "outcome": "blocked",
                    "message": f"approved at {now:%H:%M} KST, but the plan no longer passes its guardrails ({why}). "
                               "No order was sent; the account is as it was."}
    # Headless, Rebal's own leftovers (an earlier run's resting orders) are cancelled by the executor;
    # orders Rebal did not place stop the run, since only a person may decide about them.
    foreign = [o for o in state.open_orders if o.placed_by == "not Rebal"]
    if approval.by == "auto-approve" and foreign:
        listing = ", ".join(f"{o.ticker} {o.side} {o.remaining_quantity} (no. {o.order_no[-4:]})" for o in foreign)
        return {"route": "record", "outcome": "blocked",
                "message": f"orders Rebal did not place are resting on this run's tickers ({listing}); cancel "
                           "them or run interactively"}
    return {"route": "execute", "approval_problem": ""}


def route_after_verification(state: RunState) -> str:
    return state.route
