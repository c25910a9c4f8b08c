"""One-line summaries of runs and the listing of a transcript folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.review import TranscriptSummary, list_runs, summarize
from agent.transcript import Transcript


def test_complete_headless_run(runs) -> None:
    s = summarize(runs.complete)
    assert isinstance(s, TranscriptSummary)
    assert (s.run_id, s.path, s.mode, s.profile, s.account) == (
        "7f3a-complete", runs.complete, "headless", "paper", "5001****-01")
    assert s.outcome == "completed"
    assert s.planner == "llm:gemini-2.5-flash"
    assert (s.trades, s.orders_placed, s.fills) == (3, 3, 3)
    # The report's executed figures win over the plan's estimates.
    assert (s.turnover_krw, s.costs_krw, s.shortfall_bp) == (1_380_135, 207, 4.2)
    assert s.started_at is not None and s.finished_at is not None and s.finished_at >= s.started_at
    assert not s.torn_tail


def test_no_trades_needed(runs) -> None:
    s = summarize(runs.no_trades)
    assert s.outcome == "no trades needed"  # "no_trades_needed" as written, shown with spaces
    assert (s.mode, s.planner, s.trades, s.orders_placed, s.fills) == ("interactive", None, None, 0, 0)
    assert (s.turnover_krw, s.costs_krw, s.shortfall_bp) == (None, None, None)


def test_failed_run_fell_back_to_rules(runs) -> None:
    s = summarize(runs.failed)
    assert s.outcome == "failed"
    assert s.planner == "rules"
    assert (s.trades, s.orders_placed, s.fills) == (3, 0, 0)
    # Without a report, turnover and costs are the netting's estimates.
    assert (s.turnover_krw, s.costs_krw) == (1_380_025, 206)


def test_run_cut_off_mid_execution(runs) -> None:
    s = summarize(runs.cut_off)
    assert s.outcome == "in progress"
    assert s.finished_at is None
    assert (s.orders_placed, s.fills, s.planner) == (1, 0, "rules")


def test_torn_last_line_is_skipped_and_flagged(runs) -> None:
    s = summarize(runs.torn)
    assert s.outcome == "no trades needed"
    assert s.torn_tail


def test_damage_in_the_middle_is_unreadable_not_an_exception(runs) -> None:
    s = summarize(runs.damaged)
    assert s.outcome == "unreadable: line 2: not a transcript event"
    assert s.started_at is None and s.planner is None


def test_missing_and_empty_files_are_unreadable(tmp_path: Path) -> None:
    assert summarize(tmp_path / "gone.jsonl").outcome.startswith("unreadable: ")
    (tmp_path / "empty.jsonl").write_text("\n", encoding="utf-8")
    assert summarize(tmp_path / "empty.jsonl").outcome == "unreadable: no events"


def test_listing_is_newest_first_with_the_unreadable_row(runs) -> None:
    listed = list_runs(runs.directory)
    assert [s.run_id for s in listed] == ["c6f1-damaged", "b5e0-torn", "a4d2-cutoff", "90c1-failed",
                                          "7f3b-notrades", "7f3a-complete"]
    assert listed[0].outcome.startswith("unreadable: ")


def test_listing_of_a_missing_or_foreign_folder(tmp_path: Path) -> None:
    assert list_runs(tmp_path / "nowhere") == []
    (tmp_path / "notes.txt").write_text("not a transcript", encoding="utf-8")
    assert list_runs(tmp_path) == []


def _run(tmp_path: Path, *events: tuple[str, dict]) -> Path:
    t = Transcript(tmp_path, "r1")
    for kind, data in events:
        t.write(kind, **data)
    return t.path


@pytest.mark.parametrize(("events", "outcome"), [
    ([("run_started", {}), ("approval_requested", {"plan_hash": "abc"})], "awaiting approval"),
    ([("run_started", {}), ("approval_requested", {"plan_hash": "abc"}), ("approval", {"approved": False})],
     "rejected"),
    ([("run_started", {}), ("approval_requested", {}), ("approval", {"decision": "approved"})], "in progress"),
    ([("run_started", {}), ("error", {"message": "boom"})], "failed"),
    ([("run_started", {}), ("run_finished", {"exit_code": 0})], "completed"),
    ([("run_started", {}), ("run_finished", {"exit_code": 4})], "failed (exit 4)"),
    ([("run_started", {}), ("run_finished", {"outcome": "awaiting_approval", "exit_code": 5})],
     "awaiting approval"),
])
def test_outcome_when_the_transcript_does_not_say(tmp_path: Path, events, outcome: str) -> None:
    assert summarize(_run(tmp_path, *events)).outcome == outcome


def test_odd_types_do_not_crash_the_summary(tmp_path: Path) -> None:
    path = _run(tmp_path, ("run_started", {"auto_approve": False, "account": None}),
                ("trades", {"trades": "not a list", "turnover": "1,200"}),
                ("llm_call", {"usage": [1, 2]}),
                ("report", {"fees": "12.5", "taxes": True, "shortfall_bp": 3}))
    s = summarize(path)
    assert (s.mode, s.account, s.trades, s.planner) == ("interactive", None, 0, "llm:?")
    assert (s.turnover_krw, s.costs_krw, s.shortfall_bp) == (1_200, 12, 3.0)
