"""``rebal transcripts list|show`` through typer's test runner, on transcripts of real runs:
outcomes are never cut, the list counts orders as the screen does, ``--lang`` / ``ui.language``,
and an LLM-planned run (the fake Gemini API on loopback) shows its calls' tokens."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from planner.planner_kit import answer_for, as_text, gemini_body
from review.realruns import RealRun, normalise, passive_buy, real_run
from support.fake_gemini import FakeGemini, Recorded
from support.runkit import ScriptedApprover, approve, reject
from typer.testing import CliRunner

from agent.review.cli import DEFAULT_DIR, transcripts_app

runner = CliRunner()


def invoke(*args: str, columns: int = 200, **env: str):
    return runner.invoke(transcripts_app, list(args), env={"COLUMNS": str(columns), **env})


@pytest.fixture
def folder(tmp_path: Path) -> tuple[Path, dict[str, RealRun]]:
    """Three real runs (completed headless, rejected, partly done) in one transcript folder, and
    a copy of the first with a damaged middle line."""
    runs = {"completed": real_run(tmp_path / "a", headless=True),
            "rejected": real_run(tmp_path / "b", approver=ScriptedApprover(reject)),
            "partly": real_run(tmp_path / "c", approver=ScriptedApprover(passive_buy, approve),
                               approval={"quote_tolerance_bp": 0.01}, guardrails={"weight_tolerance": 0.5},
                               execution={"fill_window_minutes": 0.5, "poll_seconds": 5})}
    directory = tmp_path / "transcripts"
    directory.mkdir()
    for run in runs.values():
        shutil.copy(run.transcript, directory)
    lines = runs["completed"].transcript.read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2][:40]
    (directory / "2025-06-02-deadbeef.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return directory, runs


def test_default_folder_is_the_writers() -> None:
    from agent.transcript import DEFAULT_DIR as WRITER_DIR

    assert DEFAULT_DIR == WRITER_DIR


def test_list_keeps_every_outcome_whole_and_counts_orders_as_the_screen(folder) -> None:
    directory, runs = folder
    result = invoke("list", "--dir", str(directory), columns=80)
    assert result.exit_code == 0, result.output
    assert "…" not in result.output
    flat = re.sub(r"\s+", " ", result.output)
    for outcome in ("completed", "rejected", "unreadable: line 3: not a transcript event"):
        assert all(word in flat for word in outcome.split()), outcome
    for run in runs.values():
        (line,) = [line for line in result.output.splitlines() if run.run_id in line]
        listed = int(line.split()[-2])
        placed = len([o for o in run.exchange_orders if o.action != "cancel"])
        shown = invoke("show", run.run_id, "--dir", str(directory), "--format", "md").output
        rows = [row for row in shown.splitlines() if re.match(r"\| (T\d\d|re-price)", row) and "| 000" in row]
        assert listed == placed == len(rows), run.run_id


def test_show_in_korean_by_flag_and_by_config(folder, tmp_path: Path, monkeypatch) -> None:
    directory, runs = folder
    run_id = runs["completed"].run_id
    english = invoke("show", run_id, "--dir", str(directory))
    assert english.exit_code == 0 and "Execution" in english.output and "주문 실행" not in english.output
    korean = invoke("show", run_id, "--dir", str(directory), "--lang", "ko")
    assert korean.exit_code == 0, korean.output
    for word in ("계좌", "주문 실행", "체결", "보고서", "매도", "매수", "지정가"):
        assert word in korean.output, word
    config = tmp_path / "ko.toml"
    config.write_text('[ui]\nlanguage = "ko"\n', encoding="utf-8")
    by_config = invoke("show", run_id, "--dir", str(directory), "--config", str(config))
    assert normalise(by_config.output) == normalise(korean.output)
    monkeypatch.chdir(tmp_path)  # no ./rebal.toml: English, no error
    assert "Execution" in invoke("show", run_id, "--dir", str(directory)).output
    (tmp_path / "rebal.toml").write_text('[ui]\nlanguage = "ko"\n', encoding="utf-8")
    assert "주문 실행" in invoke("list", "--dir", str(directory)).output or \
        "실행" in invoke("list", "--dir", str(directory)).output


def test_show_markdown_and_errors(folder, tmp_path: Path) -> None:
    directory, runs = folder
    run = runs["rejected"]
    result = invoke("show", run.run_id[:16], "--dir", str(directory), "--format", "md")
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"# Run {run.run_id}\n")
    assert "## Approval" in result.output and "✗ rejected by test" in result.output
    assert "## Execution" not in result.output and run.exchange_orders == []
    assert invoke("show", "2025-06-02", "--dir", str(directory)).exit_code == 2  # ambiguous
    assert invoke("show", "zz", "--dir", str(directory)).exit_code == 2
    assert invoke("show", "x", "--dir", str(tmp_path / "nowhere")).exit_code == 2
    assert invoke("show", run.run_id, "--dir", str(directory), "--format", "pdf").exit_code == 2


def test_an_llm_planned_run_shows_its_calls(tmp_path: Path, monkeypatch, fake_gemini: FakeGemini) -> None:
    def plan(request: Recorded) -> dict:
        trade_ids = sorted(set(re.findall(r"T\d\d-[0-9Q]{6,7}-(?:BUY|SELL)", "".join(request.texts("user")))))
        return gemini_body(as_text(answer_for(trade_ids)), prompt_tokens=1_480, output_tokens=310)

    monkeypatch.setenv("GOOGLE_API_KEY", "AIzaSyD-FAKE-KEY-0123456789abcdefghijk")
    fake_gemini.respond(plan)
    run = real_run(tmp_path, headless=True, planner={"base_url": fake_gemini.base_url})
    shown = invoke("show", run.run_id, "--dir", str(run.transcript.parent), "--format", "md").output
    (call,) = [line for line in shown.splitlines() if line.startswith("| 1 | 10:00:00 |")]
    cells = [c.strip() for c in call.strip("|").split("|")]
    assert cells[5:8] == ["1,480", "310", "1,790"], call
    assert "planner llm — LLM plan accepted" in shown


def test_importing_the_sub_app_stays_light() -> None:
    """``agent.commands.cli`` imports this module at start-up: it must not drag in rich or the reader."""
    code = ("import sys, agent.review.cli; "
            "print(sorted(m for m in ('rich.console', 'agent.transcript', 'pydantic', 'agent.review.transcripts')"
            " if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
