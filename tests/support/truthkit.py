"""Checking a run's report against the exchange, and hooking faults into a run at chosen moments."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Callable

from agent.runner import Runner
from support import faultpoints
from tools.market import KST

Hook = Callable[[str], None]


def on_points(monkeypatch, hooks: dict[str, Callable[[], None]]) -> Counter:
    """Call ``hooks[point]()`` at the executor's named points (``after_send#2``: the 2nd time);
    returns the counter of points reached. The points are hooked by ``support.faultpoints``."""
    return faultpoints.on(monkeypatch, hooks)


def set_clock(r: Runner, hh: int, mm: int) -> None:
    exchange = r.broker.embedded.exchange
    day = exchange.clock.now().date()
    exchange.clock.set(dt.datetime.combine(day, dt.time(hh, mm), KST))


def account_orders(exchange, account: str) -> list:
    return [o for o in exchange.orders.values() if o.account == account]


def exchange_fills(orders) -> dict[str, dict[str, int]]:
    filled: dict[str, dict[str, int]] = defaultdict(lambda: {"buy": 0, "sell": 0})
    for order in orders:
        if order.action == "cancel":
            continue
        side = "sell" if order.side.value == "01" else "buy"
        filled[order.ticker][side] += order.filled_quantity
    return {t: dict(v) for t, v in sorted(filled.items()) if v["buy"] or v["sell"]}


def assert_report_is_the_exchange(result, journal, orders) -> None:
    """The run's report equals the exchange's order list ticker by ticker, every order on the
    exchange is one the journal knows, and no journal order is missing from the exchange."""
    report = result.report
    mine = {t: v for t, v in report["filled_by_ticker"].items() if v["buy"] or v["sell"]}
    assert mine == exchange_fills(orders), (mine, exchange_fills(orders))
    known = {e.order_no for e in journal.entries(result.run_id) if e.order_no}
    on_exchange = {f"{o.order_no:010d}" for o in orders}
    assert on_exchange <= known, f"orders the journal does not know: {sorted(on_exchange - known)}"
    assert known <= on_exchange, f"journal orders the exchange does not have: {sorted(known - on_exchange)}"
    by_trade = {t["trade_id"]: t for t in report["trades"]}
    for ticker, sides in mine.items():
        for side, quantity in sides.items():
            reported = sum(t["filled"] for t in by_trade.values() if t["ticker"] == ticker and t["side"] == side)
            assert reported == quantity, (ticker, side, reported, quantity)


def new_orders(orders) -> list:
    return [o for o in orders if o.action == "new"]


def assert_each_slice_once(journal, run_id: str, orders) -> None:
    """One exchange order per placed slice: no slice on the book twice."""
    placed = [e for e in journal.entries(run_id) if e.kind == "new" and e.order_no]
    slices = Counter((e.trade_id, e.slice_no) for e in placed)
    assert all(n == 1 for n in slices.values()), slices
    assert len(new_orders(orders)) == len(placed)
