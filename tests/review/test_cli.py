"""``rebal transcripts list|show`` through typer's test runner (the sub-app on its own)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from agent.review.cli import DEFAULT_DIR, transcripts_app

runner = CliRunner()
WIDE = {"COLUMNS": "200"}  # rich wraps long cells at the default 80 columns


def invoke(*args: str):
    return runner.invoke(transcripts_app, list(args), env=WIDE)


def test_default_folder_is_the_writers() -> None:
    from agent.transcript import DEFAULT_DIR as WRITER_DIR

    assert DEFAULT_DIR == WRITER_DIR


def test_list(runs) -> None:
    result = invoke("list", "--dir", str(runs.directory))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    order = [next(i for i, line in enumerate(lines) if run in line)
             for run in ("c6f1-damaged", "b5e0-torn", "a4d2-cutoff", "90c1-failed", "7f3b-notrades", "7f3a-complete")]
    assert order == sorted(order)
    complete = lines[order[-1]]
    for needle in ("headless", "completed", "1,380,135"):
        assert needle in complete, needle
    assert "unreadable: line 2" in lines[order[0]]
    assert "(torn)" in lines[order[1]]


def test_list_of_an_empty_folder(tmp_path: Path) -> None:
    result = invoke("list", "--dir", str(tmp_path))
    assert result.exit_code == 0 and "no transcripts in" in result.output


def test_show_by_id_and_by_unique_prefix(runs) -> None:
    for run_id in ("7f3a-complete", "7f3a"):
        result = invoke("show", run_id, "--dir", str(runs.directory))
        assert result.exit_code == 0, result.output
        assert "Run 7f3a-complete" in result.output
        assert "T03-114260-BUY" in result.output and runs.plan_hash[:12] in result.output
        assert runs.secret not in result.output


def test_show_markdown(runs) -> None:
    result = invoke("show", "90c1", "--dir", str(runs.directory), "--format", "md")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("# Run 90c1-failed\n")
    assert "## Guardrails" in result.output and "| ✗ | cash_flow | plan |" in result.output


def test_show_ambiguous_missing_or_bad_format_exits_2(runs, tmp_path: Path) -> None:
    ambiguous = invoke("show", "7f3", "--dir", str(runs.directory))
    assert ambiguous.exit_code == 2
    assert "ambiguous" in ambiguous.output and "7f3a-complete" in ambiguous.output
    assert "7f3b-notrades" in ambiguous.output
    missing = invoke("show", "zz", "--dir", str(runs.directory))
    assert missing.exit_code == 2 and "no run 'zz'" in missing.output
    no_folder = invoke("show", "7f3a", "--dir", str(tmp_path / "nowhere"))
    assert no_folder.exit_code == 2 and "no transcript folder" in no_folder.output
    assert invoke("show", "7f3a", "--dir", str(runs.directory), "--format", "pdf").exit_code == 2


def test_importing_the_sub_app_stays_light() -> None:
    """``agent.commands.cli`` will import this module at start-up: it must not drag in rich or the reader."""
    code = ("import sys, agent.review.cli; "
            "print(sorted(m for m in ('rich.console', 'agent.transcript', 'pydantic', 'agent.review.transcripts')"
            " if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
