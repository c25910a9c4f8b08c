"""The everyday commands load only what they use: no LangGraph/LangChain, pandas, HiGHS or matplotlib.

Each command runs in a fresh interpreter (the test process has imported everything already) and
reports which of those packages ended up in ``sys.modules``. This checks the import structure,
not speed: ``bench/bench_startup.py`` measures the time.
"""

from __future__ import annotations

import inspect
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support.runkit import approve, make_config

from agent.runner import Runner, auto_approver

HEAVY = ("langgraph", "langchain_core", "langchain_google_genai", "pandas", "highspy", "matplotlib")

# Runs a command as `rebal` would (agent.commands.cli:main) and writes the heavy packages it loaded to a file.
PROBE = """
import json, sys
heavy, out, args = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3:]
sys.argv = ["rebal", *args]
code = None
from agent.commands.cli import main
if args:
    try:
        main()
    except SystemExit as exit:
        code = exit.code
with open(out, "w") as handle:
    json.dump({"code": code, "loaded": sorted(m for m in heavy if m in sys.modules)}, handle)
"""


def _calendar_cache(directory: Path) -> None:
    """The KRX calendar's disk cache, which the commands read (building it needs exchange-calendars
    and pandas: only ever once per library version)."""
    from tools import market

    defaults = inspect.signature(market.KrxCalendar).parameters
    start, end = defaults["start"].default, defaults["end"].default
    directory.mkdir(parents=True, exist_ok=True)
    mine = market._cache_file(start, end)
    if mine.exists():
        shutil.copy(mine, directory / mine.name)
        return
    before = os.environ.get("REBAL_CACHE_DIR")
    os.environ["REBAL_CACHE_DIR"] = str(directory)
    try:
        market._load_sessions(start, end)
    finally:
        if before is None:
            del os.environ["REBAL_CACHE_DIR"]
        else:
            os.environ["REBAL_CACHE_DIR"] = before


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    """A working folder with a config (embedded exchange) and a home holding a finished run, a run
    waiting for approval, with their transcripts."""
    root = tmp_path_factory.mktemp("startup")
    _calendar_cache(root / "cache")
    home = root / "home"
    targets = Path(__file__).resolve().parents[1] / "examples" / "targets" / "demo.toml"
    (root / "rebal.toml").write_text(f'[broker]\nmode = "embedded"\n[targets]\nfile = "{targets}"\n[paths]\n'
                                     f'home = "{home}"\ntranscripts = "{home / "transcripts"}"\n', encoding="utf-8")
    with Runner(make_config(home, guardrails={"headless_max_turnover": 0.01}), headless=True) as runner:
        assert runner.start(auto_approver).awaiting_approval
    with Runner(make_config(home), headless=False) as runner:
        assert runner.start(approve, again=True).outcome == "completed"
    return root


def _probe(workdir: Path, *args: str) -> dict:
    out = workdir / "probe.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KIS_", "REBAL_"))}
    env.update(REBAL_CACHE_DIR=str(workdir / "cache"), COLUMNS="160")
    done = subprocess.run([sys.executable, "-c", PROBE, json.dumps(HEAVY), str(out), *args], cwd=workdir, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(out.read_text())


@pytest.mark.parametrize("args", [(), ("--help",), ("status",), ("runs", "list"), ("transcripts", "list")],
                         ids=["import", "help", "status", "runs-list", "transcripts-list"])
def test_light_commands_do_not_import_heavy_packages(workdir, args):
    result = _probe(workdir, *args)
    assert result["code"] in (None, 0)
    assert result["loaded"] == []


def test_the_probe_sees_heavy_imports(workdir):
    """The check itself works: a run's graph does load LangGraph and the solver."""
    out = workdir / "graph.json"
    script = ("import json, sys; from agent.graph import build_graph; build_graph(); import tools.netting as n; "
              "n.compute_trades; json.dump(sorted(m for m in sys.argv[1].split(',') if m in sys.modules), "
              "open(sys.argv[2], 'w'))")
    subprocess.run([sys.executable, "-c", script, ",".join(HEAVY), str(out)], cwd=workdir, check=True, timeout=120)
    assert {"langgraph", "langchain_core", "highspy"} <= set(json.loads(out.read_text()))
