"""What a person (or the headless auto-approver) answers to a plan, and how it is bound to it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Edit(BaseModel):
    """One change to the proposal; every edit goes back through netting and the guardrails."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["quantity", "exclude", "order_type"]
    trade_id: str | None = None  # quantity, order_type
    ticker: str | None = None  # exclude; for quantity/order_type filled in by ``check_edits``
    side: Literal["buy", "sell"] | None = None  # quantity/order_type: filled in by ``check_edits``
    quantity: int | None = Field(None, ge=0)  # new total quantity of the trade (0 drops it)
    order_type: Literal["00", "01", "02", "03", "04"] | None = None


class EditError(ValueError):
    """An edit that cannot apply to the plan it answers (a trade or ticker not in it, an
    impossible quantity). The message is one sentence for the person."""


def check_edits(edits: Sequence[Edit], trades: Sequence[dict[str, Any]],
                sellable: Mapping[str, int] | None = None) -> list[Edit]:
    """``edits`` checked against the plan's ``trades`` (as shown) and resolved: each quantity and
    order-type edit carries the ticker and side of the trade it names, so it keeps naming that
    trade when the plan is recomputed. ``sellable``: shares that may be sold per ticker.

    Raises ``EditError`` for a trade id or ticker not in the plan, an edit of a ticker the same
    answer excludes, a missing quantity or order type, or a sale above the sellable shares.
    """
    by_id = {t["trade_id"]: t for t in trades}
    traded = sorted({t["ticker"] for t in trades})
    excluded = {e.ticker for e in edits if e.kind == "exclude"}
    checked = []
    for edit in edits:
        if edit.kind == "exclude":
            if edit.ticker not in traded:
                raise EditError(f"cannot exclude {edit.ticker!r}: it is not traded in this plan "
                                f"(tickers: {', '.join(traded) or 'none'})")
            checked.append(edit)
            continue
        trade = by_id.get(edit.trade_id or "")
        if trade is None:
            raise EditError(f"no trade {edit.trade_id!r} in this plan (trades: {', '.join(by_id) or 'none'})")
        ticker, side = trade["ticker"], trade["side"]
        if (edit.ticker or ticker, edit.side or side) != (ticker, side):
            raise EditError(f"{edit.trade_id} is a {side} of {ticker}, not a {edit.side or side} of {edit.ticker}")
        if ticker in excluded:
            raise EditError(f"{edit.trade_id}: {ticker} is excluded by the same answer (neither bought nor sold)")
        if edit.kind == "quantity":
            if edit.quantity is None:
                raise EditError(f"{edit.trade_id}: a quantity edit needs the new quantity")
            limit = (sellable or {}).get(ticker) if side == "sell" else None
            if limit is not None and edit.quantity > limit:
                raise EditError(f"{edit.trade_id}: at most {limit} shares of {ticker} can be sold, not {edit.quantity}")
        elif edit.order_type is None:
            raise EditError(f"{edit.trade_id}: an order-type edit needs the order type")
        checked.append(edit.model_copy(update={"ticker": ticker, "side": side}))
    return checked


class Approval(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # "undo": take back the last edit applied to this run (the plan is recomputed without it).
    decision: Literal["approve", "reject", "edit", "undo"]
    plan_hash: str = Field(min_length=16)  # must echo the hash of the plan shown
    by: str = Field(min_length=1, max_length=80)  # "terminal:<user>" or "auto-approve"
    at: str  # ISO time of the answer (wall clock)
    edits: list[Edit] = Field(default_factory=list)
    cancel_open_orders: bool = False  # cancel orders already resting on the run's tickers
    note: str = Field("", max_length=500)


def plan_hash(trades: Sequence[dict[str, Any]], orders: Sequence[dict[str, Any]]) -> str:
    """Content hash of what would be traded and how: an approval is valid for exactly this."""
    essence = {
        "trades": [{k: t[k] for k in ("trade_id", "ticker", "side", "quantity")} for t in trades],
        "orders": [{k: o.get(k) for k in ("order_id", "ticker", "side", "quantity", "order_type", "limit_price",
                                          "schedule")} for o in orders],
    }
    return hashlib.sha256(json.dumps(essence, sort_keys=True).encode()).hexdigest()


def check_edits_against(edits: Sequence[Edit], values: Mapping[str, Any]) -> list[Edit]:
    """``check_edits`` against a run's state (or the values shown with an approval request): its
    netting trades and the sellable shares of its account snapshot."""
    from tools.portfolio import AccountSnapshot

    trades = values["netting"]["trades"]
    snapshot = AccountSnapshot.model_validate(values["account"]["snapshot"])
    return check_edits(edits, trades, {t["ticker"]: snapshot.sellable_of(t["ticker"]) for t in trades})
