"""One line per execution event, for headless runs: what happened, to which slice, on the exchange clock."""

from __future__ import annotations

import datetime as dt

from agent.live.board import ExecutionBoard, order_id_of
from agent.transcript import TranscriptEvent

# The kinds a headless run prints as they happen (the planning stages print their own progress).
EXECUTION_KINDS = frozenset({"execution", "order_intent", "order_ack", "order_error", "fill", "report",
                             "run_finished", "error"})


def _clock(event: TranscriptEvent) -> str:
    stamp = getattr(event, "market_at", None) or event.at
    try:
        return dt.datetime.fromisoformat(stamp).strftime("%H:%M:%S")
    except ValueError:
        return stamp


def _won(value: object) -> str:
    return f"{value:,.0f}" if isinstance(value, int | float) else str(value)


def describe(event: TranscriptEvent, board: ExecutionBoard) -> str | None:
    """The event in words, read against ``board`` (already updated with it); None: not printed."""
    data = event.data
    order_id, action = order_id_of(str(data.get("key") or ""))
    view = board.slices.get(order_id)
    name = f" {board.names[view.ticker]}" if view is not None and view.ticker in board.names else ""
    if event.kind == "order_intent":
        if action == "reprice":
            return f"re-pricing {order_id}: {data.get('quantity')} at {_won(data.get('price'))}"
        if view is None:
            return None
        price = f" at {view.price:,}" if view.price else ""
        return (f"sent {order_id}: {view.side} {view.quantity} {view.ticker}{name} "
                f"{view.type_name} ({view.order_type}){price}")
    if event.kind == "order_ack":
        what = {"revise": "re-price accepted", "cancel": "cancel accepted"}.get(action, "on the book")
        return f"{what} {order_id}: order no {data.get('order_no')}"
    if event.kind == "order_error":
        return f"problem with {order_id or data.get('key')}: {data.get('error')}"
    if event.kind == "fill":
        if view is None:
            return None
        average = f" at {view.average_price:,.0f} on average" if view.average_price else ""
        return f"{'filled' if view.state == 'filled' else 'partly filled'} {order_id}: {view.filled}/{view.quantity}{average}"
    if event.kind == "execution":
        return _step(data, board)
    if event.kind == "report":
        return f"report: {data.get('summary')}"
    if event.kind == "run_finished":
        return f"finished: {data.get('outcome')} — {data.get('message')}"
    if event.kind == "error":
        return f"stopped: {data.get('error')}"
    return None


def _step(data: dict, board: ExecutionBoard) -> str:
    step = str(data.get("step", ""))
    if step in ("timetable", "buy timetable"):
        times = [dt.datetime.fromisoformat(s["send_at"]) for s in data.get("slices") or []]
        span = f"{min(times):%H:%M:%S}–{max(times):%H:%M:%S}" if times else "—"
        end = f", done by {board.done_by:%H:%M} at worst" if board.done_by else ""
        return f"{step}: {len(times)} slice(s) sent {span}{end}"
    if step == "buys sized after the sells":
        return f"buys sized to the cash after the sells: {_won(data.get('orderable_cash'))} KRW orderable, " \
               f"{_won(data.get('kept'))} kept"
    if step == "slice not sent":
        order_id, _ = order_id_of(str(data.get("key", "")))
        return f"not sent {order_id}: {data.get('reason')}"
    if step == "cancelled a remainder":
        order_id, _ = order_id_of(str(data.get("key") or ""))
        return f"cancelled {order_id}: {data.get('reason')}"
    if step == "cancel requested":
        return f"cancel requested by {data.get('by')}: no further slice is sent, working ones are cancelled"
    if step.endswith(" done"):
        done, total = board.totals()
        return f"{step} ({done}/{total} slices settled)"
    return step
