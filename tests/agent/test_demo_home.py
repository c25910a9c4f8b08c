"""`rebal demo --home DIR` clears only what an earlier demo made there, and refuses any other folder."""

from __future__ import annotations

import json
import stat

from agent.commands.demo_home import DEMO_MARKER, clear_demo_home
from agent.commands.session import demo_command
from agent.runner import EXIT_OK, EXIT_USAGE


def test_a_folder_the_demo_did_not_make_is_refused_and_left_as_it_was(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    home = tmp_path / "someones-home"
    home.mkdir()
    (home / "runs.db").write_text("a person's checkpoints")
    (home / "notes").mkdir()
    (home / "notes" / "keep.txt").write_text("keep me")
    before = sorted(p.relative_to(home) for p in home.rglob("*"))
    assert demo_command(home) == EXIT_USAGE
    assert sorted(p.relative_to(home) for p in home.rglob("*")) == before
    assert (home / "runs.db").read_text() == "a person's checkpoints"
    file_home = tmp_path / "a-file"
    file_home.write_text("x")
    assert demo_command(file_home) == EXIT_USAGE and file_home.read_text() == "x"


def test_the_demo_marks_what_it_made_and_a_later_demo_clears_only_that(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    home = tmp_path / "demo"
    assert demo_command(home) == EXIT_OK
    made = json.loads((home / DEMO_MARKER).read_text())
    assert {"runs.db", "journal.db", "embedded-exchange.db"} <= set(made)
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    (home / "mine.txt").write_text("a person's file in the demo folder")
    assert clear_demo_home(home) is None
    left = {p.name for p in home.iterdir()}
    assert left == {DEMO_MARKER, "mine.txt"}, left  # the demo's entries gone, nothing else
    assert demo_command(home) == EXIT_OK  # and the demo runs again from a fresh account
    assert (home / "mine.txt").read_text() == "a person's file in the demo folder"


def test_an_empty_folder_is_accepted(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    home = tmp_path / "empty"
    home.mkdir()
    assert clear_demo_home(home) is None and list(home.iterdir()) == []
