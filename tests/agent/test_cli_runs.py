"""`rebal runs list` and `rebal runs resume` as commands."""

from __future__ import annotations

from typer.testing import CliRunner

from agent.commands.cli import app


def _config(tmp_path) -> str:
    path = tmp_path / "rebal.toml"
    path.write_text(f'[broker]\nmode = "embedded"\n[guardrails]\nheadless_max_turnover = 0.01\n'
                    f'[paths]\nhome = "{tmp_path / "home"}"\ntranscripts = "{tmp_path / "tr"}"\n')
    return str(path)


def test_runs_list_shows_a_run_waiting_for_approval_then_resume(tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "160")
    config = _config(tmp_path)
    cli = CliRunner()
    stopped = cli.invoke(app, ["run", "--auto-approve", "-c", config])
    assert stopped.exit_code == 3, stopped.output
    # Progress lines are text: the trigger's rule ids in brackets are shown, not taken for markup.
    trigger = next(line for line in stopped.output.splitlines() if "trigger:" in line)
    assert "trigger: [absolute_mp] mp equity" in trigger, trigger
    listing = cli.invoke(app, ["runs", "list", "-c", config])
    assert listing.exit_code == 0, listing.output
    run_id = next(line.split()[1] for line in listing.output.splitlines() if "approve" in line and "-" in line)
    assert "in progress" in listing.output
    missing = cli.invoke(app, ["runs", "resume", "no-such-run", "-c", config])
    assert missing.exit_code == 2 and "no run 'no-such-run'" in missing.output
    assert run_id.startswith("20")


def test_messages_with_brackets_print_as_written_and_a_bad_targets_file_exits_2(tmp_path):
    targets = tmp_path / "targets.toml"
    targets.write_text('[weights]\n"[/]" = 60\n"[weights]" = 35\ncash = 5\n')
    config = tmp_path / "rebal.toml"
    config.write_text(f'[broker]\nmode = "embedded"\n[targets]\nfile = "{targets}"\n'
                      f'[paths]\nhome = "{tmp_path / "home"}"\ntranscripts = "{tmp_path / "transcripts"}"\n')
    result = CliRunner().invoke(app, ["status", "-c", str(config)])
    assert result.exit_code == 2, result.output
    assert "[/]" in result.output and "[weights]" in result.output  # rich markup did not swallow them
    assert "Traceback" not in result.output and "MarkupError" not in result.output


def test_targets_check_reads_a_file_as_a_run_would_without_a_broker(tmp_path):
    from pathlib import Path

    demo = Path(__file__).resolve().parents[2] / "examples" / "targets" / "demo.toml"
    good = CliRunner().invoke(app, ["targets", "check", str(demo)])
    assert good.exit_code == 0, good.output
    assert "valid: 7 instrument(s) and 5.00% cash, 100.00% in all" in good.output
    assert "KODEX 200" in good.output and "20.00%" in good.output
    bad = tmp_path / "bad.csv"
    bad.write_text("ticker,weight\n069500,60\n0695OO,35\ncash,5\n")
    refused = CliRunner().invoke(app, ["targets", "check", str(bad)])
    assert refused.exit_code == 2 and "0695OO" in refused.output and "malformed" in refused.output


def test_without_a_terminal_a_run_waits_and_points_to_auto_approve_and_resume_takes_a_prefix(tmp_path):
    config = _config(tmp_path)
    cli = CliRunner()
    stopped = cli.invoke(app, ["run", "-c", config])  # CliRunner's input is not a terminal: nobody to ask
    assert stopped.exit_code == 3 and "no terminal to ask for approval" in stopped.output, stopped.output
    assert "--auto-approve" in stopped.output and "Traceback" not in stopped.output
    run_id = next(w for line in stopped.output.splitlines() for w in line.split() if w.startswith("20")
                  and w.count("-") == 3).rstrip("`.,")
    resumed = cli.invoke(app, ["runs", "resume", run_id[:13], "--auto-approve", "-c", config])
    assert run_id in resumed.output and "no run" not in resumed.output, resumed.output


def test_a_parked_run_can_be_discarded_and_then_neither_resumed_nor_discarded_again(tmp_path):
    config = _config(tmp_path)
    cli = CliRunner()
    stopped = cli.invoke(app, ["run", "--auto-approve", "-c", config])
    assert stopped.exit_code == 3, stopped.output
    run_id = next(w for line in stopped.output.splitlines() for w in line.split() if w.startswith("20")
                  and w.count("-") == 3).rstrip("`.,")
    discarded = cli.invoke(app, ["runs", "discard", run_id, "-c", config])
    assert discarded.exit_code == 0, discarded.output
    assert "discarded by terminal:" in discarded.output and "no order was sent" in discarded.output
    listing = cli.invoke(app, ["runs", "list", "-c", config])
    assert "rejected" in next(line for line in listing.output.splitlines() if run_id in line)
    again = cli.invoke(app, ["runs", "discard", run_id, "-c", config])
    assert again.exit_code == 2 and "finished already" in again.output
    resumed = cli.invoke(app, ["runs", "resume", run_id, "--auto-approve", "-c", config])
    assert "finished already" in resumed.output
