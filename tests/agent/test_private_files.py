"""What a run leaves behind is private and holds no secret it should not.

The walk: `rebal paper serve` in its own process, a headless run killed at a send and resumed, and a
backtest, all through the command line. Every folder they made is 0700 and every file 0600
(databases with their -wal/-shm, the token cache, the calendar cache, transcripts, CSVs, the plot).
The app key, app secret, account number, token and Gemini key appear only where they must be kept:
the exchange's own database and credentials file, and the token cache.

The brute force: a transcript shows the masked account (first four digits, last two), the date
and the targets version; trying every account that matches the mask must not single out the real one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from support.paperkit import served_run_setup
from support.runkit import make_config, runner

from agent.runner import auto_approver
from agent.transcript import read_events
from paper.process import served_exchange

CLI = [sys.executable, "-m", "agent.commands.cli"]
CRASHING_CLI = [sys.executable, str(Path(__file__).resolve().parents[1] / "support" / "crashing_cli.py")]
GEMINI_KEY = "AIzaSy-not-a-real-key-0123456789abcdef"


def _prices(folder: Path) -> None:
    """Two tickers, 260 weekdays of KRX-layout daily bars (the test's own input, not Rebal's output)."""
    folder.mkdir()
    day, rows = dt.date(2024, 1, 2), []
    while len(rows) < 260:
        if day.weekday() < 5:
            rows.append(day)
        day += dt.timedelta(days=1)
    for ticker, base in (("069500", 35_000), ("152380", 20_000)):
        lines = ["date,open,high,low,close,volume,ticker,code,name,interval"]
        for n, day in enumerate(rows):
            close = base + 5 * ((n * 37) % 200) - 500
            lines.append(f"{day:%Y%m%d},{close},{close + 50},{close - 50},{close},100000,{ticker},{ticker},,D")
        (folder / f"KRX_{ticker}.csv").write_text("\n".join(lines) + "\n")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def _walk(root: Path) -> list[Path]:
    return [root, *sorted(root.rglob("*"))]


def test_everything_a_run_a_crash_a_backtest_and_paper_serve_write_is_private(tmp_path):
    world = tmp_path / "world"
    world.mkdir()
    exchange, home, transcripts = world / "exchange", world / "home", world / "transcripts"
    cache, out = world / "cache", world / "backtest"
    credentials = exchange / "paper.json"
    with served_exchange(exchange / "exchange.db", "--date", "2026-11-20", "--time", "10:00", "--speed", "0",
                         "--rate-limit", "0", "--credentials", str(credentials)) as url:
        keys = json.loads(credentials.read_text())
        config = world / "rebal.toml"  # the test's input
        env = served_run_setup(config, url, keys, home, transcripts, GOOGLE_API_KEY=GEMINI_KEY,
                               REBAL_CACHE_DIR=str(cache))
        crashed = subprocess.run([*CRASHING_CLI, "--crash-at", "after_send#1", "run", "--auto-approve",
                                  "-c", str(config)], env=env, capture_output=True, text=True, timeout=180)
        assert crashed.returncode == -9, crashed.stdout[-2000:] + crashed.stderr[-2000:]
        (transcript,) = transcripts.glob("*.jsonl")
        resumed = subprocess.run([*CLI, "runs", "resume", transcript.stem, "--auto-approve", "-c", str(config)],
                                 env=env, capture_output=True, text=True, timeout=180)
        assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-2000:]
        listed = subprocess.run([*CLI, "runs", "list", "-c", str(config)], env=env, capture_output=True, text=True,
                                timeout=120)
        assert listed.returncode == 0 and transcript.stem in listed.stdout
    prices = world / "prices"  # the test's input
    _prices(prices)
    strategy = world / "static.toml"  # the test's input
    strategy.write_text('strategy = "static"\n[static]\nweights = { "069500" = 60, "152380" = 40 }\n'
                        "[backtest]\ncapital = 10000000\n")
    backtest = subprocess.run([*CLI, "backtest", "-s", str(strategy), "--prices", str(prices), "--out", str(out)],
                              env=env, capture_output=True, text=True, timeout=180)
    assert backtest.returncode == 0, backtest.stdout[-2000:] + backtest.stderr[-2000:]

    written = [p for root in (exchange, home, transcripts, cache, out) for p in _walk(root)]
    names = {p.name for p in written}
    # What the walk must have seen, so it cannot pass by looking at nothing.
    for expected in ("exchange.db", "paper.json", "runs.db", "journal.db", "journal.key", "backtest.png",
                     transcript.name):
        assert expected in names, expected
    assert any(p.parent.name == "kis-tokens" and p.is_file() for p in written), "no token cache written"
    assert any(n.endswith("-wal") for n in names), "no WAL file seen (the exchange and journal run in WAL mode)"
    loose = [f"{p.relative_to(world)} {_mode(p):o}" for p in written
             if _mode(p) != (0o700 if p.is_dir() else 0o600)]
    assert loose == [], loose

    # Secrets: only the exchange's own files and the token cache may hold them.
    tokens = {json.loads(p.read_text())["token"] for p in written
              if p.parent.name == "kis-tokens" and p.suffix == ".json"}
    assert tokens, "the token cache holds no token"
    secrets = {"app key": keys["app_key"], "app secret": keys["app_secret"], "account": keys["account"],
               "account digits": keys["account"].replace("-", ""), "Gemini key": GEMINI_KEY,
               **{f"token {n}": t for n, t in enumerate(sorted(tokens))}}
    keepers = [p for p in written if p.is_relative_to(exchange) or p.parent.name == "kis-tokens"]
    leaks = [f"{what} in {p.relative_to(world)}" for p in written if p.is_file() and p not in keepers
             for what, secret in secrets.items() if secret.encode() in p.read_bytes()]
    assert leaks == [], leaks


def test_a_library_run_writes_private_files_whatever_the_umask(tmp_path):
    """Without the command line's umask, the explicit modes alone keep a run's files private."""
    old = os.umask(0o022)
    try:
        with runner(make_config(tmp_path / "home"), headless=True) as r:
            result = r.start(auto_approver)
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.message
    written = _walk(tmp_path / "home")
    names = {p.name for p in written}
    for expected in ("runs.db", "journal.db", "journal.key", "transcripts", result.transcript.name):
        assert expected in names, expected
    loose = [f"{p.relative_to(tmp_path)} {_mode(p):o}" for p in written if _mode(p) != (0o700 if p.is_dir() else 0o600)]
    assert loose == [], loose


def test_the_account_cannot_be_recovered_from_a_transcript(tmp_path):
    with runner(make_config(tmp_path), headless=True) as r:
        result = r.start(auto_approver)
        account = r.broker.account
    text = result.transcript.read_text()
    events = read_events(result.transcript)
    started = events[0].data
    masked, as_of = started["account"], started["as_of"]
    version = next(e.data["version"] for e in events if e.kind == "targets")
    assert "*" in masked and account not in text and account.replace("-", "") not in text

    # Every account the mask allows: the real one is among them.
    holes = masked.count("*")
    candidates = [masked.replace("*" * holes, "".join(digits)) for digits in
                  itertools.product("0123456789", repeat=holes)]
    assert account in candidates and len(candidates) == 10 ** holes

    # Whatever a transcript reader could hash (the former run id scheme and plain digests of the
    # account with the date and version), no candidate's digest is in the transcript.
    def digests(candidate: str) -> list[str]:
        plain = candidate.replace("-", "")
        return [hashlib.sha256(f"{c}|{as_of}|{version}".encode()).hexdigest()[:10] for c in (candidate, plain)] + \
            [hashlib.sha256(c.encode()).hexdigest()[:10] for c in (candidate, plain)]

    matching = [c for c in candidates if any(d in text for d in digests(c))]
    assert matching == []
    # The run id itself is random: nothing in it depends on the account.
    assert result.run_id.startswith(as_of + "-") and result.run_id not in {f"{as_of}-{d}" for d in digests(account)}
