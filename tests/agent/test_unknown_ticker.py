"""A target ticker that is well formed but not listed stops a real run on the embedded paper exchange
before planning, in plain words (exit 2), and nothing reaches the exchange; the units a targets
file was read in go on the run's record."""

from __future__ import annotations

import json

import pytest
from support.runkit import exchange_orders, make_config
from typer.testing import CliRunner

from agent.commands.cli import app
from agent.nodes.fetch_targets import TargetsUnavailable
from agent.runner import EXIT_USAGE, Runner, auto_approver

UNLISTED = "123456"  # six digits, and no instrument of the paper exchange


def _targets(tmp_path, text: str):
    path = tmp_path / "targets.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_an_unlisted_target_stops_the_run_before_planning_with_exit_2(tmp_path):
    targets = _targets(tmp_path, f"ticker,weight\n069500,60\n{UNLISTED},40\n")
    config = tmp_path / "rebal.toml"
    config.write_text(f'[broker]\nmode = "embedded"\n[paths]\nhome = "{tmp_path / "home"}"\n'
                      f'transcripts = "{tmp_path / "tr"}"\n[targets]\nfile = "{targets}"\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["run", "--auto-approve", "-c", str(config)])
    said = " ".join(result.output.split())
    assert result.exit_code == EXIT_USAGE, said
    assert f"target {UNLISTED} is not a listed instrument (KIS product info: " in said
    assert str(targets) in said  # the file to fix, by its full path
    assert "no order was sent" in said.lower()
    events = [json.loads(line) for path in (tmp_path / "tr").glob("*.jsonl") for line in path.read_text().splitlines()]
    kinds = [e["kind"] for e in events]
    assert "error" in kinds and not {"trades", "plan", "order_intent"} & set(kinds)


def test_nothing_reaches_the_exchange(tmp_path):
    targets = _targets(tmp_path, f"ticker,weight\n069500,0.5\n{UNLISTED},0.5\n")
    with Runner(make_config(tmp_path / "home", targets={"file": str(targets)}), headless=True) as runner:
        with pytest.raises(TargetsUnavailable, match=f"target {UNLISTED} is not a listed instrument"):
            runner.start(auto_approver)
        assert exchange_orders(runner) == []


def test_where_the_broker_offers_no_product_info_the_order_book_speaks(tmp_path):
    """KIS's paper server does not offer product info (모의투자 미지원): the run then learns of the
    unlisted code when quoting it, and still says so plainly before planning."""
    targets = _targets(tmp_path, f"ticker,weight\n069500,60\n{UNLISTED},40\n")
    with Runner(make_config(tmp_path / "home", targets={"file": str(targets)}), headless=True) as runner:
        runner.broker.kind = "KIS paper"  # as connect() describes KIS's paper server
        assert not runner.broker.offers_product_info
        with pytest.raises(TargetsUnavailable, match=f"target {UNLISTED} cannot be quoted \\(KIS order book: "):
            runner.start(auto_approver)
        assert exchange_orders(runner) == []


def test_a_run_records_the_units_its_targets_file_was_read_in(tmp_path):
    targets = _targets(tmp_path, "ticker,weight\n069500,0.3\n152380,0.3\n132030,0.3\ncash,0.1\n")
    said: list[str] = []
    config = make_config(tmp_path / "home", targets={"file": str(targets)})
    with Runner(config, headless=True, progress=said.append) as runner:
        result = runner.start(auto_approver)
    events = [json.loads(line) for line in result.transcript.read_text().splitlines()]
    recorded = next(e["data"] for e in events if e["kind"] == "targets")
    assert recorded["units"] == "fraction"
    assert recorded["notes"] == ["weights read as fractions (they sum to 1, e.g. 0.3 = 30%)"]
    assert recorded["source"] == str(targets.resolve())
    assert any("weights read as fractions" in line for line in said)
