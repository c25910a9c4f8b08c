"""A run carries its inputs: `rebal runs resume` continues with the configuration the run started
with, from any directory; another -c, or a changed config or targets file, is refused (exit 2)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from support.runkit import ScriptedApprover, exchange_orders, reject
from typer.testing import CliRunner

from agent.approval import Approval
from agent.commands.cli import app
from agent.config import load_config
from agent.run_config import ConfigMismatch, config_source
from agent.runner import EXIT_NEEDS_APPROVAL, EXIT_REJECTED, EXIT_USAGE, Runner

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "targets"


def late(request: dict, state: dict) -> Approval:
    """An approval past its time: the run refreshes the account and re-reads its targets."""
    requested = dt.datetime.fromisoformat(request["requested_at"])
    return Approval(decision="approve", plan_hash=request["plan_hash"], by="test",
                    at=(requested + dt.timedelta(seconds=301)).isoformat())


class Recorder(ScriptedApprover):
    def __init__(self, *steps) -> None:
        super().__init__(*steps)
        self.states: list[dict] = []

    def __call__(self, request: dict, state: dict):
        self.states.append(state)
        return super().__call__(request, state)


@pytest.fixture
def parked(tmp_path, monkeypatch):
    """A run started in ./a on flat.toml (flat CSV targets, relative path), waiting for approval;
    ./b holds a rebal.toml for the same home with demo.toml's targets."""
    home, a, b = tmp_path / "home", tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    shutil.copy(EXAMPLES / "flat.csv", a / "flat.csv")
    paths = f'[paths]\nhome = "{home}"\ntranscripts = "{tmp_path / "transcripts"}"\n'
    (a / "flat.toml").write_text(f'[broker]\nmode = "embedded"\n[targets]\nfile = "flat.csv"\n{paths}')
    (b / "rebal.toml").write_text(f'[broker]\nmode = "embedded"\n[targets]\nfile = "{EXAMPLES / "demo.toml"}"\n'
                                  f'[guardrails]\nweight_tolerance = 0.5\n{paths}')
    monkeypatch.chdir(a)
    with Runner(load_config(Path("flat.toml")), headless=False, config_path=config_source(Path("flat.toml"))) as r:
        stopped = r.start(lambda request, state: None)
        state = r.state(stopped.run_id).values
    assert (stopped.exit_code, stopped.awaiting_approval) == (EXIT_NEEDS_APPROVAL, True)
    assert state["inputs"]["config_path"] == str(a / "flat.toml")
    assert state["inputs"]["targets_file"] == str(a / "flat.csv")
    assert state["inputs"]["config"]["targets"]["file"] == str(a / "flat.csv")
    assert state["targets"]["source"] == str(a / "flat.csv")  # the runner fixed the relative path
    monkeypatch.chdir(b)
    return stopped.run_id, a, b


def resume(monkeypatch, approver, *args: str):
    from rich.console import Console

    monkeypatch.setattr("agent.commands.session._approver", lambda runner, headless: approver)
    monkeypatch.setattr("agent.commands.session.console", Console(width=1000))  # long paths on one line
    return CliRunner().invoke(app, ["runs", "resume", *args])


def test_resume_elsewhere_without_c_uses_the_configuration_the_run_started_with(parked, monkeypatch):
    run_id, a, _ = parked
    approver = Recorder(late, reject)
    result = resume(monkeypatch, approver, run_id)  # ./b/rebal.toml (demo.toml targets) is in the cwd
    assert result.exit_code == EXIT_REJECTED, result.output
    assert f"resuming with the configuration the run started with: {a / 'flat.toml'}" in result.output
    refreshed = approver.states[1]  # after the refresh: targets read again, from the run's own config
    assert refreshed["targets"]["source"] == str(a / "flat.csv")
    assert set(refreshed["targets"]["flat"]) == {"069500", "360750", "152380", "132030", "329750"}
    assert "after the plan (limit 300 s)" in approver.requests[1]["problem"]


def test_resume_with_another_c_is_refused(parked, monkeypatch):
    run_id, a, b = parked
    approver = Recorder(late, reject)
    other = resume(monkeypatch, approver, run_id, "-c", str(b / "rebal.toml"))
    assert other.exit_code == EXIT_USAGE, other.output
    assert f"not resumed: run {run_id} started with {a / 'flat.toml'}, not {b / 'rebal.toml'}" in other.output
    assert approver.requests == []

    # The same file, unchanged, is fine (here it parks the run again).
    same = resume(monkeypatch, lambda request, state: None, run_id, "-c", str(a / "flat.toml"))
    assert same.exit_code == EXIT_NEEDS_APPROVAL, same.output
    assert "resuming with the configuration the run started with" in same.output

    # The same file changed since the run started is not.
    original = (a / "flat.toml").read_text()
    (a / "flat.toml").write_text(original + "[rebalance]\nbuy_only = true\n")
    changed = resume(monkeypatch, approver, run_id, "-c", str(a / "flat.toml"))
    assert changed.exit_code == EXIT_USAGE and "changed since run" in changed.output, changed.output
    (a / "flat.toml").write_text(original)


def test_a_changed_targets_file_is_refused(parked, monkeypatch):
    run_id, a, _ = parked
    text = (a / "flat.csv").read_text()
    (a / "flat.csv").write_text(text.replace("069500,22.5", "069500,20").replace("329750,10", "329750,12.5"))
    result = resume(monkeypatch, Recorder(late, reject), run_id)
    assert result.exit_code == EXIT_USAGE, result.output
    assert f"the targets file {a / 'flat.csv'} changed since run {run_id} started" in result.output


def test_a_runner_with_another_configuration_refuses_to_resume(parked):
    run_id, _, b = parked
    with Runner(load_config(b / "rebal.toml"), headless=False) as r:
        with pytest.raises(ConfigMismatch, match="started with another configuration"):
            r.resume(run_id, ScriptedApprover(late, reject))
        assert exchange_orders(r) == []


def test_the_stored_configuration_loads_back_unchanged(tmp_path, monkeypatch):
    from agent.config import RebalConfig
    from agent.run_config import absolute_config, config_dump

    monkeypatch.chdir(tmp_path)
    config = RebalConfig.model_validate({
        "targets": {"file": "t.csv"}, "paths": {"home": "~/x", "transcripts": "tr"},
        "rebalance": {"locked": ["069500", "152380"], "excluded": ["132030"]},
        "guardrails": {"weight_tolerance": 0.02}})
    fixed = absolute_config(config)
    assert fixed.targets.file == tmp_path / "t.csv" and fixed.paths.transcripts == tmp_path / "tr"
    assert fixed.paths.home == Path("~/x").expanduser()
    assert RebalConfig.model_validate(config_dump(fixed)) == fixed
    assert absolute_config(fixed) == fixed
