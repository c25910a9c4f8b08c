"""Every exit code of `rebal run` / `rebal runs resume`, and the words that come with it: every
message about the account states what the journal shows and, for a stopped run, how to resume."""

from __future__ import annotations

import re

import pytest
from support.truthkit import on_points
from typer.testing import CliRunner

from agent.commands.cli import app
from agent.runner import (
    EXIT_BLOCKED,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_NEEDS_APPROVAL,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_USAGE,
)

cli = CliRunner()


def _config(tmp_path, extra: str = "") -> str:
    path = tmp_path / "rebal.toml"
    path.write_text(f'[broker]\nmode = "embedded"\n[paths]\nhome = "{tmp_path / "home"}"\n'
                    f'transcripts = "{tmp_path / "tr"}"\n{extra}')
    return str(path)


class _Said:
    """A command's exit code and its output with the terminal's line wrapping undone."""

    def __init__(self, result) -> None:
        self.exit_code = result.exit_code
        self.output = " ".join(result.output.split())


def _run(*args: str) -> _Said:
    return _Said(cli.invoke(app, list(args), catch_exceptions=False))


@pytest.fixture(autouse=True)
def _wide(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")


def _run_id(output: str) -> str:
    return re.search(r"rebal runs resume (\S+?)`", output).group(1)


def test_0_every_approved_trade_done(tmp_path):
    result = _run("run", "--auto-approve", "-c", _config(tmp_path))
    assert result.exit_code == EXIT_OK, result.output
    assert "every approved trade done" in result.output


def test_2_config_and_targets_errors(tmp_path):
    broken = tmp_path / "broken.toml"
    broken.write_text("[broker\nmode = ")
    result = _run("run", "--auto-approve", "-c", str(broken))
    assert result.exit_code == EXIT_USAGE and "config error" in result.output
    targets = tmp_path / "targets.toml"
    targets.write_text("this is not = [a target file")
    result = _run("run", "--auto-approve", "-c", _config(tmp_path, f'[targets]\nfile = "{targets}"\n'))
    assert result.exit_code == EXIT_USAGE, result.output
    # Refused before the broker is contacted: the account cannot have changed.
    assert "No broker was contacted and no order was sent" in result.output


def test_3_headless_outside_the_caps_waits_for_a_person(tmp_path):
    result = _run("run", "--auto-approve", "-c", _config(tmp_path, "[guardrails]\nheadless_max_turnover = 0.01\n"))
    assert result.exit_code == EXIT_NEEDS_APPROVAL, result.output
    assert "rebal runs resume" in result.output


def test_5_a_failed_guardrail_headless_ends_the_run_as_blocked(tmp_path):
    config = _config(tmp_path, "[guardrails]\nmax_trade_fraction = 0.0001\n")
    result = _run("run", "--auto-approve", "-c", config)
    assert result.exit_code == EXIT_BLOCKED, result.output
    assert "abnormal_trade" in result.output and "No order was sent" in result.output
    listing = _run("runs", "list", "-c", config)
    assert "blocked" in listing.output and "approve" not in listing.output  # ended, not parked


def test_6_partly_done_says_what_was_done_and_what_not(tmp_path, monkeypatch):
    from paper import embedded

    made = []
    original = embedded.EmbeddedExchange.__init__

    def remember(self, *args, **kwargs):
        original(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(embedded.EmbeddedExchange, "__init__", remember)

    def spend_the_cash():
        account = made[-1].account
        account.deposit -= int(account.cash_d2 * 0.9)

    on_points(monkeypatch, {"after_sells": spend_the_cash})
    result = _run("run", "--auto-approve", "-c", _config(tmp_path))
    assert result.exit_code == EXIT_PARTIAL, result.output
    assert "partly done" in result.output and "Not done" in result.output and "Cash left" in result.output


def test_1_a_broker_that_keeps_failing_stops_the_run_truthfully_and_resume_finishes_it(tmp_path, monkeypatch):
    from paper import embedded

    made = []
    original = embedded.EmbeddedExchange.__init__

    def remember(self, *args, **kwargs):
        original(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(embedded.EmbeddedExchange, "__init__", remember)

    def break_the_broker():
        made[-1].exchange.settings.faults.error_rate = 1.0

    on_points(monkeypatch, {"after_send#1": break_the_broker})
    config = _config(tmp_path, "[execution]\nfault_budget_seconds = 10\npoll_seconds = 5\nreconcile_reads = 1\n"
                     "reconcile_seconds = 5\n")
    result = _run("run", "--auto-approve", "-c", config)
    assert result.exit_code == EXIT_FAILED, result.output
    assert "No order was sent" not in result.output
    assert "This run placed 1 order(s)" in result.output
    run_id = _run_id(result.output)
    monkeypatch.undo()
    monkeypatch.setenv("COLUMNS", "200")
    resumed = _run("runs", "resume", run_id, "--auto-approve", "-c", config)
    assert resumed.exit_code == EXIT_OK, resumed.output


def test_130_ctrl_c_says_what_the_journal_shows_and_how_to_resume(tmp_path, monkeypatch):
    def interrupt():
        raise KeyboardInterrupt

    on_points(monkeypatch, {"after_send#2": interrupt})
    config = _config(tmp_path)
    result = _run("run", "--auto-approve", "-c", config)
    assert result.exit_code == EXIT_INTERRUPTED, result.output
    assert "interrupted" in result.output and "This run placed 1 order(s)" in result.output
    assert "Sent without a known answer" in result.output  # the second order's answer never came back
    run_id = _run_id(result.output)
    monkeypatch.undo()
    monkeypatch.setenv("COLUMNS", "200")
    resumed = _run("runs", "resume", run_id, "--auto-approve", "-c", config)
    assert resumed.exit_code == EXIT_OK, resumed.output
    again = _run("runs", "resume", run_id, "--auto-approve", "-c", config)
    assert again.exit_code == EXIT_OK and "finished already" in again.output
