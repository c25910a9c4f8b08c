"""Accounts, positions, orders and fills of the paper exchange, with KRW booked as integers.

Cash follows KIS's three figures: ``deposit`` is settled cash (예수금, D+0); trades settle two
sessions later (D+2), so pending settlements are kept as dated flows and the D+1 and D+2 figures are
the deposit plus the flows due by then. Buying power is the D+2 figure less what open buy orders
reserve: sale proceeds can be reused at once, and nothing is ever bought on credit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum

from tools.market import InstrumentKind, OrderType


class Side(StrEnum):
    SELL = "01"
    BUY = "02"

    @property
    def korean_name(self) -> str:
        return "매도" if self is Side.SELL else "매수"


class OrderStatus(StrEnum):
    OPEN = "open"  # resting or waiting for an auction
    FILLED = "filled"
    CANCELLED = "cancelled"  # by the owner, by a revision, or IOC/FOK remainder
    EXPIRED = "expired"  # day order still open at the close


@dataclass
class Fill:
    order_no: int
    account: str
    ticker: str
    side: Side
    quantity: int
    price: int
    at: dt.datetime
    commission: int
    tax: int

    @property
    def amount(self) -> int:
        return self.quantity * self.price


@dataclass
class Order:
    order_no: int
    account: str
    ticker: str
    name: str
    kind: InstrumentKind
    side: Side
    order_type: OrderType
    quantity: int
    price: int  # limit price; 0 for market-type orders until priced
    placed_at: dt.datetime
    day: dt.date
    org_no: str
    original_order_no: int | None = None
    action: str = "new"  # new | revise | cancel (a cancel is its own record, as in KIS)
    filled_quantity: int = 0
    filled_amount: int = 0
    cancelled_quantity: int = 0
    status: OrderStatus = OrderStatus.OPEN
    reserved_cash: int = 0  # buy orders: cash held back for the unfilled part
    reserve_price: int = 0  # price per share the reservation was made at
    in_closing_auction: bool = False  # conditional limit converted to market at 15:20
    sequence: int = 0  # time priority inside a price level

    @property
    def remaining(self) -> int:
        if self.status is not OrderStatus.OPEN:
            return 0
        return self.quantity - self.filled_quantity - self.cancelled_quantity

    @property
    def is_open(self) -> bool:
        return self.status is OrderStatus.OPEN and self.remaining > 0

    @property
    def average_fill_price(self) -> float:
        return self.filled_amount / self.filled_quantity if self.filled_quantity else 0.0


@dataclass
class Position:
    ticker: str
    quantity: int = 0
    purchase_amount: int = 0  # 매입금액: cost basis of the shares held, without fees
    bought_today: int = 0
    sold_today: int = 0
    bought_yesterday: int = 0
    sold_yesterday: int = 0

    @property
    def average_price(self) -> float:
        return self.purchase_amount / self.quantity if self.quantity else 0.0

    @property
    def visible(self) -> bool:
        """KIS keeps a fully sold position in the balance until its trades settle."""
        return bool(self.quantity or self.bought_today or self.sold_today
                    or self.bought_yesterday or self.sold_yesterday)


@dataclass
class Settlement:
    due: dt.date
    amount: int  # signed: sale proceeds net of costs > 0, purchase cost with commission < 0


@dataclass
class DayTotals:
    """Today's and yesterday's trading figures for inquire-balance's output2."""

    buy_amount: int = 0
    sell_amount: int = 0
    costs: int = 0  # commission + tax


@dataclass
class Account:
    cano: str  # 8 digits
    product_code: str  # 2 digits
    app_key: str
    app_secret: str
    profile: str  # "paper" or "real": which server the keys belong to
    deposit: int  # settled cash, D+0
    positions: dict[str, Position] = field(default_factory=dict)
    settlements: list[Settlement] = field(default_factory=list)
    today: DayTotals = field(default_factory=DayTotals)
    yesterday: DayTotals = field(default_factory=DayTotals)
    previous_total_value: int = 0  # 전일총자산평가금액, captured at the day's roll

    @property
    def number(self) -> str:
        return f"{self.cano}-{self.product_code}"

    def cash_due_by(self, day: dt.date) -> int:
        return self.deposit + sum(s.amount for s in self.settlements if s.due <= day)

    @property
    def cash_d2(self) -> int:
        return self.deposit + sum(s.amount for s in self.settlements)

    @property
    def unsettled_sale_proceeds(self) -> int:
        return sum(s.amount for s in self.settlements if s.amount > 0)

    def position(self, ticker: str) -> Position:
        return self.positions.setdefault(ticker, Position(ticker))

    def settle_through(self, day: dt.date) -> None:
        """Move flows due on or before ``day`` into the deposit."""
        due = [s for s in self.settlements if s.due <= day]
        self.deposit += sum(s.amount for s in due)
        self.settlements = [s for s in self.settlements if s.due > day]

    def roll_day(self) -> None:
        """Start a new session: today's figures become yesterday's."""
        for ticker, pos in list(self.positions.items()):
            pos.bought_yesterday, pos.sold_yesterday = pos.bought_today, pos.sold_today
            pos.bought_today = pos.sold_today = 0
            if not pos.visible:
                del self.positions[ticker]
        self.yesterday, self.today = self.today, DayTotals()
