"""kill -9 the executor at several points, resume, and check the exchange: every order once, account at target.

The exchange runs as its own process (`rebal paper serve`), as KIS would; `rebal run --auto-approve`
runs in a subprocess that SIGKILLs itself at the named point, then `rebal runs resume` finishes the
run. The crash comes from ``tests/support/crashing_cli.py`` (``support.faultpoints`` hooks the point
from outside Rebal's code, which has no crash hook of its own).

The exchange's market clock is frozen (``--speed 0``): it moves only when the executor waits
(``RemotePaperClock.wait`` advances it by exactly that much), so the market every run sees does
not depend on how fast this machine is. On a clock running at a multiple of real time, the seconds
it takes to restart the executor become market minutes (prices leave the approved limits, a
re-price lands a tick late and is cancelled) and a slow machine runs the later cases into the close.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from support.paperkit import served_run_setup

from agent.transcript import read_events
from paper.exchange import PaperExchange
from paper.process import served_exchange
from paper.server import DEMO_CASH, demo_holdings, write_credentials
from paper.settings import ExchangeSettings

CLI = [sys.executable, "-m", "agent.commands.cli"]
CRASHING_CLI = [sys.executable, str(Path(__file__).parents[1] / "support" / "crashing_cli.py")]
CRASH_POINTS = ["before_send#1", "after_send#1", "after_sells", "after_send#5"]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("crash")
    db = root / "exchange.db"
    exchange = PaperExchange(ExchangeSettings(db=str(db), date="2026-11-20", time="10:00", speed=0))
    accounts = {}
    for point in ["clean", *CRASH_POINTS]:
        account = exchange.create_account(DEMO_CASH, demo_holdings(exchange))
        write_credentials(account, root / f"{point}.json")
        accounts[point] = json.loads((root / f"{point}.json").read_text())
    exchange.store.close()
    with served_exchange(db, "--date", "2026-11-20", "--time", "10:00", "--speed", "0", "--rate-limit", "0") as url:
        yield url, accounts, root


def _setup(served, point: str) -> tuple[Path, dict[str, str]]:
    url, accounts, root = served
    keys = accounts[point]
    home = root / point
    home.mkdir()
    config = home / "rebal.toml"
    env = served_run_setup(config, url, keys, home / "state", home / "transcripts")
    return config, env


def _orders_on_the_exchange(url: str, keys: dict[str, str], tmp: Path):
    from pydantic import SecretStr

    from tools.kis import Credentials, KisConfig, SyncKisClient

    creds = Credentials(app_key=SecretStr(keys["app_key"]), app_secret=SecretStr(keys["app_secret"]),
                        account=keys["account"], source="test")
    # The runs' token cache: KIS (and the paper exchange) issue one token a minute per app key.
    with SyncKisClient(KisConfig(account=keys["account"], base_url=url, requests_per_second=0,
                                 token_cache_dir=tmp / "state" / "kis-tokens"), creds) as kis:
        import datetime as dt

        return kis.orders_today(day=dt.date(2026, 11, 20)), kis.balance()


def _planned(transcript: Path) -> list[dict]:
    plans = [e for e in read_events(transcript) if e.kind == "plan"]
    return plans[-1].data["orders"]


@pytest.mark.parametrize("point", CRASH_POINTS)
def test_killed_executor_resumes_and_places_every_order_once(served, point):
    url, accounts, _root = served
    config, env = _setup(served, point)
    crashed = subprocess.run([*CRASHING_CLI, "--crash-at", point, "run", "--auto-approve", "-c", str(config)],
                             env=env, capture_output=True, text=True, timeout=180)
    # Killed at the point (a point never reached would let the run finish: that fails here).
    assert crashed.returncode == -9, crashed.stdout[-2000:] + crashed.stderr[-2000:]
    (transcript,) = (config.parent / "transcripts").glob("*.jsonl")
    run_id = transcript.stem
    resumed = subprocess.run([*CLI, "runs", "resume", run_id, "--auto-approve", "-c", str(config)], env=env,
                             capture_output=True, text=True, timeout=180)
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-2000:]
    assert "completed" in resumed.stdout

    orders, balance = _orders_on_the_exchange(url, accounts[point], config.parent)
    new_orders = [o for o in orders if not o.is_cancel_record and not o.original_order_no]
    planned = _planned(transcript)
    # Exactly once: one broker order per planned slice, same tickers, sides and quantities.
    assert Counter((o.ticker, o.side, o.quantity) for o in new_orders) == \
        Counter((p["ticker"], p["side"], p["quantity"]) for p in planned)
    # And the account is at its targets.
    report = [e for e in read_events(transcript) if e.kind == "report"][-1].data
    assert report["max_drift"] < 0.01 and report["unfilled_quantity"] == 0
    assert {h.ticker: h.quantity for h in balance.holdings if h.quantity} == \
        {row["ticker"]: row["quantity"] for row in report["holdings"] if row["quantity"]}


def test_a_run_without_a_crash_for_comparison(served):
    url, accounts, _ = served
    config, env = _setup(served, "clean")
    result = subprocess.run([*CLI, "run", "--auto-approve", "-c", str(config)], env=env, capture_output=True,
                            text=True, timeout=180)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    orders, _ = _orders_on_the_exchange(url, accounts["clean"], config.parent)
    (transcript,) = (config.parent / "transcripts").glob("*.jsonl")
    new_orders = [o for o in orders if not o.is_cancel_record and not o.original_order_no]
    assert len(new_orders) == len(_planned(transcript))
