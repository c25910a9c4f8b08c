"""The final reconciliation: what was approved, what the journal shows done, and the account after.

Every figure about this run's orders comes from the journal (whose fills were read from the
broker's order list); the holdings, cash and drift from the broker's balance. ``outcome`` is
``completed`` only when every approved trade filled in full; anything less is ``partly done``,
with what was done, what was not and why, the cash left and the residual drift.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from agent.journal import JournalEntry
from agent.state import TargetsReading
from tools.proposal import Proposal


def _why_not(entries: list[JournalEntry]) -> str:
    reasons = []
    for entry in entries:
        if (entry.kind == "cancel" and entry.status == "acked" and entry.note) or (entry.status in ("skipped", "rejected") and entry.note):
            reasons.append(entry.note)
        elif entry.status == "void" and entry.note:
            reasons.append(f"not placed: {entry.note}")
        elif entry.status == "done" and entry.note and entry.kind != "cancel" and "not filled" in entry.note:
            reasons.append(entry.note)
        elif entry.status == "done" and entry.note == "lapsed at the close":
            reasons.append("lapsed at the close")
    seen: list[str] = []
    for reason in reasons:
        if reason not in seen:
            seen.append(reason)
    return "; ".join(seen[:3])


def final_report(proposal: Proposal, targets: TargetsReading, costs_before: int, entries: list[JournalEntry],
                 balance, *, buys_sent: Mapping[str, int] | None = None, notes: list[str] | None = None
                 ) -> dict[str, Any]:
    """``buys_sent``: trade id → shares the buy stage sent (after shrinking); None when the buy stage
    was not reached or not sent (then each trade's journal entries say why)."""
    total = balance.summary.total_value
    flat = targets.flat
    values = {h.ticker: h.value for h in balance.holdings if h.quantity > 0}
    rows = []
    for ticker in sorted(set(flat) | set(values)):
        weight = values.get(ticker, 0) / total if total else 0.0
        target = flat.get(ticker, 0.0)
        rows.append({"ticker": ticker, "weight": weight, "target": target, "deviation": weight - target,
                     "quantity": next((h.quantity for h in balance.holdings if h.ticker == ticker), 0)})
    cash_weight = balance.summary.cash_d2 / total if total else 0.0
    orders = [e for e in entries if e.kind != "cancel"]
    # Per ticker and side, what the broker filled for this run's orders (new and re-priced).
    by_ticker: dict[str, dict[str, int]] = defaultdict(lambda: {"buy": 0, "sell": 0})
    for entry in orders:
        by_ticker[entry.ticker][entry.side] += entry.filled_quantity
    # Implementation shortfall per trade, against the arrival mid (the quotes the plan was made on).
    trades = []
    signed_cost = 0.0
    arrival_notional = 0.0
    for trade in proposal.trades:
        mine = [e for e in entries if e.trade_id == trade.trade_id]
        filled = sum(e.filled_quantity for e in mine if e.kind != "cancel")
        amount = sum(e.filled_amount for e in mine if e.kind != "cancel")
        placed = sum(e.quantity for e in mine if e.kind == "new" and e.order_no)
        quote = proposal.quotes[trade.ticker]
        arrival = (quote.bid + quote.ask) / 2
        sign = 1 if trade.side == "buy" else -1
        shortfall_bp = sign * (amount / filled - arrival) / arrival * 10_000 if filled else 0.0
        signed_cost += sign * (amount - filled * arrival)
        arrival_notional += filled * arrival
        missing = max(trade.quantity - filled, 0)
        why = ""
        if missing:
            why = _why_not(mine)
            sent = (buys_sent or {}).get(trade.trade_id, 0)
            if trade.side == "buy" and buys_sent is not None and sent < trade.quantity:
                why = f"shrunk to {sent} to the cash after the sells" + (f"; {why}" if why else "")
        trades.append({"trade_id": trade.trade_id, "ticker": trade.ticker, "side": trade.side,
                       "planned": trade.quantity, "placed": placed, "filled": filled,
                       "average_price": amount / filled if filled else 0, "arrival_mid": arrival,
                       "shortfall_bp": shortfall_bp, "not_done": missing, "why_not": why})
    costs = balance.summary.costs_today - costs_before
    max_drift = max((abs(r["deviation"]) for r in rows), default=0.0)
    unfilled = sum(t["not_done"] for t in trades)
    filled_orders = sum(1 for e in orders if e.filled_quantity > 0)
    outcome = "completed" if not unfilled else "partly done"
    if outcome == "completed":
        summary = (f"every approved trade done: {len(trades)} trade(s), {filled_orders} order(s) filled; residual "
                   f"max drift {max_drift:.2%}")
    else:
        done = [f"{t['side']} {t['filled']:,}/{t['planned']:,} {t['ticker']}" for t in trades if t["filled"]]
        not_done = [f"{t['side']} {t['not_done']:,} {t['ticker']}" + (f" ({t['why_not']})" if t["why_not"] else "")
                    for t in trades if t["not_done"]]
        summary = (f"partly done: the account is off target. Done: {', '.join(done) or 'nothing'}. "
                   f"Not done: {', '.join(not_done)}. Cash left {balance.summary.cash_d2:,} KRW; residual max "
                   f"drift {max_drift:.2%}")
    if notes:
        extra = [n for n in notes if n not in summary]
        if extra:
            summary += ". " + "; ".join(extra)
    return {
        "outcome": outcome, "summary": summary,
        "total_value": total, "cash_d2": balance.summary.cash_d2, "cash_weight": cash_weight,
        "target_cash_weight": targets.cash_weight, "holdings": rows,
        "max_drift": max_drift, "trades": trades,
        "filled_by_ticker": {t: dict(v) for t, v in sorted(by_ticker.items())},
        "filled_orders": filled_orders, "unfilled_quantity": unfilled,
        "shortfall_bp": signed_cost / arrival_notional * 10_000 if arrival_notional else 0.0,
        "fees_and_taxes": costs,
    }
