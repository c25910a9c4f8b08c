"""`rebal runs list` reads the checkpoint store without LangGraph (agent.commands.runs_listing): it must list
exactly what LangGraph's own reading gives (agent.runner.list_runs), for runs in every state, and
leave to LangGraph what it does not interpret."""

from __future__ import annotations

import shutil
import sqlite3

import pytest
from langgraph.checkpoint.sqlite import SqliteSaver
from support.runkit import approve, make_config, reject
from typer.testing import CliRunner

import agent.graph
from agent.commands.cli import app
from agent.commands.runs_listing import read_runs
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
        [r["run_id"], r["as_of"], r["mode"], r["outcome"], ", ".join(r["waiting_for"])] for r in expected]


def test_a_store_without_checkpoints_lists_nothing(tmp_path):
    store = tmp_path / "runs.db"
    sqlite3.connect(store).close()
    assert read_runs(store) == []
