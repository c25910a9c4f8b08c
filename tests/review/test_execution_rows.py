"""The Execution section, row by row, against the exchange's own order list, for real runs:
headless, interactive with an edit and a re-price, a remainder cancelled (partly done), and a run
crashed after an order and resumed."""

from __future__ import annotations

import pytest
from review.realruns import RealRun

from agent.review._doc import Table
from agent.review.transcripts import _document, summarize
from agent.transcript import read_events
from paper.ledger import OrderStatus
from tools.market import OrderType

COLUMNS = ["order", "ticker", "side", "qty", "type", "limit", "sent", "ODNO", "filled @ avg", "state"]


def orders_table(run: RealRun) -> list[dict[str, str]]:
    document = _document(run.transcript)
    (execution,) = [s for s in document.sections if s.title == "Execution"]
    (table,) = [b for b in execution.blocks if isinstance(b, Table) and b.caption == "orders"]
    assert list(table.columns) == COLUMNS
    return [dict(zip(COLUMNS, row, strict=True)) for row in table.rows]


def odno(number: int) -> str:
    return f"{number:010d}"


def expected_state(order, orders) -> str:
    """What the row must say, from the exchange's records alone."""
    revision = next((o for o in orders if o.action == "revise" and o.original_order_no == order.order_no), None)
    cancel = next((o for o in orders if o.action == "cancel" and o.original_order_no == order.order_no), None)
    counts = f"{order.filled_quantity:,}/{order.quantity:,}"
    if revision is not None:
        return f"re-priced → ODNO {odno(revision.order_no)}, {counts} filled here"
    if order.status is OrderStatus.FILLED:
        return "✓ filled"
    if cancel is not None:
        return f"cancelled, {counts} filled"
    if order.status is OrderStatus.OPEN:
        return f"working, {counts} filled" if not order.filled_quantity else f"partly filled {counts}"
    return f"partly filled {counts}" if order.filled_quantity else "not filled (cancelled or lapsed)"


def assert_rows_are_the_exchange(run: RealRun) -> None:
    rows = orders_table(run)
    placed = [o for o in run.exchange_orders if o.action != "cancel"]
    assert placed, "the run placed no order: nothing to compare"
    by_odno = {row["ODNO"]: row for row in rows if row["ODNO"] != "—"}
    assert sorted(by_odno) == sorted(odno(o.order_no) for o in placed), "rows and exchange orders differ"
    assert len(by_odno) == len([r for r in rows if r["ODNO"] != "—"]), "an order shows on two rows"
    for order in placed:
        row = by_odno[odno(order.order_no)]
        where = f"ODNO {odno(order.order_no)}"
        assert row["ticker"].split()[0] == order.ticker, where
        assert row["ticker"].removeprefix(order.ticker).strip() == order.name, where
        assert row["side"] == ("sell" if order.side.value == "01" else "buy"), where
        assert row["qty"] == f"{order.quantity:,}", where
        kind = OrderType(order.order_type.value)
        assert row["type"] == f"{kind.english_name} ({kind.value})", where
        if kind.needs_price:
            assert row["limit"] == f"{order.price:,}", where
        assert row["sent"] == order.placed_at.strftime("%H:%M:%S"), where
        filled = (f"{order.filled_quantity:,} @ {round(order.filled_amount / order.filled_quantity):,}"
                  if order.filled_quantity else "0")
        assert row["filled @ avg"] == filled, where
        assert row["state"] == expected_state(order, run.exchange_orders), where
    # The list counts orders the same way as the screen.
    assert summarize(run.transcript).orders_placed == len(by_odno)


def test_headless_rows_are_the_exchanges_orders(headless_run: RealRun) -> None:
    assert headless_run.result.outcome == "completed", headless_run.result.message
    assert_rows_are_the_exchange(headless_run)
    rows = orders_table(headless_run)
    assert [r["order"] for r in rows] == sorted(r["order"] for r in rows)  # sells first (T01…), then buys


def test_an_edited_repriced_run_shows_the_revision_as_its_own_row(repriced_run: RealRun) -> None:
    revisions = [o for o in repriced_run.exchange_orders if o.action == "revise"]
    if not revisions:
        pytest.skip(f"nothing was re-priced on this market ({repriced_run.result.outcome})")
    assert_rows_are_the_exchange(repriced_run)
    rows = {r["ODNO"]: r for r in orders_table(repriced_run)}
    for revision in revisions:
        row = rows[odno(revision.order_no)]
        assert row["order"].startswith("re-price of T") and row["type"] == "limit (00)"
    edited = [r for r in orders_table(repriced_run) if r["type"] == "best own (04)"]
    assert len(edited) == 1, "the approver's order-type edit is not shown"


def test_a_cancelled_remainder_is_shown_as_cancelled(cancelled_run: RealRun) -> None:
    assert_rows_are_the_exchange(cancelled_run)
    cancels = [o for o in cancelled_run.exchange_orders if o.action == "cancel"]
    if not cancels:
        pytest.skip(f"nothing was left to cancel on this market ({cancelled_run.result.outcome})")
    states = [r["state"] for r in orders_table(cancelled_run)]
    assert sum(s.startswith("cancelled, ") for s in states) == len(cancels)
    assert cancelled_run.result.outcome == "partly done"


def test_a_crashed_and_resumed_run_shows_each_order_once(resumed_run: RealRun) -> None:
    assert resumed_run.result.outcome == "completed", resumed_run.result.message
    assert_rows_are_the_exchange(resumed_run)
    events = read_events(resumed_run.transcript)
    assert "run_resumed" in [e.kind for e in events]
    assert all(e.market_at for e in events), "an event without the exchange clock"
