"""The final reconciliation: holdings against targets, residual drift, shortfall, fees and taxes."""

from __future__ import annotations

from typing import Any

from agent.executor.journal import JournalEntry


def final_report(ctx, state: dict[str, Any], entries: list[JournalEntry]) -> dict[str, Any]:
    balance = ctx.broker.client.balance()
    total = balance.summary.total_value
    targets: dict[str, float] = state["targets"]["flat"]
    values = {h.ticker: h.value for h in balance.holdings if h.quantity > 0}
    rows = []
    for ticker in sorted(set(targets) | set(values)):
        weight = values.get(ticker, 0) / total if total else 0.0
        target = targets.get(ticker, 0.0)
        rows.append({"ticker": ticker, "weight": weight, "target": target, "deviation": weight - target,
                     "quantity": next((h.quantity for h in balance.holdings if h.ticker == ticker), 0)})
    cash_weight = balance.summary.cash_d2 / total if total else 0.0
    # Implementation shortfall per trade, against the arrival mid (the quotes the plan was made on).
    trades = []
    signed_cost = 0.0
    arrival_notional = 0.0
    for trade in state["netting"]["trades"]:
        mine = [e for e in entries if e.trade_id == trade["trade_id"]]
        filled = sum(e.filled_quantity for e in mine)
        amount = sum(e.filled_amount for e in mine)
        quote = state["quotes"][trade["ticker"]]
        arrival = (quote["bid"] + quote["ask"]) / 2
        sign = 1 if trade["side"] == "buy" else -1
        shortfall_bp = sign * (amount / filled - arrival) / arrival * 10_000 if filled else 0.0
        signed_cost += sign * (amount - filled * arrival)
        arrival_notional += filled * arrival
        trades.append({"trade_id": trade["trade_id"], "ticker": trade["ticker"], "side": trade["side"],
                       "planned": trade["quantity"], "filled": filled, "average_price": amount / filled if filled else 0,
                       "arrival_mid": arrival, "shortfall_bp": shortfall_bp})
    costs = balance.summary.costs_today - state["account"].get("costs_today", 0)
    return {
        "total_value": total, "cash_d2": balance.summary.cash_d2, "cash_weight": cash_weight,
        "target_cash_weight": state["targets"]["cash_weight"], "holdings": rows,
        "max_drift": max((abs(r["deviation"]) for r in rows), default=0.0), "trades": trades,
        "filled_orders": sum(1 for e in entries if e.filled_quantity > 0),
        "unfilled_quantity": sum(max(t["planned"] - t["filled"], 0) for t in trades),
        "shortfall_bp": signed_cost / arrival_notional * 10_000 if arrival_notional else 0.0,
        "fees_and_taxes": costs,
    }
