"""The execution board: every order slice of a run and where it stands, folded from transcript events.

Pure: ``ExecutionBoard.apply(event)`` for each event the run writes, in order; the live view and
the headless event lines read the board. Nothing here talks to the broker: what the board says is
what the transcript (written from the journal and the broker's order list) says.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from agent.transcript import TranscriptEvent
from tools.market import OrderType

FINAL_STATES = frozenset({"filled", "cancelled", "not sent", "rejected", "lapsed"})


@dataclass
class SliceView:
    """One order slice as the person sees it."""

    order_id: str  # "T01-069500-SELL/1"
    side: str
    ticker: str = ""
    quantity: int = 0
    order_type: str = ""
    price: int = 0  # the limit price; 0 for unpriced types
    send_at: dt.datetime | None = None
    state: str = "waiting"  # waiting, sent, working, partly filled, filled, re-priced, cancelled, not sent, …
    filled: int = 0
    filled_amount: float = 0.0  # Σ filled × average price over the slice's orders (new and re-priced)
    order_no: str = ""
    note: str = ""
    by_key: dict[str, tuple[int, float]] = field(default_factory=dict)  # order key → (filled, average price)

    @property
    def average_price(self) -> float | None:
        return self.filled_amount / self.filled if self.filled else None

    @property
    def type_name(self) -> str:
        try:
            return OrderType(self.order_type).korean_name
        except ValueError:
            return self.order_type

    @property
    def done(self) -> bool:
        return self.state in FINAL_STATES


def order_id_of(key: str) -> tuple[str, str]:
    """(slice order id, action) of a journal key: ``RUN/T01-069500-SELL/1#2/reprice`` →
    (``T01-069500-SELL/1``, ``reprice``). Keys of resting orders give ('', 'resting')."""
    parts = key.split("/")
    if len(parts) >= 2 and parts[1] == "resting":
        return "", "resting"
    if len(parts) < 3:
        return "", ""
    order_id = f"{parts[1]}/{parts[2].split('#')[0]}"
    return order_id, parts[3] if len(parts) > 3 else "new"


@dataclass
class ExecutionBoard:
    """Slices by order id, plus the run-level facts the view shows (cash, worst-case end, outcome)."""

    slices: dict[str, SliceView] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)  # ticker → instrument name
    cash: int | None = None  # cash D+2 before trading, then the orderable cash after the sells
    cash_label: str = "cash"
    done_by: dt.datetime | None = None  # worst case of the timetable
    started: bool = False  # an execution event was seen
    cancel_requested: str = ""  # who asked to cancel the remaining slices, and when
    finished: str = ""  # the run's outcome, once it is written
    last_event: str = ""

    # --- folding ------------------------------------------------------------------------------

    def apply(self, event: TranscriptEvent) -> None:
        handler = getattr(self, f"_on_{event.kind}", None)
        if handler is not None:
            handler(event.data)

    def _slice(self, order_id: str, side: str = "") -> SliceView:
        if order_id not in self.slices:
            ticker = order_id.split("-")[1] if order_id.count("-") >= 2 else ""
            self.slices[order_id] = SliceView(order_id=order_id, side=side, ticker=ticker)
        return self.slices[order_id]

    def _on_account(self, data: dict) -> None:
        for holding in data.get("holdings") or []:
            if holding.get("name"):
                self.names[holding["ticker"]] = holding["name"]
        summary = data.get("summary") or {}
        cash = summary.get("cash_d2", data.get("cash_d2"))
        if isinstance(cash, int):
            self.cash, self.cash_label = cash, "cash D+2 before trading"

    def _on_targets(self, data: dict) -> None:
        for cls in (data.get("payload") or {}).get("classes") or []:
            for instrument in cls.get("instruments") or []:
                if instrument.get("name"):
                    self.names.setdefault(instrument["ticker"], instrument["name"])

    def _on_execution(self, data: dict) -> None:
        step = data.get("step", "")
        self.started = True
        if step in ("timetable", "buy timetable"):
            for order in data.get("orders") or []:
                view = self._slice(order["order_id"], order["side"])
                view.ticker, view.quantity = order["ticker"], order["quantity"]
                view.order_type, view.price = order["order_type"], order.get("limit_price") or 0
            for timed in data.get("slices") or []:
                view = self._slice(timed["order_id"], timed["side"])
                view.send_at = dt.datetime.fromisoformat(timed["send_at"])
                done_by = dt.datetime.fromisoformat(timed["done_by"])
                self.done_by = max(self.done_by, done_by) if self.done_by else done_by
        elif step == "buys sized after the sells":
            self.cash, self.cash_label = data.get("orderable_cash"), "orderable cash after the sells"
            for order in data.get("buys") or []:
                view = self._slice(order["order_id"], "buy")
                view.ticker, view.quantity = order["ticker"], order["quantity"]
                view.order_type, view.price = order["order_type"], order.get("limit_price") or 0
        elif step == "slice not sent":
            order_id, _ = order_id_of(data.get("key", ""))
            if order_id:
                view = self._slice(order_id, data.get("side", ""))
                view.state, view.note = "not sent", str(data.get("reason", "")).removeprefix("not sent: ")
        elif step == "re-priced an unfilled remainder":
            order_id, _ = order_id_of(data.get("key", ""))
            if order_id:
                view = self._slice(order_id)
                view.state = "re-priced"
                view.price, view.order_no = data.get("price", view.price), data.get("new_order_no") or view.order_no
                view.note = f"remainder {data.get('quantity')} re-priced to {data.get('price'):,}"
        elif step == "cancelled a remainder":
            order_id, _ = order_id_of(data.get("key") or "")
            if order_id:
                view = self._slice(order_id)
                view.state, view.note = "cancelled", data.get("reason", "")
        elif step == "cancel requested":
            at = dt.datetime.fromisoformat(data["at"]) if data.get("at") else None
            self.cancel_requested = f"{data.get('by', 'a person')}" + (f" at {at:%H:%M:%S}" if at else "")

    def _on_order_intent(self, data: dict) -> None:
        order_id, action = order_id_of(data.get("key", ""))
        if not order_id or action != "new":
            return
        view = self._slice(order_id, data.get("side", ""))
        view.ticker, view.quantity = data.get("ticker", view.ticker), data.get("quantity", view.quantity)
        view.order_type, view.price = data.get("order_type", view.order_type), data.get("price", view.price)
        view.state = "sent"

    def _on_order_ack(self, data: dict) -> None:
        order_id, action = order_id_of(data.get("key", ""))
        if not order_id or action == "cancel":
            return
        view = self._slice(order_id)
        view.order_no = data.get("order_no") or view.order_no
        if action == "new" and view.state == "sent":
            view.state = "working"

    def _on_order_error(self, data: dict) -> None:
        order_id, action = order_id_of(data.get("key", ""))
        if not order_id or action != "new":
            return
        view = self._slice(order_id)
        if data.get("ambiguous") or data.get("unsettled"):
            view.state, view.note = "answer lost", "checking the broker's order list"
        elif data.get("not_placed"):
            view.state, view.note = "not placed", str(data.get("error", ""))
        else:
            view.state, view.note = "rejected", str(data.get("error", ""))

    def _on_fill(self, data: dict) -> None:
        order_id, _ = order_id_of(data.get("key", ""))
        if not order_id:
            return
        view = self._slice(order_id, data.get("side", ""))
        view.by_key[data["key"]] = (int(data.get("filled", 0)), float(data.get("average_price") or 0.0))
        view.filled = sum(filled for filled, _ in view.by_key.values())
        view.filled_amount = sum(filled * price for filled, price in view.by_key.values())
        if view.quantity and view.filled >= view.quantity:
            view.state = "filled"
        elif view.state not in ("cancelled", "re-priced"):
            view.state = "partly filled"

    def _on_report(self, data: dict) -> None:
        self.finished = str(data.get("outcome", ""))

    def _on_run_finished(self, data: dict) -> None:
        self.finished = str(data.get("outcome", "")) or "finished"

    # --- reading ------------------------------------------------------------------------------

    def ordered(self) -> list[SliceView]:
        """Sells first, then buys; each side in send order."""
        far = dt.datetime.max.replace(tzinfo=dt.UTC)
        return sorted(self.slices.values(), key=lambda s: (s.side != "sell", s.send_at or far, s.order_id))

    def next_slice(self, now: dt.datetime) -> SliceView | None:
        waiting = [s for s in self.slices.values() if s.state == "waiting" and s.send_at is not None]
        return min(waiting, key=lambda s: s.send_at, default=None)

    def totals(self) -> tuple[int, int]:
        """(slices done, slices) — done: filled, cancelled, not sent or refused."""
        return sum(1 for s in self.slices.values() if s.done), len(self.slices)
