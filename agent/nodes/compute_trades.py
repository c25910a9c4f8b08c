"""compute_trades: whole-share net trades, with the person's edits applied."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from agent.approval import Edit
from agent.context import RunContext
from agent.state import RunState
from tools.netting import NettingOptions, NettingResult
from tools.portfolio import AccountSnapshot

if TYPE_CHECKING:
    from langgraph.runtime import Runtime  # annotations only: langgraph loads with the graph


def excluded_tickers(edits: Sequence[Edit]) -> frozenset[str]:
    return frozenset(e.ticker for e in edits if e.kind == "exclude" and e.ticker)


def netting_options(ctx: RunContext, edits: Sequence[Edit]) -> NettingOptions:
    section = ctx.config.rebalance
    excluded = excluded_tickers(edits)
    return NettingOptions(money=ctx.config.money, min_trade_value=section.min_trade_value,
                          buy_only=section.buy_only, locked=frozenset(section.locked) | excluded,
                          excluded=frozenset(section.excluded))


def edit_key(edit: Edit, ids: dict[str, tuple[str, str]]) -> tuple[str, str] | None:
    """(ticker, side) of the trade an edit names: resolved when the edit was checked
    (``agent.approval.check_edits``), else looked up by its trade id."""
    if edit.ticker and edit.side:
        return edit.ticker, edit.side
    return ids.get(edit.trade_id or "")


def stable_ids(result: NettingResult, unedited: NettingResult) -> NettingResult:
    """``result``'s trades under the ids of the unedited netting (same ticker and side, same id), so
    an exclusion never renumbers the other trades; a trade the unedited netting did not have gets
    the next free number."""
    known = {(t.ticker, t.side): t.trade_id for t in unedited.trades}
    number = len(unedited.trades)
    trades = []
    for trade in result.trades:
        trade_id = known.get((trade.ticker, trade.side))
        if trade_id is None:
            number += 1
            trade_id = f"T{number:02d}-{trade.ticker}-{trade.side.upper()}"
        trades.append(trade if trade_id == trade.trade_id else trade.model_copy(update={"trade_id": trade_id}))
    return result.model_copy(update={"trades": tuple(trades)})


def apply_edits(ctx: RunContext, targets, snapshot: AccountSnapshot, edits: Sequence[Edit]
                ) -> tuple[NettingResult, list[str]]:
    """Netting with the person's edits, and notes on edits that no longer apply.

    Exclusions go into netting (the ticker is locked, everything else re-optimised). Quantity
    edits override netting's answer for their trade (0 drops it) and the whole result is then
    recomputed from those quantities (``tools.netting.evaluate``): costs, cash, every weight and
    the error describe the edited plan, so the guardrails judge what would actually be traded.
    """
    from tools.netting import compute_trades as net_trades  # the solver (highspy) loads on first netting
    from tools.netting.evaluate import evaluate_trades, signed_quantities

    unedited = net_trades(targets, snapshot, netting_options(ctx, []))
    excluded = excluded_tickers(edits)
    options = netting_options(ctx, edits)
    solved = net_trades(targets, snapshot, options) if excluded else unedited
    ids = {t.trade_id: (t.ticker, t.side) for t in unedited.trades}
    quantities = signed_quantities(solved)
    edited: dict[str, int] = {}
    notes = []
    for edit in (e for e in edits if e.kind == "quantity" and e.quantity is not None):
        key = edit_key(edit, ids)
        if key is None:
            notes.append(f"quantity edit of {edit.trade_id} not applied: no such trade any more")
            continue
        ticker, side = key
        if ticker in excluded:
            notes.append(f"quantity edit of {ticker} not applied: {ticker} is excluded")
            continue
        if side == "sell" and edit.quantity > snapshot.sellable_of(ticker):
            notes.append(f"quantity edit of {ticker} not applied: only {snapshot.sellable_of(ticker)} shares "
                         "can be sold now")
            continue
        quantities[ticker] = edit.quantity if side == "buy" else -edit.quantity
        edited[ticker] = edit.quantity
    if not edited:
        return stable_ids(solved, unedited), notes
    result = evaluate_trades(targets, snapshot, options, quantities, solver=solved.solver,
                             status=f"{solved.solver_status}; quantities edited by the person")
    result = result.model_copy(update={"trades": tuple(
        t.model_copy(update={"reason": f"{t.reason} (quantity set to {t.quantity} by the person)"})
        if t.ticker in edited else t for t in result.trades)})
    return stable_ids(result, unedited), notes


def compute_trades(state: RunState, runtime: Runtime[RunContext]) -> dict:
    ctx = runtime.context
    edits = state.edits
    assert state.targets is not None  # fetch_targets ran first
    result, notes = apply_edits(ctx, state.targets.targets, state.snapshot, edits)
    netting = result.model_dump(mode="json")
    ctx.transcript.write("trades", netting=netting, edits=[e.model_dump(mode="json") for e in edits],
                         **({"edit_notes": notes} if notes else {}))
    update: dict = {"netting": netting, "outcome": ""}
    if notes:
        for note in notes:
            ctx.say(note)
        update["approval_problem"] = "; ".join(filter(None, [state.approval_problem, *notes]))
    if not result.trades:
        return {**update, "outcome": "nothing to do",
                "message": "the edits leave nothing to trade" if edits else
                "a trigger fired, but no whole-share trade improves the portfolio"}
    ctx.say(f"{len(result.trades)} trades, turnover {result.turnover:,} KRW, est. costs {result.est_costs:,} KRW")
    return update


def route_after_trades(state: RunState) -> str:
    return "record" if state.outcome == "nothing to do" else "plan_execution"
