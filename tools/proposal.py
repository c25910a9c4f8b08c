"""The proposal: what would be traded, how, when, and with what cash — the one object a person approves.

A ``Proposal`` is made by ``make_proposal`` from netting's trades (the person's edits already in
them), the planner's choices, the quotes they were priced on and the run's settings, at one moment
on the exchange clock. It carries everything the guardrails judge and the executor places:

- the orders (``tools.plan.build_orders``: quantities from the trades, never from the plan);
- the cash each order commits: a buy reserves its limit price (or, for unpriced types, the day's
  upper limit) × quantity plus commission; a sell brings in its proceeds after costs;
- the worst-case schedule from ``made_at`` (``tools.schedule``) and the expected cash path;
- a content hash: an approval names exactly this proposal.

It is frozen and validated on every load: a proposal whose hash does not match its content (a
hand-edited checkpoint) does not load. ``guardrails.check`` judges it against an account at a moment.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence

from pydantic import BaseModel, ConfigDict, model_validator

from tools.money import MoneyRules
from tools.netting.models import NettingResult, Trade
from tools.plan import ExecutionPlan, Order, Quote, build_orders
from tools.schedule import SessionDay, Timetable, TimetableSettings, make_timetable

_TRADE_KEYS = ("trade_id", "ticker", "side", "quantity")
_ORDER_KEYS = ("order_id", "ticker", "side", "quantity", "order_type", "limit_price", "schedule")


def proposal_digest(trades: Sequence[Trade], orders: Sequence[Order]) -> str:
    """SHA-256 of what would be traded and how (tickers, sides, quantities, order types, prices,
    schedules): an approval is valid for exactly this content."""
    essence = {
        "trades": [{k: v for k, v in t.model_dump(mode="json").items() if k in _TRADE_KEYS} for t in trades],
        "orders": [{k: o.model_dump(mode="json").get(k) for k in _ORDER_KEYS} for o in orders],
    }
    return hashlib.sha256(json.dumps(essence, sort_keys=True).encode()).hexdigest()


class CashStep(BaseModel):
    """One point of the expected cash path: before trading, after the sells, after the buys."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    label: str
    at: dt.datetime | None  # worst-case moment on the exchange clock (None: the stage is empty)
    cash: int  # KRW expected in the account (buys: as committed at their reservation prices)


class Proposal(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    netting: NettingResult  # the trades and the post-trade figures they imply
    plan: ExecutionPlan  # the planner's (and the person's) execution choices
    quotes: dict[str, Quote]  # the book the limit prices were set on
    orders: tuple[Order, ...]
    committed: dict[str, int]  # buy order id → KRW reserved at its reservation price, commission included
    proceeds: dict[str, int]  # sell order id → KRW expected after commission and tax
    money: MoneyRules
    session: SessionDay
    timetable: TimetableSettings
    made_at: dt.datetime
    schedule: Timetable  # worst case from made_at: sells, then buys
    cash_path: tuple[CashStep, ...]
    digest: str

    @model_validator(mode="after")
    def _digest_matches(self) -> Proposal:
        if self.digest != proposal_digest(self.netting.trades, self.orders):
            raise ValueError("the proposal's content does not match its hash: it was changed after it was made")
        return self

    @property
    def trades(self) -> tuple[Trade, ...]:
        return self.netting.trades

    @property
    def total_committed(self) -> int:
        return sum(self.committed.values())

    @property
    def total_proceeds(self) -> int:
        return sum(self.proceeds.values())

    def orders_of(self, side: str) -> list[Order]:
        return [o for o in self.orders if o.side == side]

    def rescheduled(self, at: dt.datetime) -> Proposal:
        """The same orders with the schedule and cash path as of ``at`` (the hash is unchanged)."""
        return make_proposal(self.netting, self.plan, self.quotes, money=self.money, session=self.session,
                             timetable=self.timetable, at=at)

    def buys_only(self, quantities: Mapping[str, int], at: dt.datetime) -> Proposal:
        """The buy stage as it will be sent: the buy trades with ``quantities`` (trade id → shares,
        0 drops the trade; e.g. after ``MoneyRules.shrink_buys``), same choices, scheduled from ``at``."""
        trades = tuple(t.model_copy(update={"quantity": quantities[t.trade_id],
                                            "notional": quantities[t.trade_id] * t.reference_price})
                       for t in self.trades if t.side == "buy" and quantities.get(t.trade_id, 0) > 0)
        netting = self.netting.model_copy(update={"trades": trades})
        return make_proposal(netting, self.plan, self.quotes, money=self.money, session=self.session,
                             timetable=self.timetable, at=at)


def order_cash(order: Order, quotes: Mapping[str, Quote], money: MoneyRules) -> int:
    """KRW a buy slice reserves, or a sell slice brings in (at its limit, else the reference price)."""
    if order.side == "buy":
        quote = quotes.get(order.ticker)
        base = quote.base_price if quote is not None else order.reference_price
        price = money.reservation_price(order.order_type, order.limit_price, base, order.kind)
        return money.buy_commitment(order.quantity, price, order.kind)
    price = order.limit_price if order.order_type.needs_price and order.limit_price else order.reference_price
    return money.sell_proceeds(order.quantity, price, order.kind)


def make_proposal(netting: NettingResult, plan: ExecutionPlan, quotes: Mapping[str, Quote], *,
                  money: MoneyRules, session: SessionDay, timetable: TimetableSettings,
                  at: dt.datetime) -> Proposal:
    """The proposal of ``netting``'s trades executed as ``plan`` chooses, made at ``at``.

    Orders without a price they need (a priced buy with no quote) raise ``tools.plan.PlanError``;
    everything else a guardrail may dislike is kept as it is, for ``guardrails.check`` to judge.
    """
    orders = build_orders(netting.trades, plan, quotes)
    committed, proceeds = {}, {}
    for order in orders:
        try:
            cash = order_cash(order, quotes, money)
        except ValueError:  # a priced type without a price: cash_flow reports it
            continue
        (committed if order.side == "buy" else proceeds)[order.order_id] = cash
    schedule = make_timetable(orders, at, session, timetable)
    after_sells = netting.cash_before + sum(proceeds.values())
    path = (CashStep(label="before trading", at=at, cash=netting.cash_before),
            CashStep(label="after the sells", at=schedule.sells_done_by, cash=after_sells),
            CashStep(label="after the buys", at=schedule.done_by if committed else None,
                     cash=after_sells - sum(committed.values())))
    return Proposal(netting=netting, plan=plan, quotes=dict(quotes), orders=orders, committed=committed,
                    proceeds=proceeds, money=money, session=session, timetable=timetable, made_at=at,
                    schedule=schedule, cash_path=path, digest=proposal_digest(netting.trades, orders))


__all__ = ["CashStep", "Proposal", "make_proposal", "order_cash", "proposal_digest"]
