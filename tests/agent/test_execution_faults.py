"""Broker faults during execution: each run completes (or stops with a true report and exit code),
and its report equals the exchange's order list, ticker by ticker; no slice is on the book twice.

The embedded exchange injects 500 bursts, EGW00201 bursts, token expiry and lost answers at
chosen moments (after the first acknowledgement, after the sells); slow answers need a real
socket and a client timeout, so they run against `rebal paper serve` in a subprocess.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time

import httpx
import pytest
from support.runkit import make_config, runner
from support.truthkit import account_orders, assert_each_slice_once, assert_report_is_the_exchange, on_points

from agent.runner import EXIT_OK, EXIT_PARTIAL, Runner, auto_approver
from agent.transcript import read_events

FAST = {"execution": {"poll_seconds": 5, "reconcile_seconds": 10, "fault_budget_seconds": 600}}


def _faulted_run(tmp_path, monkeypatch, point: str, **faults):
    """A headless run on the embedded exchange with ``faults`` switched on at ``point``."""
    with runner(make_config(tmp_path, **FAST), headless=True) as r:
        exchange = r.broker.embedded.exchange
        exchange.settings.token_issue_interval = 0

        def inject():
            for name, value in faults.items():
                setattr(exchange.settings.faults, name, value() if callable(value) else value)

        reached = on_points(monkeypatch, {point: inject})
        result = r.start(auto_approver)
        orders = account_orders(exchange, r.broker.account)
        assert reached[point.partition("#")[0]], f"{point} never reached"
        assert result.exit_code in (EXIT_OK, EXIT_PARTIAL), result.message
        assert_each_slice_once(r.journal, result.run_id, orders)
        assert_report_is_the_exchange(result, r.journal, orders)
        assert all(not o.is_open for o in orders), "an order is left working"
        return result, r.journal.entries(result.run_id)


@pytest.mark.parametrize("point", ["after_send#1", "after_sells"])
def test_a_500_burst(tmp_path, monkeypatch, point):
    result, _ = _faulted_run(tmp_path, monkeypatch, point, server_error_burst=9)
    assert result.exit_code == EXIT_OK, result.message


@pytest.mark.parametrize("point", ["after_send#1", "after_sells"])
def test_an_egw00201_burst_longer_than_the_clients_retries(tmp_path, monkeypatch, point):
    result, entries = _faulted_run(tmp_path, monkeypatch, point, rate_limit_burst=7)
    assert result.exit_code == EXIT_OK, result.message
    # A rate-limit refusal is never "rejected for good": the slice went out again in the same run.
    assert not [e for e in entries if e.status == "rejected"]
    if point == "after_send#1":  # the next order's POST was refused 6 times: not placed, sent again
        (refused,) = [e for e in entries if e.status == "void"]
        assert "refused before it reached the exchange" in refused.note
        assert any(e.key == refused.key + "#2" and e.order_no for e in entries)


def test_a_500_on_an_order_post_is_reconciled_and_sent_again_in_the_same_run(tmp_path, monkeypatch):
    # Exactly the next request (the second order's POST) fails: it is absent from the order list,
    # so it is sent again at once; the run completes with every slice placed once.
    result, entries = _faulted_run(tmp_path, monkeypatch, "before_send#2", server_error_burst=1)
    assert result.exit_code == EXIT_OK, result.message
    voided = [e for e in entries if e.status == "void"]
    assert len(voided) == 1 and "absent from the broker's order list" in voided[0].note
    assert any(e.key == voided[0].key + "#2" and e.order_no for e in entries)


def test_token_expiry_mid_run(tmp_path, monkeypatch):
    result, _ = _faulted_run(tmp_path, monkeypatch, "after_send#1", expire_tokens_at=time.time)
    assert result.exit_code == EXIT_OK, result.message


def test_lost_order_answers(tmp_path, monkeypatch):
    result, entries = _faulted_run(tmp_path, monkeypatch, "before_send#1", lose_order_responses=3)
    assert result.exit_code == EXIT_OK, result.message
    assert len([e for e in entries if e.note == "matched on the broker's order list"]) == 3


# --- over a socket: `rebal paper serve` in a subprocess -----------------------------------------

@pytest.fixture(scope="module")
def served(tmp_path_factory):
    from paper.exchange import PaperExchange
    from paper.process import served_exchange
    from paper.server import DEMO_CASH, demo_holdings, write_credentials
    from paper.settings import ExchangeSettings

    root = tmp_path_factory.mktemp("served-faults")
    db = root / "exchange.db"
    exchange = PaperExchange(ExchangeSettings(db=str(db), date="2026-11-20", time="10:00", speed=0))
    accounts = {}
    for name in ("slow", "burst"):
        account = exchange.create_account(DEMO_CASH, demo_holdings(exchange))
        write_credentials(account, root / f"{name}.json")
        accounts[name] = json.loads((root / f"{name}.json").read_text())
    exchange.store.close()
    with served_exchange(db, "--date", "2026-11-20", "--time", "10:00", "--speed", "0", "--rate-limit", "0") as url:
        yield url, accounts, root


def _served_runner(served, name: str, monkeypatch) -> tuple[Runner, str]:
    url, accounts, root = served
    keys = accounts[name]
    for var, key in (("KIS_APP_KEY", "app_key"), ("KIS_APP_SECRET", "app_secret"), ("KIS_ACCOUNT", "account")):
        monkeypatch.setenv(var, keys[key])
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    config = make_config(root / name, broker={"mode": "kis", "profile": "paper", "base_url": url,
                                              "requests_per_second": 0}, **FAST)
    return Runner(config, headless=True), url


def _served_orders(r: Runner):
    orders = r.broker.client.orders_today(day=dt.date(2026, 11, 20))
    return orders


def _assert_served_report(result, r: Runner) -> None:
    records = _served_orders(r)
    filled: dict[str, dict[str, int]] = {}
    for record in records:
        if record.is_cancel_record:
            continue
        sides = filled.setdefault(record.ticker, {"buy": 0, "sell": 0})
        sides[record.side] += record.filled_quantity
    filled = {t: v for t, v in sorted(filled.items()) if v["buy"] or v["sell"]}
    mine = {t: v for t, v in result.report["filled_by_ticker"].items() if v["buy"] or v["sell"]}
    assert mine == filled
    known = {e.order_no for e in r.journal.entries(result.run_id) if e.order_no}
    assert {rec.order_no for rec in records} == known
    new = [rec for rec in records if not rec.is_cancel_record and not rec.original_order_no]
    placed = [e for e in r.journal.entries(result.run_id) if e.kind == "new" and e.order_no]
    assert len(new) == len(placed)
    assert not [rec for rec in records if rec.is_open]


def test_slow_answers_past_the_client_timeout_on_a_served_exchange(served, monkeypatch):
    r, url = _served_runner(served, "slow", monkeypatch)

    def slow_down():
        httpx.post(url + "/paper/faults", json={"slow_seconds": 12}, timeout=5)
        threading.Timer(13, lambda: httpx.post(url + "/paper/faults", json={}, timeout=5)).start()

    on_points(monkeypatch, {"after_send#1": slow_down})
    with r:
        result = r.start(auto_approver)
        assert result.exit_code in (EXIT_OK, EXIT_PARTIAL), result.message
        _assert_served_report(result, r)
        lost = [e for e in read_events(result.transcript) if e.kind == "order_error" and e.data.get("ambiguous")]
        assert lost, "no answer timed out: the fault was not exercised"


def test_a_500_burst_after_the_sells_on_a_served_exchange(served, monkeypatch):
    r, url = _served_runner(served, "burst", monkeypatch)
    on_points(monkeypatch, {"after_sells": lambda: httpx.post(url + "/paper/faults", json={"server_error_burst": 9},
                                                              timeout=5)})
    with r:
        result = r.start(auto_approver)
        assert result.exit_code == EXIT_OK, result.message
        _assert_served_report(result, r)
