"""The live execution view and its cancel key, on the embedded paper exchange.

The board is folded from the run's transcript as it is written; these tests hold it against the
exchange's own order list, and press "cancel the remaining slices" at a moment of the exchange
clock, as a person watching the board would.
"""

from __future__ import annotations

import io

import pytest
from rich.console import Console
from support.runkit import make_config, runner

from agent.live.board import ExecutionBoard, order_id_of
from agent.live.screen import LiveExecution, board_footer, board_table
from agent.review.session_text import SessionText
from agent.runner import EXIT_OK, EXIT_PARTIAL, auto_approver
from agent.transcript import read_events

DEMO = (__import__("pathlib").Path(__file__).parents[2] / "examples" / "targets" / "demo.toml").as_posix()


def _planned_as(monkeypatch, **choice):
    """Every trade planned with ``choice`` instead of the rules' choice (a TWAP with several slices)."""
    import agent.planner as planner
    from agent.planner.models import PlannerResult
    from tools.plan import ExecutionPlan

    def fixed(inp, settings, *, model):
        plan = ExecutionPlan.uniform([t.trade_id for t in inp.trades], planner="rules", **choice)
        return PlannerResult(plan=plan, planner="rules", reason="test plan")

    monkeypatch.setattr(planner, "plan_execution", fixed)


def _board(transcript) -> ExecutionBoard:
    board = ExecutionBoard()
    for event in read_events(transcript):
        board.apply(event)
    return board


def _exchange_orders(r):
    exchange = r.broker.embedded.exchange
    return [o for o in exchange.orders.values() if o.account == r.broker.account]


def _recording() -> Console:
    return Console(file=io.StringIO(), width=160, record=True, color_system=None)


class PersonPresses:
    """The exchange clock as the executor sees it; once it reaches ``at`` the person has pressed
    c, y in the live view (``runner.stop.request``)."""

    def __init__(self, r, at) -> None:
        self.r, self.at, self.clock = r, at, r.broker.clock

    def now(self):
        return self.clock.now()

    def wait(self, seconds: float) -> None:
        self.clock.wait(seconds)
        if self.clock.now() >= self.at and not self.r.stop.requested:
            self.r.stop.request("terminal:tester")


def test_the_board_shows_every_slice_as_the_exchange_filled_it(tmp_path, monkeypatch):
    _planned_as(monkeypatch, order_type="00", price_rule="mid", slices=3, schedule="twap")
    console = _recording()
    with runner(make_config(tmp_path, guardrails={"weight_tolerance": 0.5}), headless=True) as r:
        with LiveExecution(r, console, mode="lines"):
            result = r.start(auto_approver)
        orders = {f"{o.order_no:010d}": o for o in _exchange_orders(r) if o.action == "new"}
    assert result.exit_code in (EXIT_OK, EXIT_PARTIAL), result.message
    board = _board(result.transcript)
    placed = [s for s in board.slices.values() if s.order_no]
    assert len(placed) == len(orders) and len(board.slices) >= 6  # several slices per trade
    for view in placed:
        order = orders[view.order_no]
        assert (view.ticker, view.side, view.quantity) == (order.ticker, order.side.name.lower(), order.quantity)
        assert view.filled == order.filled_quantity
        if order.filled_quantity:
            assert view.average_price == pytest.approx(order.filled_amount / order.filled_quantity)
        assert view.state == ("filled" if order.filled_quantity == order.quantity else view.state)
    lines = console.export_text()
    for view in placed:  # one line per event: each slice sent, on the book and filled
        assert f"sent {view.order_id}:" in lines and f"on the book {view.order_id}: order no {view.order_no}" in lines
    assert "timetable: " in lines and "finished: " in lines
    table = Console(file=io.StringIO(), width=160, record=True, color_system=None)
    table.print(board_table(board, None), board_footer(board, None, keys=False, confirming=False))
    shown = table.export_text()
    assert "limit (00)" in shown and f"{len(board.slices)}/{len(board.slices)} slices settled" in shown
    korean = Console(file=io.StringIO(), width=160, record=True, color_system=None)
    text = SessionText("ko")
    korean.print(board_table(board, None, text), board_footer(board, None, keys=False, confirming=False, text=text))
    shown = korean.export_text()
    assert "주문 실행 (거래소 시각, KST)" in shown and "지정가 (00)" in shown and "체결 완료" in shown
    assert f"{len(board.slices)}/{len(board.slices)}건 완료" in shown


def test_cancelling_the_remaining_slices_sends_nothing_more_and_says_so(tmp_path, monkeypatch):
    import datetime as dt

    _planned_as(monkeypatch, order_type="00", price_rule="mid", slices=3, schedule="twap")
    with runner(make_config(tmp_path, guardrails={"weight_tolerance": 0.5}), headless=True) as r:
        first_slice_done = r.broker.clock.now() + dt.timedelta(minutes=20)
        r.broker.clock = PersonPresses(r, first_slice_done)
        result = r.start(auto_approver)
        placed = [o for o in _exchange_orders(r) if o.action == "new"]
        entries = r.journal.entries(result.run_id)
        stop_at = dt.datetime.fromisoformat(r.journal.note(result.run_id, "stop")["at"])
    assert (result.outcome, result.exit_code) == ("partly done", EXIT_PARTIAL), result.message
    assert "cancelled by terminal:tester" in result.message
    board = _board(result.transcript)
    assert board.cancel_requested.startswith("terminal:tester")
    skipped = [e for e in entries if e.status == "skipped"]
    assert skipped and all("cancelled by terminal:tester" in e.note for e in skipped)
    # Nothing was placed after the request, and no buy at all: the sells did not finish.
    assert placed and all(o.placed_at <= stop_at for o in placed)
    assert not [o for o in placed if o.side.name == "BUY"]
    assert len(placed) + len(skipped) == len(board.slices)
    for view in board.slices.values():
        assert view.state in ("filled", "cancelled", "not sent"), (view.order_id, view.state)


def test_a_resumed_run_does_not_repeat_its_history_as_news(tmp_path):
    console = _recording()
    with runner(make_config(tmp_path), headless=True) as r, LiveExecution(r, console, mode="lines"):
        result = r.start(auto_approver)
    first = console.export_text()
    assert result.exit_code == EXIT_OK and "finished: completed" in first
    again = _recording()
    with runner(make_config(tmp_path), headless=True) as r, LiveExecution(r, again, mode="lines"):
        r.resume(result.run_id, auto_approver)  # finished already: nothing new is written
    assert "sent " not in again.export_text()


def test_order_ids_of_journal_keys():
    assert order_id_of("2026-12-04-ab/T01-069500-SELL/2#3/reprice") == ("T01-069500-SELL/2", "reprice")
    assert order_id_of("2026-12-04-ab/T01-069500-SELL/2") == ("T01-069500-SELL/2", "new")
    assert order_id_of("2026-12-04-ab/resting/0000000007") == ("", "resting")


def test_json_prints_every_event_of_the_run_exactly_as_the_transcript_has_it(tmp_path):
    import json
    import subprocess
    import sys

    from agent.transcript import TranscriptEvent

    config = tmp_path / "rebal.toml"
    config.write_text(f'[broker]\nmode = "embedded"\n[targets]\nfile = "{DEMO}"\n[paths]\nhome = "{tmp_path}"\n'
                      f'transcripts = "{tmp_path / "transcripts"}"\n', encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "agent.commands.cli", "run", "--auto-approve", "--json", "-c",
                           str(config)], capture_output=True, text=True, timeout=120)
    assert done.returncode == EXIT_OK, done.stderr
    printed = [TranscriptEvent.model_validate(json.loads(line)) for line in done.stdout.splitlines()]
    written = read_events(next((tmp_path / "transcripts").glob("*.jsonl")))
    assert printed == written and printed[0].kind == "run_started" and printed[-1].kind == "run_finished"
    assert "completed" in done.stderr  # the person's summary goes to stderr
