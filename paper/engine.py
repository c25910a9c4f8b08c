"""The matching engine: price-time priority against the synthetic book and resting orders.

The market's own flow is exogenous (``paper.market``): a book around the intraday path and the
volume traded along it. Our orders trade against that book when they arrive, rest when they don't,
and fill later when the path trades through their price, up to a share of the volume traded then.
Orders also cross each other. The opening and closing call auctions clear at the day's open and
close. The engine knows nothing of cash: every execution goes to the ``on_fill`` callback, and the
exchange books it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from paper.ledger import Order, OrderStatus, Side
from paper.market import MarketData
from tools.market import InstrumentKind, OrderType, price_limits, tick_size

STEP = dt.timedelta(seconds=10)  # resolution at which resting orders meet the market's flow
PASSIVE_SHARE = 0.3  # share of the volume traded in a step that resting orders may take

FillCallback = Callable[[Order, int, int, dt.datetime], None]


@dataclass
class _Consumed:
    """Synthetic liquidity taken in the current step, so a book is not hit twice at once."""

    bucket: int = -1
    by_price: dict[int, int] = field(default_factory=dict)


class MatchingEngine:
    def __init__(self, market: MarketData, on_fill: FillCallback) -> None:
        self._market = market
        self._on_fill = on_fill
        self._orders: dict[str, list[Order]] = {}  # open orders by ticker
        self._consumed: dict[str, _Consumed] = {}

    # --- book keeping -----------------------------------------------------------------------

    def add_resting(self, order: Order) -> None:
        """Register an open order (used when loading state after a restart)."""
        if order.is_open:
            self._orders.setdefault(order.ticker, []).append(order)

    def remove(self, order: Order) -> None:
        orders = self._orders.get(order.ticker, [])
        if order in orders:
            orders.remove(order)

    def open_orders(self, ticker: str | None = None) -> list[Order]:
        if ticker is not None:
            return [o for o in self._orders.get(ticker, []) if o.is_open]
        return [o for orders in self._orders.values() for o in orders if o.is_open]

    def _limits(self, ticker: str, kind: InstrumentKind, day: dt.date) -> tuple[int, int]:
        return price_limits(self._market.base_price(ticker, day), kind)

    # --- arrival ------------------------------------------------------------------------------

    def submit(self, order: Order, now: dt.datetime, continuous: bool) -> None:
        """Take a newly accepted order: match it now if the market is continuous, else queue it."""
        if continuous:
            self._price_on_arrival(order, now)
            self._match_on_arrival(order, now)
        if order.is_open:
            self._orders.setdefault(order.ticker, []).append(order)

    def _price_on_arrival(self, order: Order, now: dt.datetime) -> None:
        """최유리 takes the opposite best quote, 최우선 the own side's; market orders stay at 0."""
        if not (order.order_type.is_best_counter or order.order_type is OrderType.BEST_OWN):
            return
        bids, asks = self._market.path(order.ticker, order.day).book(now)
        counter = asks if order.side is Side.BUY else bids
        own = bids if order.side is Side.BUY else asks
        levels = counter if order.order_type.is_best_counter else own
        if levels:
            order.price = levels[0][0]
        else:  # an empty book: fall back to the last price
            order.price = self._market.path(order.ticker, order.day).last_price(now)

    def _walk_limit(self, order: Order) -> int:
        """The worst price the order accepts while walking the book."""
        if order.order_type.is_market or order.price == 0:
            lower, upper = self._limits(order.ticker, order.kind, order.day)
            return upper if order.side is Side.BUY else lower
        return order.price

    def _match_on_arrival(self, order: Order, now: dt.datetime) -> None:
        limit = self._walk_limit(order)
        path = self._market.path(order.ticker, order.day)
        bids, asks = path.book(now)
        consumed = self._consumed_for(order.ticker, int(now.timestamp() // STEP.total_seconds()))
        synthetic = asks if order.side is Side.BUY else bids
        is_buy = order.side is Side.BUY

        def acceptable(price: int) -> bool:
            return price <= limit if is_buy else price >= limit

        # Liquidity in priority order: better price first; at one price the market's own
        # quotes were there before us, then our resting orders by time.
        liquidity: list[tuple[int, int, int, Order | None]] = []
        for price, qty in synthetic:
            available = qty - consumed.by_price.get(price, 0)
            if available > 0 and acceptable(price):
                liquidity.append((price, 0, available, None))
        for resting in self._orders.get(order.ticker, []):
            if resting.side is not order.side and resting.is_open and resting.price > 0 \
                    and not resting.in_closing_auction and acceptable(resting.price):
                liquidity.append((resting.price, 1 + resting.sequence, resting.remaining, resting))
        liquidity.sort(key=lambda row: (row[0] if is_buy else -row[0], row[1]))

        if order.order_type.is_fill_or_kill and sum(row[2] for row in liquidity) < order.remaining:
            order.cancelled_quantity += order.remaining
            order.status = OrderStatus.CANCELLED
            return
        for price, _, available, resting in liquidity:
            if order.remaining <= 0:
                break
            take = min(order.remaining, available)
            if resting is None:
                consumed.by_price[price] = consumed.by_price.get(price, 0) + take
            else:
                self._execute(resting, take, price, now)
            self._execute(order, take, price, now)
        if order.is_open and order.order_type.is_immediate:
            order.cancelled_quantity += order.remaining
            order.status = OrderStatus.CANCELLED

    def _consumed_for(self, ticker: str, bucket: int) -> _Consumed:
        consumed = self._consumed.setdefault(ticker, _Consumed())
        if consumed.bucket != bucket:
            consumed.bucket, consumed.by_price = bucket, {}
        return consumed

    def _execute(self, order: Order, quantity: int, price: int, at: dt.datetime) -> None:
        order.filled_quantity += quantity
        order.filled_amount += quantity * price
        if order.remaining == 0 and order.status is OrderStatus.OPEN:
            order.status = OrderStatus.FILLED
            self.remove(order)
        self._on_fill(order, quantity, price, at)

    # --- the market's flow over time ----------------------------------------------------------

    def run_continuous(self, start: dt.datetime, end: dt.datetime) -> None:
        """Let resting orders meet the market's trades over (start, end]."""
        for ticker, orders in list(self._orders.items()):
            live = [o for o in orders if o.is_open and not o.in_closing_auction and o.placed_at < end]
            if not live:
                continue
            day, kind = live[0].day, live[0].kind
            path = self._market.path(ticker, day)
            moment = start
            while moment < end:
                step_end = min(moment + STEP, end)
                self._meet_flow(ticker, kind, path, moment, step_end)
                moment = step_end

    def _meet_flow(self, ticker: str, kind: InstrumentKind, path, t0: dt.datetime, t1: dt.datetime) -> None:
        volume = path.volume_between(t0, t1)
        if volume <= 0:
            return
        span = path.range_between(t0, t1)
        low, high = span.low, span.high
        bid_now = path.last_price(t1)
        ask_now = bid_now + tick_size(bid_now, kind)
        for side in (Side.BUY, Side.SELL):
            available = max(1, int(volume * PASSIVE_SHARE))
            candidates = [o for o in self._orders.get(ticker, [])
                          if o.side is side and o.is_open and not o.in_closing_auction and o.placed_at < t1]
            if side is Side.BUY:
                candidates.sort(key=lambda o: (0 if o.price == 0 else 1, -o.price, o.sequence))
            else:
                candidates.sort(key=lambda o: (0 if o.price == 0 else 1, o.price, o.sequence))
            for order in candidates:
                if available <= 0:
                    break
                if order.price == 0:  # a market remainder takes the current quote
                    price = ask_now if side is Side.BUY else bid_now
                elif side is Side.BUY and low < order.price:
                    price = min(order.price, ask_now)
                elif side is Side.SELL and high >= order.price:
                    price = max(order.price, bid_now)
                else:
                    continue
                take = min(order.remaining, available)
                available -= take
                self._execute(order, take, price, t1)

    # --- session events -----------------------------------------------------------------------

    def uncross(self, day: dt.date, at: dt.datetime, *, closing: bool) -> None:
        """Clear the call auction of every ticker at the day's open (or close) price."""
        for ticker in list(self._orders):
            orders = [o for o in self._orders.get(ticker, []) if o.is_open and o.day == day]
            if not orders:
                continue
            bar = self._market.bar(ticker, day)
            price = bar.close if closing else bar.open
            path = self._market.path(ticker, day)
            market_volume = path.closing_volume if closing else path.opening_volume

            def executable(o: Order, p: int = price) -> bool:
                if o.price == 0 or o.in_closing_auction:
                    return True
                return o.price >= p if o.side is Side.BUY else o.price <= p

            buys = sorted((o for o in orders if o.side is Side.BUY and executable(o)),
                          key=lambda o: (0 if o.price == 0 or o.in_closing_auction else 1, -o.price, o.sequence))
            sells = sorted((o for o in orders if o.side is Side.SELL and executable(o)),
                           key=lambda o: (0 if o.price == 0 or o.in_closing_auction else 1, o.price, o.sequence))
            buy_cap = market_volume + sum(o.remaining for o in sells)
            sell_cap = market_volume + sum(o.remaining for o in buys)
            for side_orders, cap in ((buys, buy_cap), (sells, sell_cap)):
                for order in side_orders:
                    if cap <= 0:
                        break
                    take = min(order.remaining, cap)
                    cap -= take
                    self._execute(order, take, price, at)

    def convert_conditional(self, day: dt.date) -> None:
        """At 15:20 a conditional limit's remainder becomes a market order in the closing auction."""
        for order in self.open_orders():
            if order.day == day and order.order_type is OrderType.CONDITIONAL_LIMIT:
                order.in_closing_auction = True

    def expire(self, day: dt.date) -> list[Order]:
        """Day orders still open after the close lapse; returns them so reservations are released."""
        expired: list[Order] = []
        for order in self.open_orders():
            if order.day <= day:
                order.cancelled_quantity += order.remaining
                order.status = OrderStatus.EXPIRED
                expired.append(order)
                self.remove(order)
        return expired
