"""A live run whose targets come from a strategy, computed from the broker's daily bars by the same
code the backtester runs; `rebal status` shows the strategy's states."""

from __future__ import annotations

from pathlib import Path

from support.runkit import make_config, runner
from typer.testing import CliRunner

from agent.runner import auto_approver
from agent.transcript import read_events

MOMENTUM = Path(__file__).resolve().parents[2] / "examples" / "strategies" / "momentum-krx.toml"


def test_run_with_strategy_targets(tmp_path):
    config = make_config(tmp_path, targets={"file": None, "strategy_file": str(MOMENTUM)},
                         guardrails={"headless_max_turnover": 2.0, "headless_max_order_notional": 10**9})
    with runner(config, headless=True) as r:
        result = r.start(auto_approver)
    events = read_events(result.transcript)
    states = next(e for e in events if e.kind == "strategy_states").data["states"]
    targets = next(e for e in events if e.kind == "targets").data
    assert {s["ticker"] for s in states} == {"069500", "229200", "152380", "219480", "308620", "329750", "360750"}
    assert all(s["reason"] for s in states)
    assert targets["source"] == f"strategy {MOMENTUM}"
    assert set(targets["flat"]) <= {s["ticker"] for s in states}
    assert abs(sum(targets["flat"].values()) + targets["cash_weight"] - 1) < 1e-6
    assert result.outcome in ("completed", "nothing to do")


def test_status_shows_strategy_states(tmp_path, monkeypatch):
    from agent.commands.cli import app

    (tmp_path / "rebal.toml").write_text(
        f'[broker]\nmode = "embedded"\n[targets]\nstrategy_file = "{MOMENTUM}"\n'
        f'[paths]\nhome = "{tmp_path / "home"}"\ntranscripts = "{tmp_path / "tr"}"\n')
    monkeypatch.setenv("COLUMNS", "160")
    result = CliRunner().invoke(app, ["status", "-c", str(tmp_path / "rebal.toml")])
    assert result.exit_code == 0, result.output
    assert "Strategy states" in result.output and "069500" in result.output
    assert any(word in result.output for word in ("HOLD", "BUY", "WAIT", "SELL"))
