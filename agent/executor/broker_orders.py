"""Every broker action (place, revise, cancel) exactly once, and finding out what happened to it.

Each action is journaled ``intent`` → ``sent`` → ``acked`` (or ``rejected``/``void``) around the
broker call, so a crash anywhere leaves a row that says how far it got: ``intent`` never reached
the broker, ``sent`` may have. KIS has no client order id, so a ``sent`` action whose answer was
lost (``OrderOutcomeUnknown``: a dropped connection, a 5xx, a timeout) is settled by reading the
broker's order list several times over a window of the exchange clock: a new order is matched by
ticker, side, quantity, type, price and time; a revision or cancellation by its original order
number (KIS's ORGN_ODNO). Each broker order is claimed once. Only an action absent from every read
is marked ``void`` and may be sent again; one that could not be checked stays ``unknown`` and is
never re-sent. Definite gateway refusals (EGW00201 after the client's retries, an expired token,
no connection before the request) never reached the exchange: ``void`` at once.
"""

from __future__ import annotations

import datetime as dt

from agent.journal import Journal, JournalEntry, Owner, now_iso
from agent.transcript import Transcript
from tools.kis import (
    AuthError,
    KisApiError,
    KisError,
    KisTransportError,
    NothingToRevise,
    OrderOutcomeUnknown,
    RateLimited,
    SyncKisClient,
)
from tools.kis.models import OrderRecord
from tools.market import OrderType
from tools.plan import Order

TIME_SLACK = dt.timedelta(seconds=30)  # broker clock vs ours when matching an order by its time
_NOT_PLACED = (RateLimited, AuthError, KisTransportError)  # refused before the exchange saw it


def slice_key(run_id: str, order: Order) -> str:
    return f"{run_id}/{order.order_id}"


def attempt_key(base: str, attempt: int) -> str:
    return base if attempt <= 1 else f"{base}#{attempt}"


class OrderDesk:
    def __init__(self, run_id: str, client: SyncKisClient, journal: Journal, transcript: Transcript, clock,
                 owner: Owner, *, reconcile_reads: int = 3, reconcile_seconds: float = 20.0,
                 max_attempts: int = 4) -> None:
        self.run_id = run_id
        self.client = client
        self.journal = journal
        self.transcript = transcript
        self.clock = clock
        self.owner = owner
        self.reconcile_reads = reconcile_reads
        self.reconcile_seconds = reconcile_seconds
        self.max_attempts = max_attempts

    def _scope(self) -> dict[str, str]:
        return {"broker": self.owner.broker, "account_id": self.owner.account_id,
                "trading_day": self.owner.trading_day}

    # --- a lineage of attempts ------------------------------------------------------------------

    def attempts(self, base: str) -> list[JournalEntry]:
        found: list[JournalEntry] = []
        attempt = 1
        while (entry := self.journal.get(attempt_key(base, attempt))) is not None:
            found.append(entry)
            attempt += 1
        return found

    def latest(self, base: str) -> JournalEntry | None:
        found = self.attempts(base)
        return found[-1] if found else None

    # --- placing ----------------------------------------------------------------------------------

    def send(self, order: Order, base: str) -> JournalEntry:
        """Place ``order`` unless the journal shows it placed, refused, or not yet settled."""
        entry = self.latest(base)
        if entry is not None and entry.status in ("sent", "unknown"):
            entry = self.reconcile(entry)
        if entry is not None and entry.status != "intent" and \
                (entry.status != "void" or entry.attempt >= self.max_attempts):
            return entry
        if entry is None:
            attempt = 1
        elif entry.status == "intent":
            attempt = entry.attempt  # recorded but never sent: this is still that attempt
        else:
            attempt = entry.attempt + 1
        key = attempt_key(base, attempt)
        price = order.limit_price or 0
        row = JournalEntry(key=key, run_id=self.run_id, trade_id=order.trade_id, slice_no=order.slice_no,
                           attempt=attempt, ticker=order.ticker, side=order.side, quantity=order.quantity,
                           order_type=order.order_type.value, price=price, status="intent", action="new",
                           **self._scope())
        self.journal.record_intent(row)
        self.transcript.write("order_intent", key=key, attempt=attempt, ticker=order.ticker, side=order.side,
                              quantity=order.quantity, order_type=order.order_type.value, price=price)
        self.journal.update(key, status="sent", sent_at=now_iso(self.clock.now()))
        try:
            ack = self.client.place_order(order.side, order.ticker, order.quantity, order.order_type, price)
        except OrderOutcomeUnknown as lost:
            self.journal.update(key, status="unknown", note=str(lost))
            self.transcript.write("order_error", key=key, error=str(lost), ambiguous=True)
            return self.reconcile(self.journal.get(key))
        except _NOT_PLACED as refused:
            return self._void(key, f"refused before it reached the exchange ({refused}): not placed")
        except KisApiError as refused:
            self.journal.update(key, status="rejected", note=str(refused))
            self.transcript.write("order_error", key=key, error=str(refused), msg_cd=refused.msg_cd)
            return self.journal.get(key)
        self.journal.update(key, status="acked", order_no=ack.order_no, branch=ack.branch,
                            acked_at=now_iso(self.clock.now()))
        self.transcript.write("order_ack", key=key, order_no=ack.order_no, message=ack.message)
        return self.journal.get(key)

    def skip(self, order: Order, base: str, why: str) -> JournalEntry:
        """Record that a slice is not sent, and why (the journal is what the report is made from)."""
        entry = self.latest(base)
        if entry is not None and entry.status not in ("intent", "void"):
            return entry
        attempt = 1 if entry is None else entry.attempt if entry.status == "intent" else entry.attempt + 1
        key = attempt_key(base, attempt)
        self.journal.record_intent(JournalEntry(
            key=key, run_id=self.run_id, trade_id=order.trade_id, slice_no=order.slice_no, attempt=attempt,
            ticker=order.ticker, side=order.side, quantity=order.quantity, order_type=order.order_type.value,
            price=order.limit_price or 0, status="skipped", action="new", note=why, **self._scope()))
        self.transcript.write("execution", step="slice not sent", key=key, ticker=order.ticker, side=order.side,
                              quantity=order.quantity, reason=why)
        return self.journal.get(key)

    def _void(self, key: str, why: str) -> JournalEntry:
        self.journal.update(key, status="void", note=why)
        self.transcript.write("order_error", key=key, error=why, not_placed=True)
        return self.journal.get(key)

    # --- re-pricing and cancelling ----------------------------------------------------------

    def revise(self, entry: JournalEntry, *, price: int, quantity: int) -> JournalEntry:
        """Re-price the remainder of ``entry`` (at most once: the row's key is fixed)."""
        key = f"{entry.key}/reprice"
        existing = self.journal.get(key)
        if existing is not None and existing.status != "intent":
            return self.reconcile(existing) if existing.status in ("sent", "unknown") else existing
        self.journal.record_intent(entry.model_copy(update={
            "key": key, "attempt": 1, "quantity": quantity, "price": price, "order_type": OrderType.LIMIT.value,
            "status": "intent", "order_no": None, "acked_at": None, "sent_at": None, "filled_quantity": 0,
            "filled_amount": 0, "action": "revise", "original_order_no": entry.order_no, "parent_key": entry.key,
            "note": f"re-price of {entry.key}", **self._scope()}))
        self.transcript.write("order_intent", key=key, action="revise", original_order_no=entry.order_no,
                              price=price, quantity=quantity)
        self.journal.update(key, status="sent", sent_at=now_iso(self.clock.now()))
        try:
            ack = self.client.revise_order(entry.order_no, price=price, quantity=quantity, branch=entry.branch or "")
        except NothingToRevise:
            return self._void(key, "nothing left to re-price (filled, cancelled or lapsed meanwhile)")
        except OrderOutcomeUnknown as lost:
            self.journal.update(key, status="unknown", note=str(lost))
            self.transcript.write("order_error", key=key, error=str(lost), ambiguous=True)
            return self.reconcile(self.journal.get(key))
        except _NOT_PLACED as refused:
            return self._void(key, f"re-price refused before it reached the exchange ({refused})")
        except KisApiError as refused:
            self.journal.update(key, status="rejected", note=str(refused))
            self.transcript.write("order_error", key=key, error=str(refused), msg_cd=refused.msg_cd)
            return self.journal.get(key)
        return self._revised(key, ack.order_no, ack.branch)

    def _revised(self, key: str, order_no: str, branch: str, *, reconciled: bool = False) -> JournalEntry:
        self.journal.update(key, status="acked", order_no=order_no, branch=branch,
                            acked_at=now_iso(self.clock.now()))
        entry = self.journal.get(key)
        if entry.parent_key and (parent := self.journal.get(entry.parent_key)) is not None \
                and parent.status == "acked":
            self.journal.update(parent.key, status="done", note=f"remainder re-priced as order {order_no}")
        self.transcript.write("order_ack", key=key, order_no=order_no, action=entry.kind, reconciled=reconciled)
        return self.journal.get(key)

    def cancel(self, entry: JournalEntry, why: str) -> JournalEntry:
        """Cancel the remainder of ``entry``; a lost answer is settled like an order's."""
        base = f"{entry.key}/cancel"
        latest = self.latest(base)
        if latest is not None and latest.status in ("sent", "unknown"):
            latest = self.reconcile(latest)
        if latest is not None and latest.status != "intent" and \
                (latest.status != "void" or latest.attempt >= self.max_attempts):
            return latest
        attempt = 1 if latest is None else latest.attempt if latest.status == "intent" else latest.attempt + 1
        key = attempt_key(base, attempt)
        self.journal.record_intent(entry.model_copy(update={
            "key": key, "attempt": attempt, "quantity": max(entry.quantity - entry.filled_quantity, 0), "price": 0,
            "status": "intent", "order_no": None, "acked_at": None, "sent_at": None, "filled_quantity": 0,
            "filled_amount": 0, "action": "cancel", "original_order_no": entry.order_no, "parent_key": entry.key,
            "note": why, **self._scope()}))
        self.journal.update(key, status="sent", sent_at=now_iso(self.clock.now()))
        try:
            ack = self.client.cancel_order(entry.order_no, branch=entry.branch or "")
        except NothingToRevise:
            return self._void(key, "nothing left to cancel (filled or lapsed meanwhile)")
        except OrderOutcomeUnknown as lost:
            self.journal.update(key, status="unknown", note=str(lost))
            self.transcript.write("order_error", key=key, error=str(lost), ambiguous=True)
            return self.reconcile(self.journal.get(key))
        except _NOT_PLACED as refused:
            return self._void(key, f"cancel refused before it reached the exchange ({refused})")
        except KisApiError as refused:
            self.journal.update(key, status="rejected", note=str(refused))
            self.transcript.write("order_error", key=key, error=str(refused), msg_cd=refused.msg_cd)
            return self.journal.get(key)
        return self._cancelled(key, ack.order_no, why)

    def _cancelled(self, key: str, order_no: str, why: str, *, reconciled: bool = False) -> JournalEntry:
        self.journal.update(key, status="acked", order_no=order_no, acked_at=now_iso(self.clock.now()))
        entry = self.journal.get(key)
        self.transcript.write("execution", step="cancelled a remainder", key=entry.parent_key,
                              order_no=entry.original_order_no, reason=why, reconciled=reconciled)
        return entry

    # --- reconciling ----------------------------------------------------------------------------

    def _day(self, entry: JournalEntry) -> dt.date:
        if entry.trading_day:
            return dt.date.fromisoformat(entry.trading_day)
        return dt.datetime.fromisoformat(entry.sent_at).date() if entry.sent_at else self.clock.now().date()

    def _matches_new(self, entry: JournalEntry, record: OrderRecord) -> bool:
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

    def _find(self, entry: JournalEntry, records: list[OrderRecord]) -> OrderRecord | None:
        claimed = self.journal.claimed_order_nos(self.owner)
        if entry.kind == "new":
            candidates = [r for r in records if r.order_no not in claimed and self._matches_new(entry, r)]
        else:
            cancel = entry.kind == "cancel"
            candidates = [r for r in records if r.order_no not in claimed and r.original_order_no
                          and r.original_order_no == entry.original_order_no and r.is_cancel_record == cancel]
        return min(candidates, key=lambda r: (r.time, r.order_no)) if candidates else None

    def reconcile(self, entry: JournalEntry) -> JournalEntry:
        """Settle an action without an answer: claim what the broker shows for it, or mark it
        ``void`` when every one of several reads over the window shows nothing. When the order
        list cannot be read, it stays ``unknown`` (and is never sent again while it is)."""
        if entry.status == "intent":
            if entry.kind == "new":
                return entry  # never sent: ``send`` sends it
            return self._void(entry.key, "recorded but never sent")
        if entry.status not in ("sent", "unknown"):
            return entry
        wanted = max(self.reconcile_reads, 1)
        step = self.reconcile_seconds / max(wanted - 1, 1)
        deadline = self.clock.now() + dt.timedelta(seconds=self.reconcile_seconds)
        reads = tries = 0
        last_error: Exception | None = None
        while True:
            tries += 1
            try:
                records = self.client.orders_today(ticker=entry.ticker, side=entry.side, day=self._day(entry))
            except KisError as error:
                last_error = error
            else:
                reads += 1
                found = self._find(entry, records)
                if found is not None:
                    return self._claim(entry, found)
                if entry.kind == "cancel":
                    original = next((r for r in records if r.order_no == entry.original_order_no), None)
                    if original is not None and original.remaining_quantity == 0 and reads >= wanted:
                        return self._void(entry.key, "nothing left to cancel (filled, cancelled or lapsed)")
            if reads >= wanted and self.clock.now() >= deadline:
                return self._void(entry.key, f"absent from the broker's order list ({reads} reads over "
                                             f"{self.reconcile_seconds:g} s): not placed")
            if tries >= wanted * 3 and self.clock.now() >= deadline:
                note = f"answer lost and the order list could not be read ({last_error}): not known yet"
                self.journal.update(entry.key, status="unknown", note=note)
                self.transcript.write("order_error", key=entry.key, error=note, unsettled=True)
                return self.journal.get(entry.key)
            self.clock.wait(step)

    def _claim(self, entry: JournalEntry, found: OrderRecord) -> JournalEntry:
        if entry.kind == "revise":
            return self._revised(entry.key, found.order_no, found.branch, reconciled=True)
        if entry.kind == "cancel":
            return self._cancelled(entry.key, found.order_no, entry.note or "cancelled", reconciled=True)
        self.journal.update(entry.key, status="acked", order_no=found.order_no, branch=found.branch,
                            acked_at=now_iso(self.clock.now()), note="matched on the broker's order list")
        self.transcript.write("order_ack", key=entry.key, order_no=found.order_no, reconciled=True)
        return self.journal.get(entry.key)

    def settle_pending(self) -> None:
        """On (re)entry: settle every action of this run whose answer is not known."""
        for entry in self.journal.entries(self.run_id):
            if entry.status in ("sent", "unknown") or (entry.status == "intent" and entry.kind != "new"):
                self.reconcile(entry)

    # --- following up -----------------------------------------------------------------------------

    def refresh(self, day: dt.date) -> dict[str, OrderRecord]:
        """Fills and state of this run's orders from one read of the day's orders (raises KisError)."""
        records = {r.order_no: r for r in self.client.orders_today(day=day)}
        for entry in self.journal.entries(self.run_id):
            if entry.kind == "cancel" or not entry.order_no or entry.status not in ("acked", "done"):
                continue
            record = records.get(entry.order_no)
            if record is None:
                continue
            updates: dict[str, object] = {}
            if (record.filled_quantity, record.filled_amount) != (entry.filled_quantity, entry.filled_amount):
                updates.update(filled_quantity=record.filled_quantity, filled_amount=record.filled_amount)
            if entry.kind == "revise" and record.quantity != entry.quantity:
                updates["quantity"] = record.quantity  # what the revision actually moved
            if entry.status == "acked" and record.remaining_quantity == 0:
                updates["status"] = "done"
                if record.filled_quantity < record.quantity:
                    updates["note"] = (entry.note + "; " if entry.note else "") + \
                        f"{record.quantity - record.filled_quantity} not filled (cancelled or lapsed)"
            if updates:
                self.journal.update(entry.key, **updates)
            if record.filled_quantity > entry.filled_quantity:
                self.transcript.write("fill", key=entry.key, order_no=record.order_no, ticker=record.ticker,
                                      side=record.side, filled=record.filled_quantity,
                                      average_price=record.average_fill_price,
                                      remaining=record.remaining_quantity)
        return records

    def working(self, side: str | None = None) -> list[JournalEntry]:
        return [e for e in self.journal.entries(self.run_id)
                if e.kind != "cancel" and e.status == "acked" and (side is None or e.side == side)]

    def unsettled(self, side: str | None = None) -> list[JournalEntry]:
        return [e for e in self.journal.entries(self.run_id)
                if e.status in ("sent", "unknown") and (side is None or e.side == side)]
