"""Whose orders are whose, and what a run has done to the account: both read from the journal.

Ownership is keyed by (broker, account, trading day, order number): KIS order numbers restart every
day and are per account, so a bare order number never makes an order Rebal's. The account is
stored as a keyed hash (``Journal.account_id``), never as its number.

``run_state`` is the one source of every sentence Rebal prints about the account during or after
a run (a failure, Ctrl-C, a partial outcome): what this run placed, what filled, what may still be
working, and what could not be confirmed.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from agent.journal import Journal, JournalEntry, Owner


def broker_identity(broker) -> str:
    """Profile and host of a broker connection (the embedded exchange: its database file)."""
    embedded = getattr(broker, "embedded", None)
    if embedded is not None:
        db = getattr(getattr(embedded.exchange, "settings", None), "db", "")
        return f"embedded|{db}"
    url = ""
    with_config = getattr(getattr(broker, "client", None), "client", None)
    if with_config is not None and getattr(with_config, "config", None) is not None:
        url = with_config.config.url
    return f"{broker.profile}|{url}"


def owner_for(broker, journal: Journal, day: dt.date) -> Owner:
    return Owner(broker=broker_identity(broker), account_id=journal.account_id(broker.account),
                 trading_day=day.isoformat())


@dataclass
class RunState:
    """What a run's journal shows about the account."""

    placed: int = 0  # orders the broker acknowledged (new orders and re-priced remainders)
    filled: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))  # (ticker, side)
    working: list[JournalEntry] = field(default_factory=list)  # acknowledged, not known to be done
    unsettled: list[JournalEntry] = field(default_factory=list)  # sent, answer not yet known
    not_sent: list[JournalEntry] = field(default_factory=list)  # skipped, refused, or absent

    @property
    def touched(self) -> bool:
        return bool(self.placed or self.unsettled)

    def sentence(self) -> str:
        """One truthful paragraph about the account, from the journal."""
        if not self.touched:
            return "No order was sent by this run; the account is as it was."
        parts = [f"This run placed {self.placed} order(s)"]
        fills = [f"{side} {quantity:,} {ticker}" for (ticker, side), quantity in sorted(self.filled.items())
                 if quantity]
        parts.append("filled as of the last read of the broker's order list: " + (", ".join(fills) if fills else "nothing"))
        text = "; ".join(parts) + "."
        if self.working:
            listed = ", ".join(f"{e.side} {e.quantity - e.filled_quantity:,} {e.ticker} (no. …{(e.order_no or '')[-4:]})"
                               for e in self.working)
            text += f" Possibly still working on the book as last seen: {listed}."
        if self.unsettled:
            listed = ", ".join(f"{e.side} {e.quantity:,} {e.ticker}" for e in self.unsettled)
            text += (f" Sent without a known answer (it may or may not be on the book): {listed}; resuming the run "
                     "looks for them on the broker's order list before anything is sent again.")
        return text


def run_state(journal: Journal, run_id: str) -> RunState:
    state = RunState()
    for entry in journal.entries(run_id):
        if entry.kind == "cancel":
            if entry.status in ("sent", "unknown"):
                state.unsettled.append(entry)
            continue
        if entry.order_no and entry.status in ("acked", "done"):
            if entry.kind == "new":
                state.placed += 1
            state.filled[(entry.ticker, entry.side)] += entry.filled_quantity
            if entry.status == "acked":
                state.working.append(entry)
        elif entry.status in ("sent", "unknown"):
            state.unsettled.append(entry)
        elif entry.status in ("skipped", "rejected", "void"):
            state.not_sent.append(entry)
    return state
