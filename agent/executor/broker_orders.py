"""Sending one order slice exactly once, and finding out what happened to it.

``send`` records the intent in the journal before the broker call and the order number after.
``reconcile`` settles an intent whose answer never arrived (a crash, a lost response) by looking
for it among the broker's orders of the day — KIS has no client order id, so a slice is matched by
ticker, side, quantity, type, price and time, and each broker order can be claimed only once.
"""

from __future__ import annotations

import datetime as dt
import os
import signal

from agent.executor.journal import Journal, JournalEntry, now_iso
from agent.transcript import Transcript
from tools.kis import KisApiError, OrderOutcomeUnknown, SyncKisClient
from tools.kis.models import OrderRecord
from tools.market import OrderType
from tools.plan import Order

TIME_SLACK = dt.timedelta(seconds=5)  # broker clock vs ours when matching an order by its time
_crash_counts: dict[str, int] = {}


def crash_point(point: str) -> None:
    """Fault injection for the crash tests: ``REBAL_CRASH_AT=point`` or ``point#n`` (n-th time)
    kills this process with SIGKILL right here. Inert unless that variable is set."""
    wanted = os.environ.get("REBAL_CRASH_AT")
    if not wanted:
        return
    name, _, nth = wanted.partition("#")
    if point != name:
        return
    _crash_counts[point] = _crash_counts.get(point, 0) + 1
    if _crash_counts[point] == int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)


def slice_key(run_id: str, order: Order) -> str:
    return f"{run_id}/{order.order_id}"


class OrderDesk:
    def __init__(self, run_id: str, client: SyncKisClient, journal: Journal, transcript: Transcript, clock) -> None:
        self.run_id = run_id
        self.client = client
        self.journal = journal
        self.transcript = transcript
        self.clock = clock

    # --- sending ------------------------------------------------------------------------------

    def send(self, order: Order, *, key: str | None = None) -> JournalEntry:
        """Place ``order`` unless the journal shows it was placed already; returns its entry."""
        key = key or slice_key(self.run_id, order)
        entry = self.journal.get(key)
        if entry is not None and entry.status in ("intent", "unknown"):
            entry = self.reconcile(entry)
        if entry is not None and entry.status in ("acked", "done", "rejected"):
            return entry
        attempt = entry.attempt + 1 if entry is not None else 1
        price = order.limit_price or 0
        entry = JournalEntry(key=key, run_id=self.run_id, trade_id=order.trade_id, slice_no=order.slice_no,
                             attempt=attempt, ticker=order.ticker, side=order.side, quantity=order.quantity,
                             order_type=order.order_type.value, price=price, status="intent",
                             sent_at=now_iso(self.clock.now()))
        self.journal.record_intent(entry)
        self.transcript.write("order_intent", key=key, attempt=attempt, ticker=order.ticker, side=order.side,
                              quantity=order.quantity, order_type=order.order_type.value, price=price)
        crash_point("before_send")
        try:
            ack = self.client.place_order(order.side, order.ticker, order.quantity, order.order_type, price)
        except OrderOutcomeUnknown as lost:
            self.journal.update(key, status="unknown", note=str(lost))
            self.transcript.write("order_error", key=key, error=str(lost), ambiguous=True)
            return self.reconcile(self.journal.get(key))
        except KisApiError as refused:
            self.journal.update(key, status="rejected", note=str(refused))
            self.transcript.write("order_error", key=key, error=str(refused), msg_cd=refused.msg_cd)
            return self.journal.get(key)
        crash_point("after_send")
        self.journal.update(key, status="acked", order_no=ack.order_no, branch=ack.branch,
                            acked_at=now_iso(self.clock.now()))
        self.transcript.write("order_ack", key=key, order_no=ack.order_no, message=ack.message)
        return self.journal.get(key)

    # --- reconciling --------------------------------------------------------------------------

    def _matches(self, entry: JournalEntry, record: OrderRecord) -> bool:
        if record.is_cancel_record or record.original_order_no:  # revisions are not new orders
            return False
        if (record.ticker, record.side, record.quantity, record.order_type) != \
                (entry.ticker, entry.side, entry.quantity, entry.order_type):
            return False
        if OrderType(entry.order_type).needs_price and record.price != entry.price:
            return False
        if entry.sent_at and record.time:
            sent = dt.datetime.fromisoformat(entry.sent_at)
            placed = dt.datetime.combine(sent.date(), dt.datetime.strptime(record.time, "%H%M%S").time(), sent.tzinfo)
            return placed >= sent - TIME_SLACK
        return True

    def reconcile(self, entry: JournalEntry) -> JournalEntry:
        """Settle an intent without an answer: claim its broker order, or mark it void (not placed)."""
        sent = dt.datetime.fromisoformat(entry.sent_at) if entry.sent_at else self.clock.now()
        records = self.client.orders_today(ticker=entry.ticker, side=entry.side, day=sent.date())
        claimed = self.journal.claimed_order_nos()
        candidates = [r for r in records if r.order_no not in claimed and self._matches(entry, r)]
        if candidates:
            found = min(candidates, key=lambda r: (r.time, r.order_no))
            self.journal.update(entry.key, status="acked", order_no=found.order_no, branch=found.branch,
                                acked_at=now_iso(self.clock.now()), note="matched on the broker's order list")
            self.transcript.write("order_ack", key=entry.key, order_no=found.order_no, reconciled=True)
        else:
            self.journal.update(entry.key, status="void", note="not on the broker's order list: not placed")
            self.transcript.write("order_error", key=entry.key, error="not found on the broker: will be sent again",
                                  reconciled=True)
        return self.journal.get(entry.key)

    def reconcile_pending(self) -> None:
        for entry in self.journal.entries(self.run_id):
            if entry.status in ("intent", "unknown"):
                self.reconcile(entry)

    # --- following up ----------------------------------------------------------------------

    def refresh(self, day: dt.date) -> dict[str, OrderRecord]:
        """Fills of this run's working orders, from one read of today's orders."""
        records = {r.order_no: r for r in self.client.orders_today(day=day)}
        for entry in self.journal.entries(self.run_id):
            record = records.get(entry.order_no or "")
            if entry.status != "acked" or record is None:
                continue
            done = record.remaining_quantity == 0
            if (record.filled_quantity, done) != (entry.filled_quantity, False):
                self.journal.update(entry.key, filled_quantity=record.filled_quantity,
                                    filled_amount=record.filled_amount, status="done" if done else "acked")
                if record.filled_quantity > entry.filled_quantity:
                    self.transcript.write("fill", key=entry.key, order_no=record.order_no, ticker=record.ticker,
                                          side=record.side, filled=record.filled_quantity,
                                          average_price=record.average_fill_price,
                                          remaining=record.remaining_quantity)
        return records
