"""Execution plans and the concrete orders rebuilt from them.

The planner (an LLM, or rules) chooses only *how* to execute each trade: per trade id an order
type, a price rule, a number of slices and a schedule, each from an allow-list. Tickers, sides
and quantities never come from the plan: ``build_orders`` rebuilds every order from the trade
list plus the plan, and the guardrails check the result.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from tools.market import InstrumentKind, OrderType, round_to_tick, shift_ticks
from tools.netting.models import Side, Trade

PlanOrderType = Literal["00", "01", "02", "03", "04"]  # limit, market, conditional, best counter, best own
PriceRule = Literal["bid1", "ask1", "mid"]
Schedule = Literal["now", "twap", "closing_auction"]

PRICED_ORDER_TYPES = frozenset({"00", "02"})  # the others carry no price (KIS sends 0)
MAX_OFFSET_TICKS = 5
DEFAULT_MAX_SLICES = 5
HARD_MAX_SLICES = 50  # sanity cap; the configured N (validation context "max_slices") is lower
MAX_RATIONALE = 280


class PlanError(ValueError):
    """Orders cannot be built (e.g. no quote to price a limit order)."""


class OrderChoice(BaseModel):
    """How to execute one trade. Every field is from an allow-list or bounded."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    trade_id: str = Field(min_length=1, max_length=64)
    order_type: PlanOrderType
    price_rule: PriceRule | None = None  # required for priced types (00, 02); ignored otherwise
    offset_ticks: int = Field(default=0, ge=-MAX_OFFSET_TICKS, le=MAX_OFFSET_TICKS)  # + = up the grid
    slices: int = Field(default=1, ge=1, le=HARD_MAX_SLICES)
    schedule: Schedule = "now"
    rationale: str = Field(default="", max_length=MAX_RATIONALE)

    @field_validator("slices")
    @classmethod
    def _within_configured_slices(cls, slices: int, info: ValidationInfo) -> int:
        limit = (info.context or {}).get("max_slices", DEFAULT_MAX_SLICES)
        if slices > limit:
            raise ValueError(f"at most {limit} slices")
        return slices

    @model_validator(mode="after")
    def _priced_needs_rule(self) -> OrderChoice:
        if self.order_type in PRICED_ORDER_TYPES and self.price_rule is None:
            raise ValueError(f"order type {self.order_type} needs a price_rule")
        return self


class ExecutionPlan(BaseModel):
    """One choice per trade id. Parse LLM output with
    ``ExecutionPlan.model_validate(data, context={"max_slices": N})``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    choices: tuple[OrderChoice, ...]
    planner: str = Field(default="rules", max_length=64)

    @classmethod
    def uniform(cls, trade_ids: Iterable[str], *, planner: str = "rules", **choice: object) -> ExecutionPlan:
        """The same choice for every trade (a deterministic plan)."""
        return cls(choices=tuple(OrderChoice(trade_id=t, **choice) for t in trade_ids), planner=planner)

    def choice_for(self, trade_id: str) -> OrderChoice | None:
        return next((c for c in self.choices if c.trade_id == trade_id), None)


class Quote(BaseModel):
    """Best bid/ask and the day's base price (기준가, for the ±30 % limits) of one instrument."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ticker: str
    bid: int = Field(gt=0)
    ask: int = Field(gt=0)
    base_price: int = Field(gt=0)
    kind: InstrumentKind = InstrumentKind.ETF


class Order(BaseModel):
    """One order slice as the executor will place it. Deliberately unconstrained numbers: the
    KRX guardrails, not the model, decide whether a quantity or price is acceptable."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    order_id: str  # "<trade_id>/<slice_no>"; the executor prefixes its run id
    trade_id: str
    slice_no: int
    slice_count: int
    ticker: str
    side: Side
    quantity: int
    order_type: OrderType
    limit_price: int | None  # None for market / best-price types
    schedule: Schedule
    kind: InstrumentKind
    reference_price: int

    @property
    def notional(self) -> int:
        return self.quantity * (self.limit_price if self.limit_price is not None else self.reference_price)


def slice_quantities(quantity: int, slices: int) -> list[int]:
    """Split into at most ``slices`` positive parts, larger parts first (7 in 3 → 3, 2, 2)."""
    count = max(1, min(slices, quantity))
    base, extra = divmod(quantity, count)
    return [base + 1 if i < extra else base for i in range(count)]


def limit_price(choice: OrderChoice, side: Side, quote: Quote) -> int:
    """The limit price a priced choice implies: the touch or the mid, then ``offset_ticks`` along the grid."""
    if choice.price_rule == "bid1":
        price = quote.bid
    elif choice.price_rule == "ask1":
        price = quote.ask
    else:
        # The mid rounded to the grid on the passive side: buys down, sells up.
        price = round_to_tick((quote.bid + quote.ask) / 2, quote.kind, up=side == "sell")
    return shift_ticks(price, choice.offset_ticks, quote.kind) if choice.offset_ticks else price


def build_orders(trades: Sequence[Trade], plan: ExecutionPlan, quotes: Mapping[str, Quote]) -> tuple[Order, ...]:
    """Orders from the trades and the plan. Trades without a choice get no orders (the
    ``plan.coverage`` guardrail reports them); choices without a trade are ignored."""
    orders: list[Order] = []
    for trade in trades:
        choice = plan.choice_for(trade.trade_id)
        if choice is None:
            continue
        price = None
        if choice.order_type in PRICED_ORDER_TYPES:
            quote = quotes.get(trade.ticker)
            if quote is None:
                raise PlanError(f"{trade.trade_id}: no quote for {trade.ticker} to price a limit order")
            price = limit_price(choice, trade.side, quote)
        parts = slice_quantities(trade.quantity, choice.slices)
        orders.extend(
            Order(order_id=f"{trade.trade_id}/{number}", trade_id=trade.trade_id, slice_no=number,
                  slice_count=len(parts), ticker=trade.ticker, side=trade.side, quantity=quantity,
                  order_type=OrderType(choice.order_type), limit_price=price, schedule=choice.schedule,
                  kind=trade.kind, reference_price=trade.reference_price)
            for number, quantity in enumerate(parts, start=1))
    return tuple(orders)
