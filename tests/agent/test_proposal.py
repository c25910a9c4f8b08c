"""The proposal is one typed object from planning to the last order: checkpointed as JSON, loaded
only when its content matches its hash, judged again when the person approves, and the buy stage is
the same proposal's buys (shrunk by the named rule), never a plan made again."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from support.runkit import ScriptedApprover, approve, make_config, now_iso, reject, runner
from support.truthkit import account_orders, set_clock

from agent.approval import Approval
from agent.runner import EXIT_BLOCKED
from agent.state import RunState
from agent.transcript import read_events
from paper.ledger import Side
from tools.proposal import Proposal


def _shown(tmp_path, **sections):
    """A real interactive run's first request and state values (the person then rejects)."""
    approver = ScriptedApprover(reject)
    seen = []

    def keep(request, values):
        seen.append(values)
        return approver(request, values)

    with runner(make_config(tmp_path, **sections)) as r:
        r.start(keep)
    return approver.requests[0], seen[0]


def test_the_checkpointed_proposal_round_trips_and_a_changed_one_does_not_load(tmp_path):
    request, values = _shown(tmp_path)
    state = RunState.model_validate(values)  # what LangGraph hands every node
    proposal = state.proposal
    assert proposal is not None
    assert proposal.digest == request["plan_hash"]
    assert Proposal.model_validate(proposal.model_dump(mode="json")) == proposal
    assert [o.model_dump(mode="json") for o in proposal.orders] == request["orders"]

    # The cash path is the orders' own figures: sells bring in their proceeds, buys commit their reservation.
    before, after_sells, after_buys = proposal.cash_path
    assert after_sells.cash - before.cash == proposal.total_proceeds == sum(proposal.proceeds.values())
    assert after_sells.cash - after_buys.cash == proposal.total_committed == request["committed"]
    assert set(proposal.committed) == {o.order_id for o in proposal.orders if o.side == "buy"}

    # A checkpoint edited by hand (one more share on one order) is refused on load.
    changed = proposal.model_dump(mode="json")
    changed["orders"][0]["quantity"] += 1
    with pytest.raises(ValidationError, match="changed after it was made"):
        Proposal.model_validate(changed)


def test_the_buy_stage_is_the_approved_buys_shrunk_by_the_named_rule(tmp_path):
    _, values = _shown(tmp_path)
    proposal = RunState.model_validate(values).proposal
    assert proposal is not None
    buys = [t for t in proposal.trades if t.side == "buy"]
    assert len(buys) >= 2
    kept, dropped = buys[0], buys[1]
    stage = proposal.buys_only({kept.trade_id: kept.quantity - 1, dropped.trade_id: 0}, proposal.made_at)
    assert [t.trade_id for t in stage.trades] == [kept.trade_id]
    assert sum(o.quantity for o in stage.orders) == kept.quantity - 1
    # Same execution choices: order type, price and schedule of every slice are the approved ones.
    approved = {(o.order_type, o.limit_price, o.schedule) for o in proposal.orders if o.trade_id == kept.trade_id}
    assert {(o.order_type, o.limit_price, o.schedule) for o in stage.orders} == approved
    assert stage.orders_of("sell") == [] and stage.digest != proposal.digest


def test_an_approval_given_too_late_in_the_session_is_refused_before_any_order(tmp_path):
    # Planned at 14:00; the person answers when the market clock shows 15:27. The proposal is
    # judged again from the approval's moment: it can no longer finish today, so nothing is sent.
    def late_approve(request, values):
        set_clock(r, 15, 27)
        return Approval(decision="approve", plan_hash=request["plan_hash"], by="test", at=now_iso())

    config = make_config(tmp_path, approval={"quote_tolerance_bp": 3000})
    with runner(config) as r:
        set_clock(r, 14, 0)
        approver = ScriptedApprover(late_approve)
        result = r.start(approver)
        orders = account_orders(r.broker.embedded.exchange, r.broker.account)
        transcript = result.transcript
    assert approver.requests[0]["guardrails_passed"]  # the plan was fine when it was shown
    assert (result.outcome, result.exit_code) == ("blocked", EXIT_BLOCKED), result.message
    assert orders == []
    assert "no longer passes its guardrails" in result.message and "No order was sent" in result.message
    checks = [e.data for e in read_events(transcript) if e.kind == "guardrails" and e.data.get("stage") == "approval"]
    assert checks and checks[0]["passed"] is False


def test_an_approval_in_time_executes_the_proposal_it_names(tmp_path):
    with runner(make_config(tmp_path)) as r:
        approver = ScriptedApprover(approve)
        result = r.start(approver)
        orders = account_orders(r.broker.embedded.exchange, r.broker.account)
    shown = approver.requests[0]["orders"]
    assert result.exit_code == 0, result.message
    sent = sorted((o.ticker, "buy" if o.side is Side.BUY else "sell", o.quantity) for o in orders)
    assert sent == sorted((o["ticker"], o["side"], o["quantity"]) for o in shown)
