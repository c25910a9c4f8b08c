"""The paper exchange: accounts and orders on a simulated KRX, in domain terms.

``paper.app`` turns HTTP requests in KIS's wire format into calls on this class; nothing here
knows about Korean field names. Every public method first brings the market up to the clock
(auctions, resting-order fills, day rolls, settlement) and ends by persisting what changed.
"""

from __future__ import annotations

import datetime as dt
import secrets
import string
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from paper import errors
from paper.clock import SimClock
from paper.engine import MatchingEngine
from paper.errors import PaperError
from paper.ledger import Account, Fill, Order, OrderStatus, Position, Settlement, Side
from paper.market import Instrument, MarketData
from paper.settings import ExchangeSettings
from paper.store import Store
from tools.market import (
    KST,
    InstrumentKind,
    OrderType,
    Phase,
    commission,
    order_type_allowed,
    price_limits,
    price_problem,
    sell_tax,
    tick_size,
)
from tools.prices import DailyBar

_ALNUM = string.ascii_letters + string.digits


def new_app_key() -> str:
    """36 characters, like KIS app keys (clients check the length)."""
    return "PS" + "".join(secrets.choice(_ALNUM) for _ in range(34))


def new_app_secret() -> str:
    """180 characters, like KIS app secrets."""
    return "".join(secrets.choice(_ALNUM + "+/") for _ in range(180))


@dataclass(frozen=True)
class Quote:
    instrument: Instrument
    price: int
    base_price: int  # 기준가: previous close
    open: int
    high: int
    low: int
    volume: int
    traded_value: int
    lower_limit: int
    upper_limit: int
    tick: int
    day: dt.date
    phase: Phase


@dataclass(frozen=True)
class BuyingPower:
    cash: int  # orderable cash (D+2 less open buy reservations)
    reusable_sale_proceeds: int
    price_used: int
    quantity: int  # whole shares affordable at price_used, commission included


class PaperExchange:
    def __init__(self, settings: ExchangeSettings | None = None, *, clock: SimClock | None = None,
                 market: MarketData | None = None, store: Store | None = None) -> None:
        self.settings = settings or ExchangeSettings()
        self.market = market or MarketData(seed=self.settings.seed, data_dir=self.settings.data_dir)
        self.calendar = self.market.calendar
        self.clock = clock or SimClock(self.settings.start_moment(self.calendar), self.settings.speed)
        self.store = store or Store(self.settings.db)
        self.engine = MatchingEngine(self.market, self._book_fill)
        self._lock = threading.RLock()
        self.accounts: dict[str, Account] = {}
        self.accounts_by_key: dict[str, Account] = {}
        self.orders: dict[int, Order] = {}
        self.fills: list[Fill] = []
        self._year_ranges: dict[tuple[str, dt.date], tuple[int, int]] = {}
        self._load()

    # --- state ------------------------------------------------------------------------------

    def _load(self) -> None:
        for account in self.store.load_accounts():
            self._register(account)
        for order in self.store.load_orders():
            self.orders[order.order_no] = order
            self.engine.add_resting(order)
        self.fills = self.store.load_fills()
        self._next_order_no = int(self.store.meta("next_order_no") or 1)
        self._next_sequence = int(self.store.meta("next_sequence") or 1)
        mark = self.store.meta("processed_until")
        now = self.clock.now()
        if mark is not None:
            processed = dt.datetime.fromisoformat(mark)
            # The market never rewinds: a restart with an earlier clock continues from the mark.
            self.clock.set(processed)
            self._processed = processed
        else:
            self._processed = now
            self.store.stage_meta("processed_until", now.isoformat())
            self.store.flush()

    def _register(self, account: Account) -> None:
        self.accounts[account.number] = account
        self.accounts_by_key[account.app_key] = account

    @contextmanager
    def operation(self) -> Iterator[dt.datetime]:
        """One exchange operation: catch the market up to now, then persist what changed."""
        with self._lock:
            now = self.clock.now()
            self._sync(now)
            try:
                yield now
            finally:
                # Reads change nothing: only write when the market or an account moved, so a
                # quote costs no disk write. The mark then records the last moment that mattered.
                if self.store.has_changes:
                    self.store.stage_meta("processed_until", self._processed.isoformat())
                    self.store.stage_meta("next_order_no", str(self._next_order_no))
                    self.store.stage_meta("next_sequence", str(self._next_sequence))
                    self.store.flush()

    def sync(self) -> dt.datetime:
        with self.operation() as now:
            return now

    def reset(self) -> None:
        with self._lock:
            self.store.reset()
            self.accounts.clear()
            self.accounts_by_key.clear()
            self.orders.clear()
            self.fills.clear()
            self.engine = MatchingEngine(self.market, self._book_fill)
            self._load()

    # --- accounts ---------------------------------------------------------------------------

    def create_account(self, cash: int, holdings: dict[str, int] | None = None, *, cano: str | None = None,
                       product_code: str = "01", profile: str | None = None,
                       app_key: str | None = None, app_secret: str | None = None) -> Account:
        """Open an account with settled cash and holdings bought at the last close."""
        with self.operation() as now:
            profile = profile or self.settings.profile
            cano = cano or self._new_cano(profile)
            if f"{cano}-{product_code}" in self.accounts:
                raise ValueError(f"account {cano}-{product_code[:1]}* exists already")
            account = Account(cano=cano, product_code=product_code, app_key=app_key or new_app_key(),
                              app_secret=app_secret or new_app_secret(), profile=profile, deposit=cash)
            day = self.calendar.previous_session(now.date(), include=True)
            for ticker, quantity in (holdings or {}).items():
                self.instrument(ticker)
                price = self.market.base_price(ticker, day)
                account.positions[ticker] = Position(ticker, quantity, quantity * price)
            account.previous_total_value = cash + sum(
                p.purchase_amount for p in account.positions.values())
            self._register(account)
            self.store.stage_account(account)
            return account

    def _new_cano(self, profile: str) -> str:
        # Paper accounts at KIS start with 5; real ones with 6 or 4 — we use 6 for real.
        prefix = "5" if profile == "paper" else "6"
        while True:
            cano = prefix + "".join(secrets.choice(string.digits) for _ in range(7))
            if not any(a.cano == cano for a in self.accounts.values()):
                return cano

    def account_for(self, app_key: str) -> Account:
        account = self.accounts_by_key.get(app_key)
        if account is None:
            raise PaperError(errors.BAD_APP_KEY)
        return account

    # --- the market ---------------------------------------------------------------------------

    def instrument(self, ticker: str) -> Instrument:
        instrument = self.market.instrument(ticker)
        if instrument is None:
            raise PaperError(errors.UNKNOWN_TICKER, f"종목코드 {ticker}")
        return instrument

    def phase(self, now: dt.datetime | None = None) -> Phase:
        return self.calendar.phase(now or self.clock.now())

    def market_day(self, now: dt.datetime) -> dt.date:
        """The session a quote describes: today once trading has started, else the last session."""
        today = now.date()
        phase = self.calendar.phase(now)
        if phase in (Phase.CONTINUOUS, Phase.CLOSING_AUCTION, Phase.POST_CLOSE):
            return today
        if phase in (Phase.PRE_OPEN, Phase.OPENING_AUCTION):
            return today  # prices stand at the base price until the opening auction clears
        return self.calendar.previous_session(today)

    def quote(self, ticker: str) -> Quote:
        with self.operation() as now:
            return self._quote(ticker, now)

    def _quote(self, ticker: str, now: dt.datetime) -> Quote:
        instrument = self.instrument(ticker)
        day = self.market_day(now)
        base = self.market.base_price(ticker, day)
        lower, upper = price_limits(base, instrument.kind)
        phase = self.calendar.phase(now)
        if day == now.date() and phase in (Phase.PRE_OPEN, Phase.OPENING_AUCTION):
            price, open_, high, low, volume = base, 0, 0, 0, 0
        else:
            path = self.market.path(ticker, day)
            moment = min(now, self.calendar.session_bounds(day)[1])
            price = path.last_price(moment)
            extremes = path.high_low(moment)
            high, low = extremes.high, extremes.low
            open_ = self.market.bar(ticker, day).open
            volume = path.cum_volume(moment)
        return Quote(instrument, price, base, open_, high, low, volume, volume * price, lower, upper,
                     tick_size(price, instrument.kind), day, phase)

    def year_range(self, ticker: str, day: dt.date) -> tuple[int, int]:
        """(high, low) of the 250 sessions before ``day``; history does not change, so it is cached."""
        key = (ticker, day)
        cached = self._year_ranges.get(key)
        if cached is None:
            bars = self.market.bars(ticker, day - dt.timedelta(days=365), day - dt.timedelta(days=1))
            cached = (max((b.high for b in bars), default=0), min((b.low for b in bars), default=0))
            self._year_ranges[key] = cached
        return cached

    def book(self, ticker: str) -> tuple[Quote, list[tuple[int, int]], list[tuple[int, int]]]:
        """The 10-level book: the market's quotes plus our resting limit orders at their prices."""
        with self.operation() as now:
            quote = self._quote(ticker, now)
            bids, asks = self.market.path(ticker, quote.day).book(min(now, self.calendar.session_bounds(quote.day)[1]))
            bid_qty = dict(bids)
            ask_qty = dict(asks)
            for order in self.engine.open_orders(ticker):
                if order.price > 0:
                    side = bid_qty if order.side is Side.BUY else ask_qty
                    side[order.price] = side.get(order.price, 0) + order.remaining
            bid_levels = sorted(bid_qty.items(), reverse=True)[:10]
            ask_levels = sorted(ask_qty.items())[:10]
            return quote, bid_levels, ask_levels

    def daily_bars(self, ticker: str, start: dt.date, end: dt.date) -> list:
        """Daily bars in [start, end], ascending; today's bar is the session so far."""
        with self.operation() as now:
            self.instrument(ticker)
            last_full = self.calendar.previous_session(now.date())
            bars = self.market.bars(ticker, start, min(end, last_full))
            if start <= now.date() <= end and self.calendar.is_session(now.date()) \
                    and self.calendar.phase(now) not in (Phase.PRE_OPEN, Phase.OPENING_AUCTION):
                q = self._quote(ticker, now)
                bars.append(DailyBar(date=now.date(), open=q.open, high=q.high, low=q.low, close=q.price,
                                     volume=q.volume))
            return bars

    # --- clock: events between the last mark and now ------------------------------------------

    def _sync(self, now: dt.datetime) -> None:
        while self._processed < now:
            event_at, event = self._next_event(self._processed)
            target = min(event_at, now)
            self._run_continuous(self._processed, target)
            if event_at <= now:
                event()
            self._processed = target

    def _run_continuous(self, start: dt.datetime, end: dt.datetime) -> None:
        day = start.date()
        if not self.calendar.is_session(day):
            return
        open_at, close_at = self.calendar.session_bounds(day)
        lo, hi = max(start, open_at), min(end, close_at - dt.timedelta(minutes=10))
        if lo < hi:
            self.engine.run_continuous(lo, hi)

    def _next_event(self, after: dt.datetime):
        day = after.date()
        while True:
            if self.calendar.is_session(day):
                open_at, close_at = self.calendar.session_bounds(day)
                midnight = dt.datetime.combine(day, dt.time(0, 0), KST)
                events = [
                    (midnight, lambda d=day: self._roll_day(d)),
                    (open_at, lambda d=day, t=open_at: self.engine.uncross(d, t, closing=False)),
                    (close_at - dt.timedelta(minutes=10), lambda d=day: self.engine.convert_conditional(d)),
                    (close_at, lambda d=day, t=close_at: self._close_day(d, t)),
                ]
                for moment, event in events:
                    if moment > after:
                        return moment, event
            day += dt.timedelta(days=1)

    def _roll_day(self, day: dt.date) -> None:
        for order in self.engine.expire(day - dt.timedelta(days=1)):
            self._release(order)
        for account in self.accounts.values():
            account.previous_total_value = self._total_value(account, day)
            account.settle_through(day)
            account.roll_day()
            self.store.stage_account(account)

    def _close_day(self, day: dt.date, at: dt.datetime) -> None:
        self.engine.uncross(day, at, closing=True)
        for order in self.engine.expire(day):
            self._release(order)

    # --- fills and cash -----------------------------------------------------------------------

    def _commission_rate(self, kind: InstrumentKind) -> float:
        return self.settings.commission_rate(kind)

    def _reserve_per_share(self, price: int, kind: InstrumentKind) -> int:
        return price + commission(price, self._commission_rate(kind)) + 1  # +1 won covers truncation

    def _release(self, order: Order) -> None:
        if order.side is Side.BUY:
            per_share = self._reserve_per_share(order.reserve_price, order.kind)
            order.reserved_cash = order.remaining * per_share if order.is_open else 0
        self.store.stage_order(order)

    def _book_fill(self, order: Order, quantity: int, price: int, at: dt.datetime) -> None:
        account = self.accounts[order.account]
        amount = quantity * price
        fee = commission(amount, self._commission_rate(order.kind))
        settle_on = self.calendar.add_sessions(self.calendar.next_session(at.date(), include=True), 2)
        position = account.position(order.ticker)
        if order.side is Side.BUY:
            tax = 0
            account.settlements.append(Settlement(settle_on, -(amount + fee)))
            position.quantity += quantity
            position.purchase_amount += amount
            position.bought_today += quantity
            account.today.buy_amount += amount
            order.reserved_cash = max(0, order.remaining * self._reserve_per_share(order.reserve_price, order.kind))
        else:
            tax = sell_tax(amount, order.kind, self.settings.stock_sell_tax)
            account.settlements.append(Settlement(settle_on, amount - fee - tax))
            position.purchase_amount -= round(position.purchase_amount * quantity / position.quantity)
            position.quantity -= quantity
            position.sold_today += quantity
            account.today.sell_amount += amount
        account.today.costs += fee + tax
        fill = Fill(order.order_no, order.account, order.ticker, order.side, quantity, price, at, fee, tax)
        self.fills.append(fill)
        self.store.stage_fill(fill)
        self.store.stage_order(order)
        self.store.stage_account(account)

    def _reserved(self, account: Account) -> int:
        return sum(o.reserved_cash for o in self.engine.open_orders()
                   if o.account == account.number and o.side is Side.BUY)

    def _total_value(self, account: Account, day: dt.date) -> int:
        value = account.cash_d2
        for ticker, pos in account.positions.items():
            if pos.quantity:
                value += pos.quantity * self.market.base_price(ticker, day)
        return value

    def buying_power(self, account: Account, ticker: str | None, price: int,
                     order_type: OrderType = OrderType.LIMIT) -> BuyingPower:
        with self.operation() as now:
            cash = account.cash_d2 - self._reserved(account)
            price_used, quantity = price, 0
            if ticker:
                quote = self._quote(ticker, now)
                if order_type.is_market or price <= 0:
                    price_used = quote.upper_limit if order_type.is_market else quote.price
                per_share = self._reserve_per_share(price_used, quote.instrument.kind)
                quantity = max(cash, 0) // per_share
            return BuyingPower(max(cash, 0), account.unsettled_sale_proceeds, price_used, quantity)

    def sellable(self, account: Account, ticker: str) -> int:
        held = account.positions.get(ticker, Position(ticker)).quantity
        pending = sum(o.remaining for o in self.engine.open_orders(ticker)
                      if o.account == account.number and o.side is Side.SELL)
        return held - pending

    # --- orders -------------------------------------------------------------------------------

    def _check_session(self, now: dt.datetime) -> Phase:
        phase = self.calendar.phase(now)
        if phase is Phase.PRE_OPEN:
            raise PaperError(errors.MARKET_NOT_OPEN)
        if phase in (Phase.POST_CLOSE, Phase.CLOSED_DAY):
            raise PaperError(errors.MARKET_CLOSED)
        return phase

    def _check_order_type(self, order_type: OrderType, side: Side, phase: Phase) -> None:
        if self.settings.profile == "paper":
            if order_type in (OrderType.PRE_OPEN_CLOSE_PRICE, OrderType.POST_CLOSE_PRICE,
                              OrderType.AFTER_HOURS_SINGLE):
                raise PaperError(errors.ORDER_TYPE, "모의투자 미지원 주문구분")
            if side is Side.SELL and order_type.is_immediate:
                raise PaperError(errors.ORDER_TYPE, "모의투자 IOC/FOK 매도 미지원")
        if not order_type_allowed(order_type, phase):
            raise PaperError(errors.ORDER_TYPE, f"{order_type.korean_name}: 현재 장운영구분에서 불가")

    def _check_price(self, order_type: OrderType, price: int, quote: Quote) -> None:
        if not order_type.needs_price:
            return
        problem = price_problem(price, quote.base_price, quote.instrument.kind)
        if problem is None:
            return
        if "tick" in problem:
            raise PaperError(errors.TICK_ERROR, problem)
        if "limits" in problem:
            raise PaperError(errors.PRICE_LIMIT, problem)
        raise PaperError(errors.BAD_INPUT, problem)

    def place_order(self, account: Account, ticker: str, side: Side, order_type: OrderType,
                    quantity: int, price: int) -> Order:
        with self.operation() as now:
            phase = self._check_session(now)
            quote = self._quote(ticker, now)
            self._check_order_type(order_type, side, phase)
            if quantity <= 0:
                raise PaperError(errors.BAD_INPUT, "주문수량은 1주 이상")
            self._check_price(order_type, price, quote)
            limit_price = price if order_type.needs_price else 0
            order = Order(order_no=self._next_order_no, account=account.number, ticker=ticker,
                          name=quote.instrument.name, kind=quote.instrument.kind, side=side,
                          order_type=order_type, quantity=quantity, price=limit_price, placed_at=now,
                          day=now.date(), org_no=self.settings.org_no, sequence=self._next_sequence)
            if side is Side.SELL:
                if quantity > self.sellable(account, ticker):
                    raise PaperError(errors.INSUFFICIENT_QTY,
                                     f"주문가능수량 {max(self.sellable(account, ticker), 0)}주")
            else:
                self._reserve_for_buy(order, account, quote)
            return self._accept(order, now, phase)

    def _reserve_for_buy(self, order: Order, account: Account, quote: Quote, freed: int = 0) -> None:
        """Buys reserve cash at the limit price, or at the upper limit for market-type and best-price
        orders, as KIS does; nothing is bought on credit. ``freed`` is what a revised order gives back."""
        order.reserve_price = order.price or quote.upper_limit
        order.reserved_cash = order.quantity * self._reserve_per_share(order.reserve_price, order.kind)
        available = account.cash_d2 - self._reserved(account) + freed
        if order.reserved_cash > available:
            raise PaperError(errors.INSUFFICIENT_CASH, f"주문가능금액 {max(available, 0):,}원")

    def _accept(self, order: Order, now: dt.datetime, phase: Phase) -> Order:
        """Number the order, record it and hand it to the matching engine."""
        self._next_order_no += 1
        self._next_sequence += 1
        self.orders[order.order_no] = order
        self.store.stage_order(order)
        self.engine.submit(order, now, continuous=phase is Phase.CONTINUOUS)
        self._release(order)
        return order

    def _open_order(self, account: Account, order_no: int) -> Order:
        order = self.orders.get(order_no)
        if order is None or order.account != account.number or not order.is_open:
            raise PaperError(errors.NOTHING_TO_REVISE, f"원주문번호 {order_no:010d}")
        return order

    def cancel_order(self, account: Account, order_no: int, quantity: int | None) -> Order:
        """Cancel all (``quantity=None``) or part of an open order; returns the cancel record."""
        with self.operation() as now:
            self._check_session(now)
            original = self._open_order(account, order_no)
            amount = original.remaining if quantity is None else min(quantity, original.remaining)
            if amount <= 0:
                raise PaperError(errors.NOTHING_TO_REVISE)
            original.cancelled_quantity += amount
            if original.remaining == 0:
                original.status = OrderStatus.CANCELLED
                self.engine.remove(original)
            self._release(original)
            record = Order(order_no=self._next_order_no, account=account.number, ticker=original.ticker,
                           name=original.name, kind=original.kind, side=original.side,
                           order_type=original.order_type, quantity=amount, price=original.price,
                           placed_at=now, day=now.date(), org_no=original.org_no,
                           original_order_no=original.order_no, action="cancel",
                           cancelled_quantity=amount, status=OrderStatus.CANCELLED)
            self._next_order_no += 1
            self.orders[record.order_no] = record
            self.store.stage_order(record)
            return record

    def revise_order(self, account: Account, order_no: int, order_type: OrderType, quantity: int | None,
                     price: int) -> Order:
        """Replace (part of) an open order's remainder with a new price/type; returns the new order."""
        with self.operation() as now:
            phase = self._check_session(now)
            original = self._open_order(account, order_no)
            amount = original.remaining if quantity is None else min(quantity, original.remaining)
            if amount <= 0:
                raise PaperError(errors.NOTHING_TO_REVISE)
            quote = self._quote(original.ticker, now)
            self._check_order_type(order_type, original.side, phase)
            self._check_price(order_type, price, quote)
            limit_price = price if order_type.needs_price else 0
            replacement = Order(order_no=self._next_order_no, account=account.number, ticker=original.ticker,
                                name=original.name, kind=original.kind, side=original.side,
                                order_type=order_type, quantity=amount, price=limit_price, placed_at=now,
                                day=now.date(), org_no=original.org_no, original_order_no=original.order_no,
                                action="revise", sequence=self._next_sequence)
            if original.side is Side.BUY:
                freed = amount * self._reserve_per_share(original.reserve_price, original.kind)
                self._reserve_for_buy(replacement, account, quote, freed)
            original.cancelled_quantity += amount
            if original.remaining == 0:
                original.status = OrderStatus.CANCELLED
                self.engine.remove(original)
            self._release(original)
            return self._accept(replacement, now, phase)

    def account_orders(self, account: Account, start: dt.date, end: dt.date) -> list[Order]:
        with self.operation():
            return [o for o in self.orders.values()
                    if o.account == account.number and start <= o.day <= end]

    def account_fills(self, account: Account, order_no: int) -> list[Fill]:
        return [f for f in self.fills if f.account == account.number and f.order_no == order_no]

    # --- views for the balance --------------------------------------------------------------

    def holdings_view(self, account: Account) -> list[tuple[Position, Quote, int]]:
        """Visible positions with their quote and sellable quantity, sorted by ticker."""
        with self.operation() as now:
            return [(pos, self._quote(ticker, now), self.sellable(account, ticker))
                    for ticker, pos in sorted(account.positions.items()) if pos.visible]
