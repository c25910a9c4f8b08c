"""The rich and Markdown renderings, secrecy of the files, and robustness to partial data."""

from __future__ import annotations

import re
import stat
from pathlib import Path

from rich.console import Console

from agent.review import render, to_markdown
from agent.transcript import Transcript, read_events


def rich_text(path: Path) -> str:
    console = Console(record=True, width=120)
    render(path, console)
    return console.export_text()


def positions(text: str, *needles: str) -> list[int]:
    found = [text.find(n) for n in needles]
    assert -1 not in found, dict(zip(needles, found, strict=True))
    return found


def test_rich_rendering_of_a_complete_run(runs) -> None:
    out = rich_text(runs.complete)
    # Header, then every section in the documented order.
    assert positions(out, "Run 7f3a-complete", "Account", "Drift", "Trades", "Planner", "Guardrails", "Approval",
                     "Execution", "Report") == sorted(positions(out, "Run 7f3a-complete", "Account", "Drift",
                                                                "Trades", "Planner", "Guardrails", "Approval",
                                                                "Execution", "Report"))
    for needle in ("headless", "5001****-01", "2025-01-02", "v-3f9a1c", "completed", "llm:gemini-2.5-flash",
                   "069500 KODEX 200", "2,112,600", "7,528,850",  # account, KRW with separators
                   "✗ absolute_mp", "±3.00%", "-10.53 pp",  # drift: which rule fired, band
                   "T01-360750-SELL", "T03-114260-BUY", "762,650", "lower bound 0.0101",  # trades
                   "STOP", "1,834", "2,046", "$0.0011", "tight spread on 114260",  # planner
                   "krx.tick", "plan.coverage", "headless.turnover",  # guardrails
                   runs.plan_hash[:12], "approved by auto (headless)",  # approval
                   "✓ ODNO 17003", "108,955", "cash re-read",  # execution
                   "residual drift 1.31%", "implementation shortfall 4.2 bp", "fees 207 KRW"):
        assert needle in out, needle
    assert re.search(r"✓\s+cash_flow\s+plan", out)
    assert "Errors" not in out and "Other events" not in out  # absent sections are skipped


def test_on_a_narrow_terminal_no_figure_is_split_across_lines(runs) -> None:
    console = Console(record=True, width=70)
    render(runs.complete, console)
    out = console.export_text()
    for figure in ("2,112,600", "7,528,850", "762,650", "108,955"):  # text columns fold instead
        assert figure in out, figure


def test_failed_run_shows_the_fallback_the_failed_rule_and_the_error(runs) -> None:
    out = rich_text(runs.failed)
    for needle in ("failed", "MAX_TOKENS", "OutputParserExce", "planner rules — LLM answer unusable",
                   "✗ failed: cash_flow", "auto-approvable: no",
                   "in check_guardrails: GuardrailFailure: guardrail cash_flow failed", '"cash_d2": 650000'):
        assert needle in out, needle
    assert re.search(r"✗\s+cash_flow\s+plan", out)
    assert "Execution" not in out and "Approval" not in out


def test_cut_off_run_points_at_the_unanswered_order(runs) -> None:
    out = rich_text(runs.cut_off)
    assert "in progress" in out
    assert "✓ ODNO 17011" in out and "⚠ no answer recorded" in out
    assert "no run_finished event" in out
    assert "no broker answer recorded for T02-069500-BUY/1" in out


def test_torn_and_damaged_files_still_render(runs) -> None:
    assert "the last line is cut off" in rich_text(runs.torn)
    out = rich_text(runs.damaged)
    assert "damaged transcript, line 2: not a transcript event" in out
    assert "KODEX 200" in out  # the readable events are still shown


def test_markdown_has_headings_and_tables(runs) -> None:
    md = to_markdown(runs.complete)
    assert md.startswith("# Run 7f3a-complete\n")
    assert "| Field | Value |\n| --- | --- |\n| mode | headless |" in md
    headings = re.findall(r"^## (.+)$", md, flags=re.MULTILINE)
    assert headings == ["Account", "Drift", "Trades", "Planner", "Guardrails", "Approval", "Execution", "Report"]
    assert "| id | ticker | side | qty | ref price | notional KRW | est. cost KRW | reason |" in md
    assert "| --- | --- | --- | ---: | ---: | ---: | ---: | --- |" in md
    assert "| T03-114260-BUY | 114260 | buy | 7 | 108,950 | 762,650 | 114 | below target (band breach) |" in md
    assert "| ✗ | cash_flow |" not in md and "| ✓ | cash_flow | plan |" in md
    assert f"plan {runs.plan_hash[:12]}" in md
    # Every table row has as many cells as its header.
    for block in re.findall(r"(?:^\|.*\|\n)+", md, flags=re.MULTILINE):
        rows = block.strip().split("\n")
        widths = {len(re.split(r"(?<!\\)\|", row)) for row in rows}
        assert len(widths) == 1, block


def test_markdown_escapes_pipes_and_newlines(tmp_path: Path) -> None:
    t = Transcript(tmp_path, "r1")
    t.write("trades", trades=[{"trade_id": "T01", "ticker": "069500", "side": "buy", "quantity": 1,
                               "reference_price": 100, "reason": "a | b\nc"}])
    md = to_markdown(t.path)
    assert "| a \\| b<br>c |" in md


def test_transcript_file_is_private_and_secrets_never_appear(runs) -> None:
    for path in (runs.complete, runs.failed):  # the runs whose LLM prompt carried the secret
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        raw = path.read_text(encoding="utf-8")
        assert runs.secret not in raw
        assert "appkey=***" in raw  # the writer masked it; the message is still there
        assert runs.secret not in rich_text(path)
        assert runs.secret not in to_markdown(path)


def test_secret_registered_after_writing_is_masked_on_display(tmp_path: Path) -> None:
    from tools.kis.redact import REDACTOR

    late = "late-secret-Zq81xw"
    t = Transcript(tmp_path, "r1")
    t.write("error", message=f"token {late} rejected")
    assert late in t.path.read_text(encoding="utf-8")
    REDACTOR.add_secret(late)
    assert late not in rich_text(t.path) and late not in to_markdown(t.path)
    # The file holds the secret on purpose (it was unknown when written): remove it, so the suite's
    # end-of-session scan of everything the tests wrote stays meaningful.
    t.path.unlink()


def test_partial_data_and_unknown_kinds(tmp_path: Path) -> None:
    t = Transcript(tmp_path, "r1")
    t.write("run_started")  # every field missing
    t.write("account", positions={"069500": {"quantity": 3, "price": 35_000.0}}, cash=1_000.5)
    t.write("drift", instrument_weights={"069500": 0.99}, instrument_targets={"069500": 0.5, "360750": 0.5})
    t.write("trades", trades=[{"ticker": "069500"}, "junk"], turnover=None)
    t.write("llm_call", usage={"prompt_tokens": 10, "completion_tokens": 5})
    t.write("guardrails", results=[{"rule_id": "cash_flow"}, 7])
    t.write("approval", approved=True)
    t.write("order_ack", odno="1")
    t.write("fill", quantity="2", price=10)
    t.write("report", holdings=[{"ticker": "069500", "weight": 0.5}])
    t.write("margin_call", level=3, detail={"why": "a future event kind"})
    out = rich_text(t.path)
    for needle in ("069500", "105,000", "cash 1,000 KRW", "99.00%", "+49.00 pp", "360750", "15",
                   "✓ approved by —", "✓ ODNO 1", "Other events", "margin_call",
                   '"why": "a future event kind"'):
        assert needle in out, needle
    assert re.search(r"✗\s+cash_flow", out)  # a verdict without "passed" is not a pass
    md = to_markdown(t.path)
    assert "## Other events" in md and "margin_call" in md


def test_real_models_round_trip(tmp_path: Path) -> None:
    """Dumps of the real drift, netting, plan and guardrail models render with this reader."""
    from guardrails.check import check_all
    from guardrails.models import GuardrailContext
    from tools.drift import evaluate_triggers, measure_drift
    from tools.netting import compute_trades
    from tools.plan import ExecutionPlan, Quote, build_orders
    from tools.portfolio import AccountSnapshot, PositionInput
    from tools.targets import targets_from_weights

    snapshot = AccountSnapshot(cash=1_650_000, positions=(
        PositionInput(ticker="069500", quantity=60, price=35_210),
        PositionInput(ticker="360750", quantity=150, price=17_845)), prices={"114260": 108_950})
    targets = targets_from_weights({"069500": 0.35, "360750": 0.35, "114260": 0.25, "cash": 0.05})
    drift = measure_drift(targets, snapshot)
    netting = compute_trades(targets, snapshot)
    plan = ExecutionPlan.uniform([tr.trade_id for tr in netting.trades], order_type="01")
    quotes = {tk: Quote(ticker=tk, bid=p - 5, ask=p + 5, base_price=p)
              for tk, p in {"069500": 35_210, "360750": 17_845, "114260": 108_950}.items()}
    orders = build_orders(netting.trades, plan, quotes)
    report = check_all(GuardrailContext.from_netting(netting, snapshot, plan=plan, orders=orders, quotes=quotes))

    t = Transcript(tmp_path, "r1")
    t.write("account", snapshot=snapshot)
    t.write("targets", version=targets.version, source=targets.source, weights=targets.flat())
    t.write("drift", report=drift, verdict=evaluate_triggers(drift))
    t.write("trades", result=netting)
    t.write("plan", planner="rules", plan=plan)
    t.write("guardrails", phase="plan", report=report)
    assert len(read_events(t.path)) == 6  # every line survived the writer

    out = rich_text(t.path)
    assert netting.trades and all(tr.trade_id in out for tr in netting.trades)
    assert all(r.rule_id in out for r in (*report.results, *report.headless_results))
    assert "untargeted" not in out and "absolute_mp" in out
    assert "32.81%" in out  # weights of a bare snapshot come from cash + holdings
    assert f"{netting.turnover:,}" in out


def test_eight_digit_amounts_survive_the_writer(tmp_path: Path) -> None:
    """Regression: account-number masking once rewrote any 8/10-digit number, corrupting the JSON line."""
    t = Transcript(tmp_path, "r1")
    t.write("account", total_value=15_186_700, cash=1_650_000)
    t.write("guardrails", results=[{"rule_id": "headless.order_notional", "passed": True,
                                    "figures": {"cap": 20_000_000}}])
    t.write("run_finished", outcome="completed")
    events = read_events(t.path)
    assert [e.kind for e in events] == ["account", "guardrails", "run_finished"]
    assert events[0].data["total_value"] == 15_186_700
    assert "15,186,700" in rich_text(t.path)
