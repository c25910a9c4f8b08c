"""Approved means executed, and Rebal says truthfully what happened: end to end on the embedded
paper exchange. Late runs, closing-auction plans, unpriced buys, cash short after the sells, the
bounded re-price, lost answers to orders and revisions, a person's own resting order, exit codes."""

from __future__ import annotations

import pytest
from support.runkit import ScriptedApprover, approve, edit, make_config, runner
from support.truthkit import (
    account_orders,
    assert_each_slice_once,
    assert_report_is_the_exchange,
    on_points,
    set_clock,
)

from agent.approval import Approval, Edit
from agent.runner import EXIT_BLOCKED, EXIT_OK, EXIT_PARTIAL, auto_approver
from agent.transcript import read_events
from paper.ledger import OrderStatus, Side
from tools.market import OrderType


def _orders(r):
    return account_orders(r.broker.embedded.exchange, r.broker.account)


def _smallest_buy(request) -> dict:
    buys = [t for t in request["trades"] if t["side"] == "buy"]
    return min(buys, key=lambda t: t["notional"])


# --- late runs: executed in full, or refused before any order --------------------------------

@pytest.mark.parametrize("hhmm", [(15, 21), (15, 27), (15, 29)])
def test_a_late_run_executes_fully_or_is_refused_before_any_order(tmp_path, hhmm):
    with runner(make_config(tmp_path), headless=True) as r:
        set_clock(r, *hhmm)
        result = r.start(auto_approver)
        orders = _orders(r)
        if result.exit_code == EXIT_OK:
            assert result.report["unfilled_quantity"] == 0
            assert_report_is_the_exchange(result, r.journal, orders)
        else:
            assert (result.outcome, result.exit_code) == ("blocked", EXIT_BLOCKED), result.message
            assert orders == [], "refused, yet orders reached the exchange"
            assert "No order was sent" in result.message


def test_a_sells_and_buys_plan_near_the_close_is_refused_before_any_order(tmp_path):
    # 12 minutes of continuous trading left: the planner sends large trades to the closing
    # auction, where sells only fill at 15:30 and nothing could be bought after them.
    with runner(make_config(tmp_path), headless=True) as r:
        set_clock(r, 15, 8)
        result = r.start(auto_approver)
        orders = _orders(r)
    if result.exit_code == EXIT_OK:
        assert_report_is_the_exchange(result, r.journal, orders)
    else:
        assert result.exit_code == EXIT_BLOCKED and orders == []


def test_a_closing_auction_buy_plan_goes_out_in_the_auction_and_reports_the_exchange(tmp_path):
    config = make_config(tmp_path, rebalance={"buy_only": True}, guardrails={"weight_tolerance": 0.5})
    with runner(config, headless=True) as r:
        set_clock(r, 15, 21)
        result = r.start(auto_approver)
        orders = _orders(r)
        assert result.exit_code in (EXIT_OK, EXIT_PARTIAL), result.message
        assert orders and all(o.side is Side.BUY for o in orders)
        assert all(o.order_type in (OrderType.LIMIT, OrderType.MARKET, OrderType.CONDITIONAL_LIMIT) for o in orders)
        assert_report_is_the_exchange(result, r.journal, orders)
        assert all(not o.is_open for o in orders)  # settled at the close, nothing left working


# --- money: unpriced buys and cash short after the sells -----------------------------------

def test_an_unpriced_buy_is_sized_at_its_reservation_price(tmp_path):
    def to_best_price(request, state):
        buy = _smallest_buy(request)
        return edit(Edit(kind="order_type", trade_id=buy["trade_id"], order_type="03"))(request, state)

    def approve_if_possible(request, state):
        if request["guardrails_passed"]:
            return approve(request, state)
        return Approval(decision="reject", plan_hash=request["plan_hash"], by="test", at=request["requested_at"])

    approver = ScriptedApprover(to_best_price, approve_if_possible)
    with runner(make_config(tmp_path, guardrails={"weight_tolerance": 0.5})) as r:
        result = r.start(approver)
        orders = _orders(r)
        if result.outcome == "rejected":
            assert orders == []
            return
        assert result.exit_code in (EXIT_OK, EXIT_PARTIAL), result.message
        entries = r.journal.entries(result.run_id)
        assert not [e for e in entries if e.status == "rejected"], "the exchange refused an order"
        assert any(o.order_type is OrderType.BEST_COUNTER and o.side is Side.BUY for o in orders)
        assert_report_is_the_exchange(result, r.journal, orders)


def test_cash_short_after_the_sells_shrinks_the_buys_and_says_partly_done(tmp_path):
    holder = {}

    def approve_then_spend(request, state):
        # Between the approval and the buys, most of the cash goes elsewhere (a transfer out).
        account = holder["r"].broker.embedded.exchange.accounts[holder["r"].broker.account]
        account.deposit -= int(account.cash_d2 * 0.9)
        return approve(request, state)

    with runner(make_config(tmp_path)) as r:
        holder["r"] = r
        result = r.start(ScriptedApprover(approve_then_spend))
        orders = _orders(r)
        entries = r.journal.entries(result.run_id)
        assert (result.outcome, result.exit_code) == ("partly done", EXIT_PARTIAL), result.message
        assert "shrunk" in result.message and "Not done" in result.message and "Cash left" in result.message
        assert not [e for e in entries if e.status == "rejected"], "a buy was refused for cash"
        assert_report_is_the_exchange(result, r.journal, orders)
    sells = [t for t in result.report["trades"] if t["side"] == "sell"]
    assert all(t["filled"] == t["planned"] for t in sells)
    assert any(t["not_done"] for t in result.report["trades"] if t["side"] == "buy")


# --- re-pricing: once, within the approval's tolerance, then cancel --------------------------

def _passive_buy(request, state):
    """The smallest buy as 04 (best own price: the bid), so it rests instead of filling at once."""
    buy = _smallest_buy(request)
    return edit(Edit(kind="order_type", trade_id=buy["trade_id"], order_type="04"))(request, state)


def _repriced_run(tmp_path, monkeypatch, *, tolerance_bp: float, hooks=None):
    on_points(monkeypatch, hooks or {})
    config = make_config(tmp_path, guardrails={"weight_tolerance": 0.5},
                         execution={"fill_window_minutes": 0.5, "poll_seconds": 5},
                         approval={"quote_tolerance_bp": tolerance_bp})
    r = runner(config)
    approver = ScriptedApprover(_passive_buy, approve)
    result = r.start(approver)
    return r, result


def test_an_unfilled_remainder_is_repriced_once_within_the_tolerance(tmp_path, monkeypatch):
    r, result = _repriced_run(tmp_path, monkeypatch, tolerance_bp=500)
    with r:
        orders = _orders(r)
        entries = r.journal.entries(result.run_id)
        revisions = [o for o in orders if o.action == "revise"]
        repriced = [e for e in entries if e.kind == "revise"]
        assert len(repriced) <= len([e for e in entries if e.kind == "new" and e.order_no])
        assert len(revisions) == len([e for e in repriced if e.status in ("acked", "done")])
        for entry in repriced:  # at most one re-price per slice, none of a re-price
            assert entry.parent_key.count("/reprice") == 0
        assert result.exit_code in (EXIT_OK, EXIT_PARTIAL)
        assert_report_is_the_exchange(result, r.journal, orders)
        assert all(not o.is_open for o in orders), "an order is left working"


def test_a_reprice_beyond_the_tolerance_cancels_the_remainder(tmp_path, monkeypatch):
    r, result = _repriced_run(tmp_path, monkeypatch, tolerance_bp=0.01)
    with r:
        orders = _orders(r)
        entries = r.journal.entries(result.run_id)
        assert not [o for o in orders if o.action == "revise"], "re-priced beyond the approval's tolerance"
        cancels = [e for e in entries if e.kind == "cancel" and e.status == "acked"]
        if cancels:
            assert (result.outcome, result.exit_code) == ("partly done", EXIT_PARTIAL)
            assert "tolerance" in result.message
        assert_report_is_the_exchange(result, r.journal, orders)
        assert all(not o.is_open for o in orders)


# --- lost answers: the order, and the revision ---------------------------------------------

def test_a_lost_order_answer_is_found_on_the_order_list_not_sent_twice(tmp_path, monkeypatch):
    with runner(make_config(tmp_path), headless=True) as r:
        exchange = r.broker.embedded.exchange
        on_points(monkeypatch, {"before_send#1": lambda: setattr(exchange.settings.faults, "lose_order_responses", 1),
                                "before_send#4": lambda: setattr(exchange.settings.faults, "lose_order_responses", 1)})
        result = r.start(auto_approver)
        orders = _orders(r)
        assert (result.outcome, result.exit_code) == ("completed", EXIT_OK), result.message
        assert_each_slice_once(r.journal, result.run_id, orders)
        assert_report_is_the_exchange(result, r.journal, orders)
        matched = [e for e in r.journal.entries(result.run_id) if e.note == "matched on the broker's order list"]
        assert len(matched) == 2


def test_a_lost_revise_answer_is_found_by_its_original_order_number(tmp_path, monkeypatch):
    holder = {}

    def lose_next():
        holder["r"].broker.embedded.exchange.settings.faults.lose_order_responses = 1

    on_points(monkeypatch, {"before_revise#1": lose_next})
    config = make_config(tmp_path, guardrails={"weight_tolerance": 0.5},
                         execution={"fill_window_minutes": 0.5, "poll_seconds": 5},
                         approval={"quote_tolerance_bp": 500})
    with runner(config) as r:
        holder["r"] = r
        result = r.start(ScriptedApprover(_passive_buy, approve))
        orders = _orders(r)
        entries = r.journal.entries(result.run_id)
        revisions = [o for o in orders if o.action == "revise"]
        repriced = [e for e in entries if e.kind == "revise"]
        if not repriced:
            pytest.skip("the passive buy filled within its window: nothing to re-price on this market")
        (entry,) = repriced
        (revision,) = revisions
        assert entry.status in ("acked", "done") and entry.order_no == f"{revision.order_no:010d}"
        assert entry.original_order_no == f"{revision.original_order_no:010d}"
        assert_report_is_the_exchange(result, r.journal, orders)


class _Crash(BaseException):
    """Stands in for kill -9 in-process: nothing after the point runs."""


def test_resume_after_a_crash_right_after_a_revision_claims_the_replacement(tmp_path, monkeypatch):
    def crash():
        raise _Crash

    on_points(monkeypatch, {"after_revise#1": crash})
    config = make_config(tmp_path, guardrails={"weight_tolerance": 0.5},
                         execution={"fill_window_minutes": 0.5, "poll_seconds": 5},
                         approval={"quote_tolerance_bp": 500})
    with runner(config) as r:
        try:
            result = r.start(ScriptedApprover(_passive_buy, approve))
        except _Crash:
            run_id = r.active_run
        else:
            pytest.skip(f"nothing was re-priced on this market ({result.outcome})")
        sent = [e for e in r.journal.entries(run_id) if e.kind == "revise"]
        assert [e.status for e in sent] == ["sent"]
        monkeypatch.undo()
        resumed = r.resume(run_id, ScriptedApprover())
        orders = _orders(r)
        (entry,) = [e for e in r.journal.entries(run_id) if e.kind == "revise"]
        (revision,) = [o for o in orders if o.action == "revise"]
        assert entry.order_no == f"{revision.order_no:010d}", "the revision that went through was not claimed"
        assert resumed.exit_code in (EXIT_OK, EXIT_PARTIAL)
        assert_report_is_the_exchange(resumed, r.journal, orders)
        assert all(not o.is_open for o in orders)


# --- a person's own order: never touched headless, never labelled Rebal's ---------------------

def test_a_persons_order_with_a_number_rebal_used_on_another_day_is_not_rebals(tmp_path):
    from agent.executor.account_state import owner_for
    from agent.journal import JournalEntry

    with runner(make_config(tmp_path), headless=True) as r:
        exchange = r.broker.embedded.exchange
        account = exchange.accounts[r.broker.account]
        bid = exchange.book("069500")[1][5][0]
        manual = exchange.place_order(account, "069500", Side.BUY, OrderType.LIMIT, 1, bid)
        number = f"{manual.order_no:010d}"
        today = exchange.clock.now().date()
        yesterday = r.calendar.previous_session(today)
        owner = owner_for(r.broker, r.journal, yesterday)
        # KIS numbers orders afresh every day: yesterday's run had an order with this number.
        r.journal.record_intent(JournalEntry(
            key="yesterday/T01-069500-BUY/1", run_id="yesterday", trade_id="T01-069500-BUY", slice_no=1, attempt=1,
            ticker="069500", side="buy", quantity=1, order_type="00", price=bid, status="done", order_no=number,
            **owner.model_dump()))
        # And a row from before ownership was journaled (no broker, account or day): nobody's.
        r.journal.record_intent(JournalEntry(
            key="old/T01-069500-BUY/1", run_id="old", trade_id="T01-069500-BUY", slice_no=1, attempt=1,
            ticker="069500", side="buy", quantity=1, order_type="00", price=bid, status="done", order_no=number))
        result = r.start(auto_approver)
        state = r.state(result.run_id).values
        assert (result.outcome, result.exit_code) == ("blocked", EXIT_BLOCKED)
        assert [o["placed_by"] for o in state["open_orders"]] == ["not Rebal"]
        assert exchange.orders[manual.order_no].status is OrderStatus.OPEN
        assert [o.order_no for o in _orders(r)] == [manual.order_no]  # nothing else sent
        assert "Rebal did not place" in result.message


def test_a_persons_order_on_another_ticker_is_left_alone(tmp_path):
    with runner(make_config(tmp_path), headless=True) as r:
        exchange = r.broker.embedded.exchange
        account = exchange.accounts[r.broker.account]
        bid = exchange.book("133690")[1][5][0]
        manual = exchange.place_order(account, "133690", Side.BUY, OrderType.LIMIT, 1, bid)
        result = r.start(auto_approver)
        assert exchange.orders[manual.order_no].status is OrderStatus.OPEN
        assert manual.order_no not in {int(e.order_no) for e in r.journal.entries(result.run_id) if e.order_no}
    events = [e for e in read_events(result.transcript) if e.kind == "execution"
              and e.data.get("step") == "cancelled a resting order"]
    assert events == []


def test_the_journal_keeps_the_account_only_as_a_keyed_hash(tmp_path):
    import os
    import stat

    with runner(make_config(tmp_path), headless=True) as r:
        result = r.start(auto_approver)
        account = r.broker.account
        entries = r.journal.entries(result.run_id)
    assert entries and all(e.account_id and e.broker and e.trading_day for e in entries)
    assert all(account.replace("-", "") not in (e.account_id or "") for e in entries)
    raw = (tmp_path / "journal.db").read_bytes()
    assert account.encode() not in raw and account.replace("-", "").encode() not in raw
    key = tmp_path / "journal.key"
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600


# --- each slice at its timetable time --------------------------------------------------------

def _planned_as(monkeypatch, **choice):
    """Every trade planned with ``choice`` (schedule, slices, type) instead of the rules' choice."""
    import agent.planner as planner
    from agent.planner.models import PlannerResult
    from tools.plan import ExecutionPlan

    def fixed(inp, settings, *, model):
        plan = ExecutionPlan.uniform([t.trade_id for t in inp.trades], planner="rules", **choice)
        return PlannerResult(plan=plan, planner="rules", reason="test plan")

    monkeypatch.setattr(planner, "plan_execution", fixed)


def _timetables(transcript) -> dict[str, str]:
    times: dict[str, str] = {}
    for event in read_events(transcript):
        if event.kind == "execution" and event.data.get("step") in ("timetable", "buy timetable"):
            for slice_time in event.data["slices"]:
                if slice_time["side"] == "sell" or event.data["step"] == "buy timetable":
                    times[slice_time["order_id"]] = slice_time["send_at"]
    return times


def test_twap_slices_go_out_at_their_timetable_times(tmp_path, monkeypatch):
    import datetime as dt

    _planned_as(monkeypatch, order_type="00", price_rule="mid", slices=3, schedule="twap")
    with runner(make_config(tmp_path, guardrails={"weight_tolerance": 0.5}), headless=True) as r:
        result = r.start(auto_approver)
        orders = _orders(r)
        entries = {e.order_no: e for e in r.journal.entries(result.run_id) if e.order_no and e.kind == "new"}
        assert result.exit_code in (EXIT_OK, EXIT_PARTIAL), result.message
        assert_report_is_the_exchange(result, r.journal, orders)
    times = _timetables(result.transcript)
    placed = [o for o in orders if o.action == "new"]
    assert len(placed) == len(times) and len({o.placed_at for o in placed}) > 2  # spread, not all at once
    for order in placed:
        entry = entries[f"{order.order_no:010d}"]
        order_id = entry.key.split("/", 1)[1].split("#")[0]
        assert abs(order.placed_at - dt.datetime.fromisoformat(times[order_id])) < dt.timedelta(seconds=60), order_id
    last_sell = max(o.placed_at for o in placed if o.side is Side.SELL)
    assert all(o.placed_at >= last_sell for o in placed if o.side is Side.BUY)


def test_a_closing_auction_plan_with_sells_and_buys_is_refused_before_any_order(tmp_path, monkeypatch):
    # Sells that only fill at 15:30 leave nothing to buy with today: refused before the first order.
    _planned_as(monkeypatch, order_type="00", price_rule="mid", slices=1, schedule="closing_auction")
    with runner(make_config(tmp_path), headless=True) as r:
        result = r.start(auto_approver)
        assert (result.outcome, result.exit_code) == ("blocked", EXIT_BLOCKED), result.message
        assert _orders(r) == []
        assert "No order was sent" in result.message


def test_unpriced_buys_in_the_closing_auction_are_refused_before_any_order(tmp_path, monkeypatch):
    # 03 (best counter) is not accepted in the closing auction: the run never sends it there.
    _planned_as(monkeypatch, order_type="03", slices=1, schedule="now")
    config = make_config(tmp_path, rebalance={"buy_only": True}, guardrails={"weight_tolerance": 0.5})
    with runner(config, headless=True) as r:
        set_clock(r, 15, 22)
        result = r.start(auto_approver)
        assert result.exit_code == EXIT_BLOCKED, result.message
        assert _orders(r) == []


# --- the journal: old journals open, their rows are nobody's ---------------------------------

def test_an_old_journal_is_migrated_and_its_rows_count_as_not_rebals(tmp_path):
    import sqlite3

    from agent.journal import Journal, Owner

    path = tmp_path / "journal.db"
    conn = sqlite3.connect(path)
    conn.execute('CREATE TABLE "orders" ("key" TEXT PRIMARY KEY, "run_id" TEXT, "trade_id" TEXT, "slice_no" INTEGER, '
                 '"attempt" INTEGER, "ticker" TEXT, "side" TEXT, "quantity" INTEGER, "order_type" TEXT, '
                 '"price" INTEGER, "status" TEXT, "order_no" TEXT, "branch" TEXT, "sent_at" TEXT, "acked_at" TEXT, '
                 '"filled_quantity" INTEGER, "filled_amount" INTEGER, "note" TEXT)')
    conn.execute("INSERT INTO orders VALUES ('old/T1/1','old','T1',1,1,'069500','buy',1,'00',100,'acked',"
                 "'0000000009','00950','2026-11-19T10:00:00+09:00',NULL,0,0,NULL)")
    conn.commit()
    conn.close()
    journal = Journal(path)
    try:
        (entry,) = journal.entries("old")
        assert entry.kind == "new" and entry.broker is None and entry.account_id is None
        owner = Owner(broker="paper|http://x", account_id=journal.account_id("50000000-01"), trading_day="2026-11-20")
        assert journal.claimed_order_nos(owner) == set()
        assert journal.account_id("50000000-01") == journal.account_id("5000000001")
        assert journal.account_id("50000000-01") != journal.account_id("50000001-01")
    finally:
        journal.close()
