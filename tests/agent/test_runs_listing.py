"""`rebal runs list` reads the checkpoint store without LangGraph (agent.commands.runs_listing): it must list
exactly what LangGraph's own reading gives (agent.runner.list_runs), for runs in every state, and
leave to LangGraph what it does not interpret."""

from __future__ import annotations

import re
import shutil
import sqlite3

import pytest
from langgraph.checkpoint.sqlite import SqliteSaver
from support.runkit import approve, make_config, reject
from typer.testing import CliRunner

import agent.graph
from agent.commands.cli import app
from agent.commands.runs_listing import broker_label, read_runs, run_brokers
from agent.graph import build_graph
from agent.runner import Runner, auto_approver, list_runs


def _with_langgraph(runs_db) -> list[dict]:
    conn = sqlite3.connect(str(runs_db), check_same_thread=False)
    try:
        return list_runs(build_graph().compile(checkpointer=SqliteSaver(conn)))
    finally:
        conn.close()


def _failing(node: str):
    def fail(state, runtime):
        raise RuntimeError(f"{node} broke")

    return fail


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """One store with runs waiting for approval (headless and interactive), rejected, failed in a
    node before and during execution, completed and with nothing to do."""
    home = tmp_path_factory.mktemp("listing") / "home"
    with pytest.MonkeyPatch.context() as patch:
        with Runner(make_config(home, guardrails={"headless_max_turnover": 0.01}), headless=True) as runner:
            assert runner.start(auto_approver).awaiting_approval
        with Runner(make_config(home), headless=False) as runner:
            assert runner.start(reject, again=True).outcome == "rejected"

            def broken_approver(request, state):
                raise RuntimeError("the terminal went away")

            with pytest.raises(RuntimeError):
                runner.start(broken_approver, again=True)
        patch.setattr(agent.graph, "compute_trades", _failing("compute_trades"))
        with Runner(make_config(home), headless=True) as runner, pytest.raises(RuntimeError):
            runner.start(auto_approver, again=True)
        patch.undo()
        patch.setattr(agent.graph, "execute", _failing("execute"))
        with Runner(make_config(home), headless=True) as runner, pytest.raises(RuntimeError):
            runner.start(auto_approver, again=True)
        patch.undo()
        with Runner(make_config(home), headless=False) as runner:
            assert runner.start(approve, again=True).outcome == "completed"
            assert runner.start(auto_approver, again=True).outcome == "nothing to do"
    return home


def test_the_listing_matches_langgraph_for_runs_in_every_state(home):
    runs = read_runs(home / "runs.db")
    assert runs == _with_langgraph(home / "runs.db")
    waiting = sorted(tuple(r["waiting_for"]) for r in runs if r["waiting_for"])
    assert waiting == [("approve",), ("approve",), ("compute_trades",), ("execute",)]
    assert {r["outcome"] for r in runs} == {"in progress", "rejected", "completed", "nothing to do"}


def test_a_run_killed_inside_a_node_is_listed_as_langgraph_lists_it(home, tmp_path):
    """A kill -9 leaves no error write behind, only the checkpoint before the node."""
    store = tmp_path / "runs.db"
    shutil.copy(home / "runs.db", store)
    with sqlite3.connect(store) as conn:
        assert conn.execute("DELETE FROM writes WHERE channel = '__error__'").rowcount == 2
    runs = read_runs(store)
    assert runs == _with_langgraph(store)
    assert sorted(tuple(r["waiting_for"]) for r in runs if r["waiting_for"])[-1] == ("execute",)


def test_what_it_does_not_interpret_is_left_to_langgraph(home, tmp_path, monkeypatch):
    """Writes of a step whose checkpoint was never saved (a crash between the two): LangGraph
    applies them; the light reader declines, and `rebal runs list` asks LangGraph."""
    store_home = tmp_path / "home"
    store_home.mkdir()
    store = store_home / "runs.db"
    shutil.copy(home / "runs.db", store)
    with sqlite3.connect(store) as conn:
        thread, newest = conn.execute("SELECT thread_id, MAX(checkpoint_id) FROM checkpoints").fetchone()
        conn.execute("DELETE FROM checkpoints WHERE thread_id = ? AND checkpoint_id = ?", (thread, newest))
    assert read_runs(store) is None
    expected = _with_langgraph(store)
    config = tmp_path / "rebal.toml"
    config.write_text(f'[broker]\nmode = "embedded"\n[paths]\nhome = "{store_home}"\n', encoding="utf-8")
    monkeypatch.setenv("COLUMNS", "200")
    listing = CliRunner().invoke(app, ["runs", "list", "-c", str(config)])
    assert listing.exit_code == 0, listing.output
    rows = [line.split("│")[1:-1] for line in listing.output.splitlines() if line.startswith("│")]
    assert [[cell.strip() for cell in row] for row in rows] == [
        [r["run_id"], r["as_of"], "—", r["mode"], r["outcome"], ", ".join(r["waiting_for"])] for r in expected]


def test_a_store_without_checkpoints_lists_nothing(tmp_path):
    store = tmp_path / "runs.db"
    sqlite3.connect(store).close()
    assert read_runs(store) == []


# --- the broker and account column ---------------------------------------------------------------


def test_each_run_names_its_broker_and_masked_account(home):
    runs = read_runs(home / "runs.db")
    brokers = run_brokers(home / "transcripts", [r["run_id"] for r in runs])
    assert set(brokers) == {r["run_id"] for r in runs}
    labels = set(brokers.values())
    assert len(labels) == 1  # one embedded exchange, one account
    label = labels.pop()
    kind, account = label.split(" · ")
    assert kind == "embedded"
    assert re.fullmatch(r"\d{4}\*{4}-\d{2}", account)


def test_runs_list_shows_the_broker_and_masked_account(home, tmp_path, monkeypatch):
    config = tmp_path / "rebal.toml"
    config.write_text(f'[broker]\nmode = "embedded"\n[paths]\nhome = "{home}"\ntranscripts = "{home / "transcripts"}"\n',
                      encoding="utf-8")
    monkeypatch.setenv("COLUMNS", "200")
    listing = CliRunner().invoke(app, ["runs", "list", "-c", str(config)])
    assert listing.exit_code == 0, listing.output
    rows = [[cell.strip() for cell in line.split("│")[1:-1]] for line in listing.output.splitlines()
            if line.startswith("│")]
    brokers = run_brokers(home / "transcripts", [r["run_id"] for r in read_runs(home / "runs.db")])
    assert rows and all(row[2] == brokers[row[0]] and row[2].startswith("embedded · ") for row in rows)


def test_a_run_without_a_transcript_has_no_broker_to_show(tmp_path):
    assert run_brokers(tmp_path, ["2026-11-20-deadbeef"]) == {"2026-11-20-deadbeef": ""}


@pytest.mark.parametrize(("description", "profile", "label"), [
    ("embedded paper exchange (simulated clock 2026-11-20 10:00 KST), account 5851****-01", "paper",
     "embedded · 5851****-01"),
    ("http://127.0.0.1:29443 (Rebal paper exchange, market clock 2026-11-20 10:00 KST), account 5851****-01 "
     "(credentials from environment)", "paper", "paper server 127.0.0.1:29443 · 5851****-01"),
    ("KIS paper server (모의투자), account 5851****-01 (credentials from keyring)", "paper", "KIS paper · 5851****-01"),
    ("KIS real server, account 5851****-01 (credentials from keyring)", "real", "KIS real · 5851****-01"),
    ("https://proxy.example:9443, account 5851****-01 (credentials from keyring)", "real",
     "KIS real via proxy.example:9443 · 5851****-01"),
])
def test_broker_kinds(description, profile, label):
    assert broker_label({"broker": description, "profile": profile, "account": "5851****-01"}) == label


def test_an_unmasked_account_in_a_transcript_is_masked_before_it_is_shown():
    label = broker_label({"broker": "KIS real server", "profile": "real", "account": "58512345-01"})
    assert label == "KIS real · 5851****-01" and "58512345" not in label
