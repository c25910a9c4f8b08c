"""What a person (or the headless auto-approver) answers to a plan, and how it is bound to it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Edit(BaseModel):
    """One change to the proposal; every edit goes back through netting and the guardrails."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["quantity", "exclude", "order_type"]
    trade_id: str | None = None  # quantity, order_type
    ticker: str | None = None  # exclude
    quantity: int | None = Field(None, ge=0)  # new total quantity of the trade (0 drops it)
    order_type: Literal["00", "01", "02", "03", "04"] | None = None


class Approval(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["approve", "reject", "edit"]
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
