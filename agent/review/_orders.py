"""The run's order slices, one per journal key, folded from the order events.

A slice's life is spread over several events: ``order_intent`` (what was sent), ``order_ack`` /
``order_error`` (the broker's answer), ``fill`` (cumulative fills read back from the broker),
``execution`` steps (not sent, re-priced, remainder cancelled) and the journal rows written when
a stage is done. They are joined on the journal ``key`` (run_id/trade_id/slice[/attempt]). The
list screen counts orders with ``orders_sent`` too, so the two can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agent.events import (
    CancelledRemainderStep,
    FillEvent,
    OrderAck,
    OrderError,
    OrderIntent,
    RepricedStep,
    SliceNotSentStep,
    StageDoneStep,
)
from agent.review._run import RunView
from agent.transcript import TranscriptEvent


@dataclass
class Fill:
    event: TranscriptEvent
    quantity: int  # shares filled since the previous read
    price: float  # their average price


@dataclass
class OrderSlice:
    key: str
    run_id: str
    ticker: str | None = None
    side: str | None = None
    quantity: int = 0
    order_type: str | None = None
    price: int | None = None  # limit price; None for market / best-price types
    sent: TranscriptEvent | None = None
    sent_at: str | None = None  # the journal's send time (exchange clock), when known
    order_no: str | None = None
    filled: int = 0
    filled_amount: float = 0.0
    repriced_of: str | None = None  # the key of the order this one re-prices
    repriced_to: str | None = None  # ODNO of the re-price of this one's remainder
    cancelled: str | None = None  # why the remainder was cancelled
    not_sent: str | None = None
    refused: str | None = None
    lost: str | None = None  # answer lost and not settled by an acknowledgement yet
    journal_status: str | None = None
    journal_note: str | None = None
    fills: list[Fill] = field(default_factory=list)

    @property
    def order_id(self) -> str:
        """The key without the run id: ``T01-069500-SELL/1`` (``…/reprice``, ``…#2`` for a retry)."""
        prefix = f"{self.run_id}/"
        return self.key[len(prefix):] if self.key.startswith(prefix) else self.key

    @property
    def average_price(self) -> float | None:
        return self.filled_amount / self.filled if self.filled else None

    @property
    def placed(self) -> bool:
        """The broker acknowledged it: an order on the exchange's book."""
        return self.order_no is not None


def _parent(key: str) -> str:
    return key.removesuffix("/reprice")


def order_slices(run: RunView) -> list[OrderSlice]:
    """Every slice the run sent or decided not to send, in the order they first appear."""
    slices: dict[str, OrderSlice] = {}
    run_id = run.events[0].run_id if run.events else ""

    def get(key: str) -> OrderSlice:
        if key not in slices:
            slices[key] = OrderSlice(key=key, run_id=run_id)
        return slices[key]

    for event, model in zip(run.events, run.models, strict=True):
        if isinstance(model, OrderIntent):
            row = get(model.key)
            row.sent, row.quantity, row.price = event, model.quantity, model.price or None
            if model.action == "revise":
                parent = slices.get(_parent(model.key))
                row.repriced_of = _parent(model.key)
                row.order_type = "00"  # a re-price is a limit order
                if parent is not None:
                    row.ticker, row.side = parent.ticker, parent.side
            else:
                row.ticker, row.side, row.order_type = model.ticker, model.side, model.order_type
        elif isinstance(model, OrderAck):
            row = get(model.key)
            row.order_no, row.lost = model.order_no, None
        elif isinstance(model, OrderError):
            row = get(model.key)
            if model.not_placed:
                row.not_sent = model.error
            elif model.ambiguous or model.unsettled:
                row.lost = model.error
            else:
                row.refused = f"[{model.msg_cd}] {model.error}" if model.msg_cd else model.error
        elif isinstance(model, FillEvent):
            row = get(model.key)
            amount = model.filled * model.average_price
            if model.filled > row.filled:
                gained = model.filled - row.filled
                row.fills.append(Fill(event, gained, (amount - row.filled_amount) / gained))
            row.filled, row.filled_amount = model.filled, amount
            row.order_no = row.order_no or model.order_no
            row.ticker, row.side = row.ticker or model.ticker, row.side or model.side
        elif isinstance(model, SliceNotSentStep):
            row = get(model.key)
            row.ticker, row.side, row.quantity, row.not_sent = model.ticker, model.side, model.quantity, model.reason
        elif isinstance(model, RepricedStep):
            get(model.key).repriced_to = model.new_order_no
        elif isinstance(model, CancelledRemainderStep) and model.key:
            get(model.key).cancelled = model.reason
        elif isinstance(model, StageDoneStep):
            for entry in model.orders:
                if entry.kind == "cancel" or entry.trade_id == "resting":
                    continue  # a cancel is an action on a slice, not a slice; resting orders are not the run's
                row = get(entry.key)
                row.ticker, row.side, row.quantity = entry.ticker, entry.side, entry.quantity
                row.order_type = row.order_type or entry.order_type
                row.price = row.price if row.price is not None else (entry.price or None)
                row.order_no = row.order_no or entry.order_no
                row.sent_at, row.journal_status, row.journal_note = entry.sent_at, entry.status, entry.note
                if entry.filled_quantity >= row.filled:  # the journal's figures are the broker's, read last
                    row.filled, row.filled_amount = entry.filled_quantity, float(entry.filled_amount)
    return list(slices.values())


def orders_sent(run: RunView) -> int:
    """Slices the broker acknowledged (placed on its book): the list's and the screen's count."""
    return sum(1 for s in order_slices(run) if s.placed)
