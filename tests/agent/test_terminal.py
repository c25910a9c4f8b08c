"""The terminal session, driven by scripted keyboard answers against real runs."""

from __future__ import annotations

from rich.console import Console
from support.runkit import exchange_orders, make_config, runner

from agent.review.terminal import TerminalApprover


class Keyboard:
    def __init__(self, *lines: str) -> None:
        self.lines = list(lines)
        self.prompts = 0

    def __call__(self, prompt: str) -> str:
        self.prompts += 1
        return self.lines.pop(0)


def session(*lines: str) -> tuple[TerminalApprover, Console, Keyboard]:
    console = Console(record=True, width=140)
    keyboard = Keyboard(*lines)
    return TerminalApprover(console, ask=keyboard), console, keyboard


def test_show_explain_then_approve(tmp_path):
    approver, console, keyboard = session("show costs", "explain T01-069500-SELL", "explain nope", "help",
                                          "what about fees?", "approve")
    with runner(make_config(tmp_path)) as r:
        result = r.start(approver)
        assert exchange_orders(r)
    text = console.export_text()
    assert result.outcome == "completed" and keyboard.lines == []
    for needle in ("Drift from the targets", "Trades · whole shares, sells first", "Guardrails: all", "turnover",
                   "T01-069500-SELL · 069500 KODEX 200", "execution: limit (00)", "No trade 'nope'",
                   "edit qty TRADE_ID N", "Free-text questions need an LLM"):
        assert needle in text, needle
    # Drift rows: a class names itself once, an instrument by ticker and name; no empty markup on screen.
    assert "equity/equity" not in text and "069500/069500" not in text and "[]" not in text
    assert "  069500 KODEX 200 " in text and "now → after (target)" in text and "limit (00)" in text


def test_an_edit_recomputes_at_once_then_approve_approves(tmp_path):
    approver, console, keyboard = session("edit exclude 069500", "approve")
    with runner(make_config(tmp_path)) as r:
        result = r.start(approver)
        assert "069500" not in {o.ticker for o in exchange_orders(r)}
    assert result.outcome == "completed" and keyboard.lines == []
    text = console.export_text()
    assert "Applying exclude 069500: recomputing the plan" in text and "Changed: 069500 sell dropped" in text
    assert text.count("Drift from the targets") == 2  # the recomputed plan was shown before the approval


def test_undo_takes_back_the_last_edit(tmp_path):
    approver, console, keyboard = session("undo", "edit qty 1 30", "undo", "reject")
    with runner(make_config(tmp_path)) as r:
        result = r.start(approver)
        assert exchange_orders(r) == []
        assert r.state(result.run_id).values["edits"] == []
    text = console.export_text()
    assert "Nothing to undo" in text and "Changed: 069500 sell 41 → 30" in text
    assert "Changed: 069500 sell 30 → 41" in text and keyboard.lines == [] and result.outcome == "rejected"


def test_reject_with_a_reason(tmp_path):
    approver, _, _ = session("edit bogus", "reject prices look odd")
    with runner(make_config(tmp_path)) as r:
        result = r.start(approver)
        assert exchange_orders(r) == []
    assert result.outcome == "rejected" and "prices look odd" in result.message


def test_model_text_is_printed_as_plain_text(tmp_path):
    console = Console(record=True, width=140)
    approver = TerminalApprover(console, reviewer=lambda q, data: "[red]injected markup[/red] stays visible",
                                ask=Keyboard("why?", "reject"))
    with runner(make_config(tmp_path)) as r:
        r.start(approver)
    assert "[red]injected markup[/red] stays visible" in console.export_text()


def test_a_reviewer_out_of_budget_says_so_and_the_decision_goes_on(tmp_path):
    from agent.reviewer import ReviewerRefused

    def spent(question, data):
        raise ReviewerRefused("the reviewer's token budget for this run is spent (20,000 of 20,000 tokens used)")

    console = Console(record=True, width=160)
    approver = TerminalApprover(console, reviewer=spent, ask=Keyboard("why?", "reject"))
    with runner(make_config(tmp_path)) as r:
        result = r.start(approver)
    text = console.export_text()
    assert "token budget for this run is spent (20,000 of 20,000 tokens used)" in text
    assert result.outcome == "rejected"


def test_the_cash_path_is_shown_with_the_orders(tmp_path):
    approver, console, _ = session("show orders", "reject")
    with runner(make_config(tmp_path)) as r:
        r.start(approver)
    text = console.export_text()
    assert "Cash (KRW): before trading " in text and "after the buys" in text and "the buys reserve" in text


def test_trade_ids_by_row_number_or_prefix():
    from agent.review.terminal import trade_id_of

    trades = [{"trade_id": "T01-069500-SELL"}, {"trade_id": "T02-152380-BUY"}, {"trade_id": "T10-133690-BUY"}]
    assert trade_id_of("1", trades) == "T01-069500-SELL"
    assert trade_id_of("t02", trades) == "T02-152380-BUY"
    assert trade_id_of("T1", trades) == "T10-133690-BUY"  # only T10 starts so
    assert trade_id_of("T0", trades) == "T0"  # two trades start so: refused as typed
    assert trade_id_of("4", trades) == "4" and trade_id_of("", trades) == ""


def test_explain_and_edit_by_row_number_and_prefix(tmp_path):
    approver, console, keyboard = session("explain 1", "explain T01", "edit qty 1 5", "reject")
    with runner(make_config(tmp_path)) as r:
        result = r.start(approver)
        assert exchange_orders(r) == []
    text = console.export_text()
    assert text.count("execution: limit (00)") == 2 and "No trade" not in text
    assert "Changed: 069500 sell 41 → 5" in text and result.outcome == "rejected" and keyboard.lines == []


def test_end_of_input_leaves_the_run_waiting_and_nothing_sent(tmp_path):
    def ended(prompt):
        raise EOFError

    console = Console(record=True, width=160)
    with runner(make_config(tmp_path)) as r:
        result = r.start(TerminalApprover(console, ask=ended))
        assert exchange_orders(r) == []
        assert r.state(result.run_id).next == ("approve",)
    assert result.exit_code == 3 and result.awaiting_approval
    assert "No answer (end of input)" in console.export_text()


def test_cancel_open_with_nothing_resting_says_so(tmp_path):
    approver, console, _ = session("cancel-open", "reject")
    with runner(make_config(tmp_path)) as r:
        r.start(approver)
    text = console.export_text()
    assert "nothing to cancel" in text and "will be cancelled" not in text


def test_korean_session(tmp_path):
    console = Console(record=True, width=140)
    approver = TerminalApprover(console, ask=Keyboard("도움말", "거절 아직"), language="ko")
    with runner(make_config(tmp_path)) as r:
        result = r.start(approver)
    text = console.export_text()
    for needle in ("목표 비중과의 차이", "매매 · 정수 주", "매도", "지정가 (00)", "명령어", "안전 점검"):
        assert needle in text, needle
    assert result.outcome == "rejected" and "아직" in result.message
