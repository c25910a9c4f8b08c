"""End-to-end runs in-process against the embedded paper exchange: approval, headless, edits,
rejection, expiry, moved prices, resting orders, nothing to do."""

from __future__ import annotations

import json

import pytest
from support.runkit import ScriptedApprover, approve, edit, exchange_orders, make_config, reject, runner

from agent.approval import Approval, Edit
from agent.runner import EXIT_BLOCKED, EXIT_NEEDS_APPROVAL, EXIT_OK, EXIT_REJECTED, RunExists, auto_approver
from agent.transcript import read_events
from paper.ledger import OrderStatus, Side
from tools.market import OrderType


def kinds(path) -> list[str]:
    return [e.kind for e in read_events(path)]


def test_interactive_approval_executes_and_reaches_the_targets(tmp_path):
    approver = ScriptedApprover(approve)
    with runner(make_config(tmp_path)) as r:
        result = r.start(approver)
        orders = exchange_orders(r)
    assert (result.outcome, result.exit_code) == ("completed", EXIT_OK)
    assert len(approver.requests) == 1 and approver.requests[0]["guardrails_passed"]
    trades = approver.requests[0]["trades"]
    assert len(orders) == len(approver.requests[0]["orders"])
    assert {(o.ticker, o.side.value) for o in orders} == {(t["ticker"], "01" if t["side"] == "sell" else "02")
                                                         for t in trades}
    sells_done = max(o.placed_at for o in orders if o.side is Side.SELL)
    assert all(o.placed_at >= sells_done for o in orders if o.side is Side.BUY)  # sells first
    assert result.report["max_drift"] < 0.01 and result.report["unfilled_quantity"] == 0
    events = kinds(result.transcript)
    for kind in ("run_started", "account", "targets", "drift", "trades", "planner_input", "plan", "guardrails",
                 "approval_requested", "approval", "order_intent", "order_ack", "fill", "report", "run_finished"):
        assert kind in events, kind
    assert events.index("approval") < events.index("order_intent")


def test_headless_auto_approves_inside_the_caps(tmp_path):
    with runner(make_config(tmp_path), headless=True) as r:
        result = r.start(auto_approver)
    assert (result.outcome, result.exit_code) == ("completed", EXIT_OK)
    approval = next(e for e in read_events(result.transcript) if e.kind == "approval")
    assert approval.data["by"] == "auto-approve" and approval.data["decision"] == "approve"


def test_headless_outside_the_caps_stops_and_resumes_with_a_person(tmp_path):
    config = make_config(tmp_path, guardrails={"headless_max_turnover": 0.01})
    with runner(config, headless=True) as r:
        stopped = r.start(auto_approver)
        assert (stopped.exit_code, stopped.awaiting_approval) == (EXIT_NEEDS_APPROVAL, True)
        assert "headless.turnover" in stopped.message and exchange_orders(r) == []
        assert r.state(stopped.run_id).next == ("approve",)
    with runner(config) as r:
        resumed = r.resume(stopped.run_id, ScriptedApprover(approve))
        assert resumed.outcome == "completed" and exchange_orders(r)


def test_rejection_sends_nothing(tmp_path):
    with runner(make_config(tmp_path)) as r:
        result = r.start(ScriptedApprover(reject))
        assert (result.outcome, result.exit_code) == ("rejected", EXIT_REJECTED)
        assert "not today" in result.message and exchange_orders(r) == []


def test_edit_loop_goes_back_through_netting_and_guardrails(tmp_path):
    def first_trade(request, state):
        return request["trades"][0]

    approver = ScriptedApprover(edit(Edit(kind="exclude", ticker="069500")), approve)
    with runner(make_config(tmp_path)) as r:
        result = r.start(approver)
        traded = {o.ticker for o in exchange_orders(r)}
    first, second = approver.requests
    assert "069500" in {t["ticker"] for t in first["trades"]}
    assert "069500" not in {t["ticker"] for t in second["trades"]} and "069500" not in traded
    assert first["plan_hash"] != second["plan_hash"] and result.outcome == "completed"
    assert first_trade(first, {}) is not None


def test_quantity_and_order_type_edits(tmp_path):
    def edits(request, state):
        buy = next(t for t in request["trades"] if t["side"] == "buy")
        return edit(Edit(kind="quantity", trade_id=buy["trade_id"], quantity=1),
                    Edit(kind="order_type", trade_id=buy["trade_id"], order_type="03"))(request, state)

    approver = ScriptedApprover(edits, approve)
    with runner(make_config(tmp_path, guardrails={"weight_tolerance": 0.5})) as r:
        result = r.start(approver)
        orders = exchange_orders(r)
    edited = approver.requests[0]["trades"]
    buy = next(t for t in edited if t["side"] == "buy")
    second = approver.requests[1]
    assert next(t for t in second["trades"] if t["trade_id"] == buy["trade_id"])["quantity"] == 1
    assert next(o for o in second["orders"] if o["trade_id"] == buy["trade_id"])["order_type"] == "03"
    placed = [o for o in orders if o.ticker == buy["ticker"]]
    assert [(o.quantity, o.order_type) for o in placed] == [(1, OrderType.BEST_COUNTER)]
    assert result.outcome == "completed"


def test_an_approval_for_another_plan_is_refused(tmp_path):
    def wrong_hash(request, state):
        return Approval(decision="approve", plan_hash="0" * 64, by="test", at=request["requested_at"])

    approver = ScriptedApprover(wrong_hash, approve)
    with runner(make_config(tmp_path)) as r:
        result = r.start(approver)
    assert approver.requests[1]["problem"] == "the approval names a different plan than the one shown"
    assert result.outcome == "completed"


def test_an_expired_approval_refreshes_the_plan(tmp_path):
    import datetime as dt

    def late(request, state):
        requested = dt.datetime.fromisoformat(request["requested_at"])
        return Approval(decision="approve", plan_hash=request["plan_hash"], by="test",
                        at=(requested + dt.timedelta(seconds=301)).isoformat())

    approver = ScriptedApprover(late, approve)
    with runner(make_config(tmp_path)) as r:
        result = r.start(approver)
    assert "after the plan (limit 300 s)" in approver.requests[1]["problem"]
    assert result.outcome == "completed"
    assert kinds(result.transcript).count("account") == 2  # the account and prices were read again


def test_moved_prices_void_the_approval(tmp_path):
    def after_a_while(request, state):
        r.broker.clock.wait(1800)  # half an hour of market passes while the person thinks
        return approve(request, state)

    approver = ScriptedApprover(after_a_while, approve)
    with runner(make_config(tmp_path, approval={"quote_tolerance_bp": 1})) as r:
        result = r.start(approver)
    assert "since the plan (limit 1 bp)" in approver.requests[1]["problem"]
    assert result.outcome == "completed"


def test_resting_orders_block_headless_and_can_be_cancelled_interactively(tmp_path):
    config = make_config(tmp_path)
    with runner(config, headless=True) as r:
        exchange = r.broker.embedded.exchange
        account = exchange.accounts[r.broker.account]
        bid = exchange.book("069500")[1][5][0]
        manual = exchange.place_order(account, "069500", Side.BUY, OrderType.LIMIT, 1, bid)
        blocked = r.start(auto_approver)
        assert (blocked.outcome, blocked.exit_code) == ("blocked", EXIT_BLOCKED)
        assert "Rebal did not place" in blocked.message and "069500" in blocked.message
    with runner(config) as r:
        approver = ScriptedApprover(lambda q, s: Approval(decision="approve", plan_hash=q["plan_hash"], by="test",
                                                          at=q["requested_at"], cancel_open_orders=True))
        result = r.start(approver, again=True)
        assert [o["order_no"] for o in approver.requests[0]["open_orders"]] == [f"{manual.order_no:010d}"]
        exchange = r.broker.embedded.exchange
        assert exchange.orders[manual.order_no].status is OrderStatus.CANCELLED
        assert result.outcome == "completed"


def test_nothing_to_do_and_the_same_intent_twice(tmp_path):
    config = make_config(tmp_path)
    with runner(config, headless=True) as r:
        first = r.start(auto_approver)
        assert first.outcome == "completed"
        with pytest.raises(RunExists) as exists:
            r.start(auto_approver)
        assert exists.value.finished and first.run_id in str(exists.value)
        again = r.start(auto_approver, again=True)
        with pytest.raises(RunExists) as latest:  # the same intent now names the latest run
            r.start(auto_approver)
        assert again.run_id in str(latest.value)
    assert (again.outcome, again.exit_code) == ("nothing to do", EXIT_OK)
    # Run ids are random, dated and never reused: nothing in them comes from the account.
    assert again.run_id != first.run_id and again.run_id[:11] == first.run_id[:11]
    assert len(again.run_id) == len(first.run_id) == len("2026-12-04-") + 8
    assert "order_intent" not in kinds(again.transcript)


def test_a_malformed_approval_is_refused_without_losing_the_run(tmp_path):
    from langgraph.types import Command
    from pydantic import ValidationError

    with runner(make_config(tmp_path, guardrails={"headless_max_turnover": 0.01}), headless=True) as r:
        stopped = r.start(auto_approver)
        config = {"configurable": {"thread_id": stopped.run_id}}
        context = r._context(stopped.run_id)
        with pytest.raises(ValidationError):
            r.graph.invoke(Command(resume={"decision": "approve", "plan_hash": "short"}), config, context=context)
        assert r.state(stopped.run_id).next == ("approve",)  # still waiting, nothing lost
        assert exchange_orders(r) == []


def test_transcript_is_private_and_json_lines(tmp_path):
    import os
    import stat

    with runner(make_config(tmp_path), headless=True) as r:
        result = r.start(auto_approver)
    assert stat.S_IMODE(os.stat(result.transcript).st_mode) == 0o600
    for line in result.transcript.read_text().splitlines():
        json.loads(line)


def test_headless_cancels_an_earlier_rebal_runs_leftover(tmp_path):
    from agent.executor.account_state import owner_for
    from agent.journal import JournalEntry

    with runner(make_config(tmp_path), headless=True) as r:
        exchange = r.broker.embedded.exchange
        account = exchange.accounts[r.broker.account]
        bid = exchange.book("069500")[1][5][0]
        leftover = exchange.place_order(account, "069500", Side.BUY, OrderType.LIMIT, 1, bid)
        owner = owner_for(r.broker, r.journal, exchange.clock.now().date())
        r.journal.record_intent(JournalEntry(
            key="earlier-run/T01-069500-BUY/1", run_id="earlier-run", trade_id="T01-069500-BUY", slice_no=1,
            attempt=1, ticker="069500", side="buy", quantity=1, order_type="00", price=bid, status="acked",
            order_no=f"{leftover.order_no:010d}", **owner.model_dump()))
        result = r.start(auto_approver)
        assert result.outcome == "completed"
        assert exchange.orders[leftover.order_no].status is OrderStatus.CANCELLED
    cancelled = [e for e in read_events(result.transcript) if e.kind == "execution"
                 and e.data.get("step") == "cancelled a resting order"]
    assert [e.data["placed_by"] for e in cancelled] == ["an earlier Rebal run"]


def test_a_plan_from_an_earlier_session_is_not_resumed(tmp_path):
    from agent.runner import StaleRun

    config = make_config(tmp_path, guardrails={"headless_max_turnover": 0.01})
    with runner(config, headless=True) as r:
        stopped = r.start(auto_approver)
        assert stopped.awaiting_approval
        exchange = r.broker.embedded.exchange
        import datetime as dt

        from tools.market import KST

        next_day = r.calendar.next_session(exchange.clock.now().date())
        exchange.clock.set(dt.datetime.combine(next_day, dt.time(10, 0), KST))
        with pytest.raises(StaleRun, match="start a new run"):
            r.resume(stopped.run_id, ScriptedApprover(approve))
        assert exchange_orders(r) == []
