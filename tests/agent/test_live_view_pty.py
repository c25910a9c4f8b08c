"""The live execution view in a real terminal: `rebal run` through a pseudo-terminal, against a
paper exchange served in its own process with its clock running (120 market seconds a second),
and the LLM planner through the fake Gemini server slicing each sell into a TWAP. The person
approves, watches the first slices fill, then presses c, y: nothing more is sent, the working
slices are cancelled, the run ends partly done (exit 6) and says so; the exchange agrees.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import sys

import pexpect
import pytest
from support.fake_gemini import FakeGemini, Recorded
from support.paperkit import free_port

from paper.exchange import PaperExchange
from paper.process import served_exchange
from paper.server import DEMO_CASH, demo_holdings, write_credentials
from paper.settings import ExchangeSettings

DAY = "2026-11-20"
TRADE_ID = re.compile(r"T\d{2}-\d{6}-(?:SELL|BUY)")


def _plan(request: Recorded) -> dict:
    """The planner's answer: every sell in three TWAP slices at the mid, every buy one limit now."""
    from planner.planner_kit import choice, gemini_body

    ids = sorted(set(TRADE_ID.findall("".join(request.texts()))))
    choices = [choice(i, price_rule="mid", slices=3, schedule="twap", rationale="spread the sale")
               if i.endswith("SELL") else choice(i, price_rule="ask1", rationale="one order at the ask")
               for i in ids]
    return gemini_body(json.dumps({"choices": choices}))


@pytest.fixture
def served(tmp_path):
    db = tmp_path / "exchange.db"
    exchange = PaperExchange(ExchangeSettings(db=str(db), date=DAY, time="09:05", speed=0))
    account = exchange.create_account(DEMO_CASH, demo_holdings(exchange))
    write_credentials(account, tmp_path / "keys.json")
    exchange.store.close()
    with served_exchange(db, "--date", DAY, "--time", "09:05", "--speed", "120", "--rate-limit", "0",
                         port=free_port()) as url:
        yield url, json.loads((tmp_path / "keys.json").read_text())


def _orders(url: str, keys: dict, tmp_path) -> list:
    from pydantic import SecretStr

    from tools.kis import Credentials, KisConfig, SyncKisClient

    creds = Credentials(app_key=SecretStr(keys["app_key"]), app_secret=SecretStr(keys["app_secret"]),
                        account=keys["account"], source="test")
    with SyncKisClient(KisConfig(account=keys["account"], base_url=url, requests_per_second=0,
                                 token_cache_dir=tmp_path / "home" / "kis-tokens"), creds) as kis:
        return kis.orders_today(day=dt.date.fromisoformat(DAY))


def _plain(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)


def _session(tmp_path, url: str, keys: dict, gemini: FakeGemini, *args: str) -> pexpect.spawn:
    """``rebal ARGS -c CONFIG`` in a 160x50 pseudo-terminal, against the served exchange."""
    config = tmp_path / "rebal.toml"
    config.write_text(f"""
[broker]
mode = "kis"
base_url = "{url}"
requests_per_second = 0
[targets]
file = "{os.path.abspath("examples/targets/demo.toml")}"
[planner]
base_url = "{gemini.base_url}"
max_retries = 0
[approval]
ttl_seconds = 3600
quote_tolerance_bp = 3000
[execution]
poll_seconds = 5
fill_window_minutes = 3
twap_start = "09:10"
twap_end = "10:30"
[paths]
home = "{tmp_path / "home"}"
transcripts = "{tmp_path / "transcripts"}"
""")
    env = {**os.environ, "KIS_APP_KEY": keys["app_key"], "KIS_APP_SECRET": keys["app_secret"],
           "KIS_ACCOUNT": keys["account"], "GOOGLE_API_KEY": "test-key", "GEMINI_API_KEY": "",
           "TERM": "xterm-256color", "COLUMNS": "160", "LINES": "50"}
    return pexpect.spawn(sys.executable, ["-m", "agent.commands.cli", *args, "-c", str(config)], env=env,
                         dimensions=(50, 160), encoding="utf-8", timeout=90)


def _approve_and_watch(child: pexpect.spawn) -> None:
    child.expect("approve / reject")
    child.sendline("approve")
    child.expect(r"Execution \(exchange clock, KST\)")
    child.expect("press c to cancel the remaining slices")
    child.expect(r"[1-9]\d*/\d+ slices settled")  # the first slices filled, shown as they happened


def test_the_live_view_shows_fills_and_c_y_cancels_the_remaining_slices(tmp_path, served):
    url, keys = served
    with FakeGemini() as gemini:
        gemini.respond(_plan)
        child = _session(tmp_path, url, keys, gemini, "run")
        try:
            _approve_and_watch(child)
            child.send("c")
            child.expect("press y to confirm")
            child.send("y")
            child.expect(r"(cancel requested by|at the request of) terminal:")
            child.expect(pexpect.EOF)
        finally:
            child.close()
        output = child.before or ""
    assert child.exitstatus == 6, output[-3000:]
    assert "partly done" in output and "cancelled by terminal:" in output
    assert "Traceback" not in output
    orders = _orders(url, keys, tmp_path)
    new_sells = [o for o in orders if o.side == "sell" and not o.original_order_no and not o.is_cancel_record]
    assert new_sells and len(new_sells) < 6  # two sells of three slices each were planned; not all went out
    assert not [o for o in orders if o.side == "buy"]  # the buys never went out
    assert all(o.remaining_quantity == 0 for o in orders)  # nothing is left working on the exchange
    from agent.transcript import read_events

    events = read_events(next((tmp_path / "transcripts").glob("*.jsonl")))
    asked = [e for e in events if e.kind == "execution" and e.data.get("step") == "cancel requested"]
    assert len(asked) == 1 and asked[0].data["by"].startswith("terminal:")


def test_ctrl_c_while_the_orders_run_stops_the_run_and_a_resume_sends_each_slice_once(tmp_path, served):
    """Ctrl-C is not a cancel: the run stops where it is (exit 130), says what the journal shows and
    how to resume; the resume sends each remaining slice once and the account reaches the plan."""
    url, keys = served
    with FakeGemini() as gemini:
        gemini.respond(_plan)
        child = _session(tmp_path, url, keys, gemini, "run")
        try:
            _approve_and_watch(child)
            child.sendintr()
            child.expect(pexpect.EOF)
        finally:
            child.close()
        stopped = _plain(child.before or "")
        assert child.exitstatus == 130, stopped[-3000:]
        assert "interrupted (Ctrl-C)" in stopped and "rebal runs resume" in stopped
        assert "Traceback" not in stopped and "Task was destroyed" not in stopped
        run_id = re.search(r"rebal runs resume (\S+?)`", stopped).group(1)
        before = _orders(url, keys, tmp_path)
        import httpx  # the person waits less: the exchange's clock runs faster for the resume

        assert httpx.post(url + "/paper/clock", json={"speed": 400}).status_code == 200
        resumed = _session(tmp_path, url, keys, gemini, "runs", "resume", run_id)
        try:
            resumed.expect(pexpect.EOF, timeout=120)
        finally:
            resumed.close()
        output = _plain(resumed.before or "")
    # Done (exit 0), or partly done (6) when a slice stayed unfilled through its windows: either way
    # said as the exchange shows it, never sent twice.
    assert resumed.exitstatus in (0, 6), output[-3000:]
    assert ("completed" if resumed.exitstatus == 0 else "partly done") in output and "Traceback" not in output
    after = _orders(url, keys, tmp_path)
    placed = [o for o in after if not o.original_order_no and not o.is_cancel_record]
    assert {o.order_no for o in before} <= {o.order_no for o in after}
    # Each slice once: as many new orders as the plan has slices (two sells in three, five buys in one).
    from agent.transcript import read_events

    events = read_events(next((tmp_path / "transcripts").glob("*.jsonl")))
    planned = {o["order_id"] for e in events if e.kind == "execution" and e.data.get("step") in
               ("timetable", "buy timetable") for o in e.data.get("orders", [])}
    assert len(placed) == len(planned)
