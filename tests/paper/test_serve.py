"""``rebal paper serve`` as a user runs it: a process on loopback, a credentials file, and reset."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import httpx
import pytest

from paper.process import served_exchange

CLI = [sys.executable, "-m", "agent.commands.cli"]


@pytest.fixture
def served(tmp_path):
    creds = tmp_path / "creds.json"
    with served_exchange(tmp_path / "p.db", "--date", "2026-11-20", "--time", "10:00", "--credentials", str(creds),
                         "--rate-limit", "0") as url:
        yield url, creds, tmp_path / "p.db"


def test_serve_writes_private_credentials_and_answers(served):
    url, creds, _ = served
    assert stat.S_IMODE(os.stat(creds).st_mode) == 0o600
    keys = json.loads(creds.read_text())
    assert set(keys) == {"app_key", "app_secret", "account"}
    assert len(keys["app_key"]) == 36 and len(keys["app_secret"]) == 180
    cano, product = keys["account"].split("-")
    token = httpx.post(url + "/oauth2/tokenP", json={"grant_type": "client_credentials", "appkey": keys["app_key"],
                                                     "appsecret": keys["app_secret"]}).json()["access_token"]
    headers = {"authorization": f"Bearer {token}", "appkey": keys["app_key"], "appsecret": keys["app_secret"]}
    balance = httpx.get(url + "/uapi/domestic-stock/v1/trading/inquire-balance",
                        headers={**headers, "tr_id": "VTTC8434R"},
                        params={"CANO": cano, "ACNT_PRDT_CD": product, "INQR_DVSN": "01"}).json()
    assert balance["rt_cd"] == "0" and len(balance["output1"]) == 7  # the demo account's ETFs


def test_serve_refuses_non_loopback_hosts(tmp_path):
    result = subprocess.run([*CLI, "paper", "serve", "--host", "0.0.0.0", "--db", str(tmp_path / "x.db")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "loopback only" in result.stderr


def test_reset_clears_the_database(served):
    _, _, db = served
    result = subprocess.run([*CLI, "paper", "reset", "--db", str(db)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "reset" in result.stdout
    from paper.store import Store

    assert Store(db).load_accounts() == []
