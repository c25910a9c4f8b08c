"""compute_trades: whole-share net trades, with the person's edits applied."""

from __future__ import annotations

from langgraph.runtime import Runtime

from agent.context import RunContext
from agent.state import RunState
from tools.netting import NettingOptions, NettingResult, Trade
from tools.netting import compute_trades as net_trades
from tools.portfolio import AccountSnapshot
from tools.targets import load_payload


def netting_options(ctx: RunContext, edits: list[dict]) -> NettingOptions:
    section = ctx.config.rebalance
    excluded = {e["ticker"] for e in edits if e["kind"] == "exclude" and e.get("ticker")}
    return NettingOptions(cash_buffer=section.cash_buffer, min_trade_value=section.min_trade_value,
                          buy_only=section.buy_only, locked=frozenset(section.locked) | excluded,
                          excluded=frozenset(section.excluded))


def apply_quantity_edits(result: NettingResult, edits: list[dict]) -> NettingResult:
    """A person's quantity overrides a trade's; 0 drops it. Costs follow the new quantity."""
    overrides = {e["trade_id"]: e["quantity"] for e in edits if e["kind"] == "quantity"}
    if not overrides:
        return result
    trades: list[Trade] = []
    for trade in result.trades:
        quantity = overrides.get(trade.trade_id, trade.quantity)
        if quantity <= 0:
            continue
        scale = quantity / trade.quantity
        trades.append(trade.model_copy(update={
            "quantity": quantity, "notional": quantity * trade.reference_price,
            "commission": int(trade.commission * scale), "tax": int(trade.tax * scale),
            "reason": trade.reason + f" (quantity edited to {quantity})" if quantity != trade.quantity else trade.reason}))
    return result.model_copy(update={"trades": tuple(trades),
                                     "turnover": sum(t.notional for t in trades)})


def compute_trades(state: RunState, runtime: Runtime[RunContext]) -> dict:
    ctx = runtime.context
    edits = state.get("edits") or []
    targets = load_payload(state["targets"]["payload"])
    snapshot = AccountSnapshot.model_validate(state["account"]["snapshot"])
    result = apply_quantity_edits(net_trades(targets, snapshot, netting_options(ctx, edits)), edits)
    netting = result.model_dump(mode="json")
    ctx.transcript.write("trades", netting=netting, edits=edits)
    if not result.trades:
        return {"netting": netting, "outcome": "nothing to do",
                "message": "a trigger fired, but no whole-share trade improves the portfolio"}
    ctx.say(f"{len(result.trades)} trades, turnover {result.turnover:,} KRW, est. costs {result.est_costs:,} KRW")
    return {"netting": netting, "outcome": ""}


def route_after_trades(state: RunState) -> str:
    return "record" if state.get("outcome") == "nothing to do" else "plan_execution"
