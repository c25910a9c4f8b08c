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
