"""KRX market rules: instrument kinds, tick sizes, daily price limits, order types, sessions, calendar.

Pure functions over integers (KRW). Shared by the paper exchange, the rebalancing core and the
backtester, so every part of Rebal agrees on what a valid price or a valid order type is.
The KRX calendar comes from exchange-calendars, imported lazily (it costs ~1 s on first use).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

KST = ZoneInfo("Asia/Seoul")


class InstrumentKind(StrEnum):
    STOCK = "stock"
    ETF = "etf"
    ETN = "etn"
    ELW = "elw"


# --- tickers ---------------------------------------------------------------------------------

# ASCII digits only, the whole string: "069500\n" (a trailing newline) and full-width "０６９５００"
# are not tickers.
_TICKER = re.compile(r"(?:[0-9]{6}|Q[0-9]{6})")


def is_valid_ticker(ticker: str) -> bool:
    """A 6-digit KRX short code, or an ETN code: ``Q`` followed by 6 digits."""
    return isinstance(ticker, str) and _TICKER.fullmatch(ticker) is not None


# Brands of KRX-listed ETFs. ETF names are "<brand> <underlying>", so the whole first word must
# match: a prefix test would call stocks such as "BNK금융지주" or "HK이노엔" ETFs.
ETF_BRANDS = frozenset({
    "KODEX", "TIGER", "KOSEF", "KIWOOM", "ACE", "KINDEX", "SOL", "RISE", "KBSTAR", "PLUS", "HANARO",
    "ARIRANG", "TIMEFOLIO", "KOACT", "WON", "BNK", "UNICORN", "FOCUS", "TREX", "TRUSTON", "HK", "1Q",
    "마이다스", "에셋플러스", "파워",
})


def kind_from_name(name: str) -> InstrumentKind:
    """ETF when the name's first word is an ETF brand (``KODEX 200``), otherwise a stock."""
    words = name.split()
    return InstrumentKind.ETF if words and words[0].upper() in ETF_BRANDS else InstrumentKind.STOCK



# --- tick sizes (호가가격단위, since 2023-01-25) ------------------------------------------------

# (lower bound of band, tick) for stocks, ascending. ETF/ETN/ELW use 5 KRW at every level.
_STOCK_TICKS: tuple[tuple[int, int], ...] = (
    (0, 1),
    (2_000, 5),
    (5_000, 10),
    (20_000, 50),
    (50_000, 100),
    (200_000, 500),
    (500_000, 1_000),
)
FUND_TICK = 5


def tick_size(price: int, kind: InstrumentKind = InstrumentKind.STOCK) -> int:
    """The tick that applies at ``price`` (the band the price lies in)."""
    if kind is not InstrumentKind.STOCK:
        return FUND_TICK
    tick = 1
    for lower, band_tick in _STOCK_TICKS:
        if price >= lower:
            tick = band_tick
    return tick


def is_on_tick(price: int, kind: InstrumentKind = InstrumentKind.STOCK) -> bool:
    return price > 0 and price % tick_size(price, kind) == 0


def round_to_tick(price: float, kind: InstrumentKind = InstrumentKind.STOCK, *, up: bool = False) -> int:
    """The nearest grid price at or below ``price`` (at or above with ``up=True``); at least one tick."""
    floor_price = int(price)
    tick = tick_size(floor_price, kind)
    down = floor_price - floor_price % tick
    if up and down < price:
        result = down + tick
        # Crossing into a coarser band: the next grid price is the band's lower bound or above.
        return result if is_on_tick(result, kind) else round_to_tick(result, kind, up=True)
    return max(down, tick_size(1, kind))


def shift_ticks(price: int, n: int, kind: InstrumentKind = InstrumentKind.STOCK) -> int:
    """Move ``n`` ticks up (n > 0) or down (n < 0) along the grid, crossing band boundaries."""
    if not is_on_tick(price, kind):
        raise ValueError(f"price {price} is not on the tick grid")
    for _ in range(abs(n)):
        if n > 0:
            price += tick_size(price, kind)
        else:
            # A step down uses the tick of the band just below the price.
            price -= tick_size(price - 1, kind) if price > 1 else 0
    return max(price, 1)


def ticks_between(low: int, high: int, kind: InstrumentKind = InstrumentKind.STOCK) -> int:
    """Number of grid steps from ``low`` up to ``high`` (both on the grid, low <= high)."""
    steps = 0
    price = low
    while price < high:
        price += tick_size(price, kind)
        steps += 1
    return steps


# --- daily price limits (가격제한폭) ------------------------------------------------------------

PRICE_LIMIT_PCT = 30


def price_limits(base_price: int, kind: InstrumentKind = InstrumentKind.STOCK) -> tuple[int, int]:
    """(lower, upper) limit for a day whose base price (기준가, normally the previous close) is given.

    ±30% of the base price, truncated toward the base onto the tick grid: the upper limit is the
    highest grid price at or below base × 1.3, the lower limit the lowest at or above base × 0.7.
    """
    upper_raw = base_price * (100 + PRICE_LIMIT_PCT) / 100
    lower_raw = base_price * (100 - PRICE_LIMIT_PCT) / 100
    upper = round_to_tick(upper_raw, kind)
    lower = round_to_tick(lower_raw, kind, up=True)
    return lower, upper


def price_problem(price: int, base_price: int, kind: InstrumentKind) -> str | None:
    """Why a limit price is not acceptable for the day, or None when it is."""
    if price <= 0:
        return "price must be positive"
    if not is_on_tick(price, kind):
        return f"price {price:,} is off the tick grid (tick {tick_size(price, kind)} KRW)"
    lower, upper = price_limits(base_price, kind)
    if not lower <= price <= upper:
        return f"price {price:,} is outside today's limits {lower:,}–{upper:,}"
    return None


# --- costs ----------------------------------------------------------------------------------

# Commission as a fraction of notional (KIS non-face-to-face rates), sell tax on stocks only.
DEFAULT_COMMISSION = {InstrumentKind.STOCK: 0.000141, InstrumentKind.ETF: 0.000147,
                      InstrumentKind.ETN: 0.000147, InstrumentKind.ELW: 0.000147}
STOCK_SELL_TAX = 0.0020


def commission(notional: int, rate: float) -> int:
    """Commission in whole KRW; brokers truncate below one won."""
    return int(notional * rate)


def sell_tax(notional: int, kind: InstrumentKind, rate: float = STOCK_SELL_TAX) -> int:
    return int(notional * rate) if kind is InstrumentKind.STOCK else 0


# --- order types (ORD_DVSN) -------------------------------------------------------------------


class OrderType(StrEnum):
    LIMIT = "00"  # 지정가
    MARKET = "01"  # 시장가
    CONDITIONAL_LIMIT = "02"  # 조건부지정가: limit, remainder goes to the closing auction at market
    BEST_COUNTER = "03"  # 최유리지정가: priced at the opposite best quote
    BEST_OWN = "04"  # 최우선지정가: priced at the own side's best quote
    PRE_OPEN_CLOSE_PRICE = "05"  # 장전 시간외
    POST_CLOSE_PRICE = "06"  # 장후 시간외
    AFTER_HOURS_SINGLE = "07"  # 시간외 단일가
    IOC_LIMIT = "11"
    FOK_LIMIT = "12"
    IOC_MARKET = "13"
    FOK_MARKET = "14"
    IOC_BEST = "15"
    FOK_BEST = "16"

    @property
    def korean_name(self) -> str:
        return _ORDER_TYPE_NAMES[self]

    @property
    def english_name(self) -> str:
        return {
            OrderType.LIMIT: "limit",
            OrderType.MARKET: "market",
            OrderType.CONDITIONAL_LIMIT: "conditional limit",
            OrderType.BEST_COUNTER: "best counter",
            OrderType.BEST_OWN: "best own",
            OrderType.PRE_OPEN_CLOSE_PRICE: "pre-open at the close price",
            OrderType.POST_CLOSE_PRICE: "post-close at the close price",
            OrderType.AFTER_HOURS_SINGLE: "after-hours single price",
            OrderType.IOC_LIMIT: "IOC limit",
            OrderType.FOK_LIMIT: "FOK limit",
            OrderType.IOC_MARKET: "IOC market",
            OrderType.FOK_MARKET: "FOK market",
            OrderType.IOC_BEST: "IOC best",
            OrderType.FOK_BEST: "FOK best",
        }[self]

    @property
    def needs_price(self) -> bool:
        return self in (OrderType.LIMIT, OrderType.CONDITIONAL_LIMIT, OrderType.IOC_LIMIT, OrderType.FOK_LIMIT)

    @property
    def is_market(self) -> bool:
        return self in (OrderType.MARKET, OrderType.IOC_MARKET, OrderType.FOK_MARKET)

    @property
    def is_best_counter(self) -> bool:
        return self in (OrderType.BEST_COUNTER, OrderType.IOC_BEST, OrderType.FOK_BEST)

    @property
    def is_immediate(self) -> bool:
        """IOC or FOK: never rests on the book."""
        return self.value in ("11", "12", "13", "14", "15", "16")

    @property
    def is_fill_or_kill(self) -> bool:
        return self.value in ("12", "14", "16")


_ORDER_TYPE_NAMES = {
    OrderType.LIMIT: "지정가",
    OrderType.MARKET: "시장가",
    OrderType.CONDITIONAL_LIMIT: "조건부지정가",
    OrderType.BEST_COUNTER: "최유리지정가",
    OrderType.BEST_OWN: "최우선지정가",
    OrderType.PRE_OPEN_CLOSE_PRICE: "장전시간외",
    OrderType.POST_CLOSE_PRICE: "장후시간외",
    OrderType.AFTER_HOURS_SINGLE: "시간외단일가",
    OrderType.IOC_LIMIT: "IOC지정가",
    OrderType.FOK_LIMIT: "FOK지정가",
    OrderType.IOC_MARKET: "IOC시장가",
    OrderType.FOK_MARKET: "FOK시장가",
    OrderType.IOC_BEST: "IOC최유리",
    OrderType.FOK_BEST: "FOK최유리",
}


# --- sessions ---------------------------------------------------------------------------------


class Phase(StrEnum):
    """Where a moment falls in the KRX regular session."""

    CLOSED_DAY = "closed_day"  # weekend or holiday
    PRE_OPEN = "pre_open"  # before the opening auction accepts orders
    OPENING_AUCTION = "opening_auction"  # 08:30–09:00 call auction, single price at the open
    CONTINUOUS = "continuous"  # 09:00–15:20 price-time priority
    CLOSING_AUCTION = "closing_auction"  # 15:20–15:30 call auction, single price at the close
    POST_CLOSE = "post_close"  # after the close


AUCTION_LEAD = dt.timedelta(minutes=30)
CLOSING_AUCTION_LENGTH = dt.timedelta(minutes=10)

_CONTINUOUS_TYPES = frozenset(OrderType) - {
    OrderType.PRE_OPEN_CLOSE_PRICE, OrderType.POST_CLOSE_PRICE, OrderType.AFTER_HOURS_SINGLE}
# 최유리/최우선 and IOC/FOK cannot be entered into a single-price call auction.
_AUCTION_TYPES = frozenset({OrderType.LIMIT, OrderType.MARKET, OrderType.CONDITIONAL_LIMIT})


def order_type_allowed(order_type: OrderType, phase: Phase) -> bool:
    if phase is Phase.CONTINUOUS:
        return order_type in _CONTINUOUS_TYPES
    if phase in (Phase.OPENING_AUCTION, Phase.CLOSING_AUCTION):
        return order_type in _AUCTION_TYPES
    return False


class KrxCalendar:
    """KRX sessions from exchange-calendars' XKRX, with known gaps in that data patched.

    Beyond the library's range, weekdays are treated as sessions (09:00–15:30) so simulated
    clocks and random walks can run into any future date.
    """

    # Closures missing from exchange-calendars 4.13 (see shared docs: dependencies §11).
    EXTRA_CLOSURES = frozenset({dt.date(2026, 6, 3)})  # 2026 local-election day

    def __init__(self, start: str = "2000-01-04", end: str = "2028-12-29") -> None:
        sessions, hours = _load_sessions(start, end)
        self._sessions = [d for d in sessions if d not in self.EXTRA_CLOSURES]
        self._first, self._last = sessions[0], sessions[-1]
        self._session_set = frozenset(self._sessions)
        self._hours = hours

    def _in_range(self, day: dt.date) -> bool:
        return self._first <= day <= self._last

    def is_session(self, day: dt.date) -> bool:
        if self._in_range(day):
            return day in self._session_set
        return day.weekday() < 5

    def hours(self, day: dt.date) -> tuple[dt.time, dt.time]:
        """(open, close) in KST for a session day."""
        return self._hours.get(day, (dt.time(9, 0), dt.time(15, 30)))

    def next_session(self, day: dt.date, *, include: bool = False) -> dt.date:
        candidate = day if include else day + dt.timedelta(days=1)
        while not self.is_session(candidate):
            candidate += dt.timedelta(days=1)
        return candidate

    def previous_session(self, day: dt.date, *, include: bool = False) -> dt.date:
        candidate = day if include else day - dt.timedelta(days=1)
        while not self.is_session(candidate):
            candidate -= dt.timedelta(days=1)
        return candidate

    def sessions_between(self, start: dt.date, end: dt.date) -> list[dt.date]:
        """Sessions from ``start`` to ``end`` inclusive."""
        out: list[dt.date] = []
        day = self.next_session(start, include=True)
        while day <= end:
            out.append(day)
            day = self.next_session(day)
        return out

    def add_sessions(self, day: dt.date, n: int) -> dt.date:
        """The session ``n`` sessions after ``day`` (which must be a session); D+2 settlement."""
        for _ in range(n):
            day = self.next_session(day)
        return day

    def phase(self, moment: dt.datetime) -> Phase:
        local = moment.astimezone(KST)
        day = local.date()
        if not self.is_session(day):
            return Phase.CLOSED_DAY
        open_t, close_t = self.hours(day)
        opening = dt.datetime.combine(day, open_t, KST)
        closing = dt.datetime.combine(day, close_t, KST)
        if local < opening - AUCTION_LEAD:
            return Phase.PRE_OPEN
        if local < opening:
            return Phase.OPENING_AUCTION
        if local < closing - CLOSING_AUCTION_LENGTH:
            return Phase.CONTINUOUS
        if local < closing:
            return Phase.CLOSING_AUCTION
        return Phase.POST_CLOSE

    def session_bounds(self, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
        open_t, close_t = self.hours(day)
        return dt.datetime.combine(day, open_t, KST), dt.datetime.combine(day, close_t, KST)


def _cache_file(start: str, end: str) -> Path:
    from importlib.metadata import version

    root = Path(os.environ.get("REBAL_CACHE_DIR") or Path.home() / ".cache" / "rebal")
    return root / f"xkrx-{version('exchange-calendars')}-{start}-{end}.json"


def _load_sessions(start: str, end: str) -> tuple[list[dt.date], dict[dt.date, tuple[dt.time, dt.time]]]:
    """Sessions and their hours from exchange-calendars, cached on disk per library version.

    Building the XKRX calendar computes decades of lunar holidays (~3 s); the cache makes every
    later process start at once. A damaged cache file is ignored and rebuilt.
    """
    path = _cache_file(start, end)
    try:
        raw = json.loads(path.read_text())
        sessions = [dt.date.fromisoformat(d) for d in raw["sessions"]]
        hours = {dt.date.fromisoformat(d): (dt.time.fromisoformat(o), dt.time.fromisoformat(c))
                 for d, (o, c) in raw["special_hours"].items()}
        for day in sessions:
            hours.setdefault(day, (dt.time(9, 0), dt.time(15, 30)))
        return sessions, hours
    except (OSError, ValueError, KeyError, TypeError):
        pass
    import warnings

    import exchange_calendars as xcals  # heavy: loaded only when the cache is cold

    with warnings.catch_warnings():
        # exchange-calendars 4.13 trips a pandas 3.1 deprecation inside its own constructor.
        warnings.filterwarnings("ignore", message="Series.values returning an ndarray")
        calendar = xcals.get_calendar("XKRX", start=start, end=end)
    schedule = calendar.schedule
    sessions = [s.date() for s in calendar.sessions]
    hours = {s.date(): (o.tz_convert(KST).time(), c.tz_convert(KST).time())
             for s, o, c in zip(calendar.sessions, schedule["open"], schedule["close"], strict=True)}
    special = {d.isoformat(): [o.isoformat(), c.isoformat()] for d, (o, c) in hours.items()
               if (o, c) != (dt.time(9, 0), dt.time(15, 30))}
    try:
        from tools.private import write_private_text

        write_private_text(path, json.dumps({"sessions": [d.isoformat() for d in sessions],
                                             "special_hours": special}))
    except OSError:
        pass  # a read-only home still works, just without the cache
    return sessions, hours


@lru_cache(maxsize=1)
def krx_calendar() -> KrxCalendar:
    """The process-wide KRX calendar (first build ~3 s, then read from the disk cache)."""
    return KrxCalendar()
