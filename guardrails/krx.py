"""KRX rules over the concrete orders: quantities, sellable shares, tick grid, price limits, session."""

from __future__ import annotations

from collections import defaultdict

from guardrails.feasibility import context_timetable
from guardrails.models import GuardrailContext, RuleResult
from guardrails.registry import missing, rule, verdict
from tools.market import Phase, is_on_tick, order_type_allowed, price_limits, tick_size
from tools.schedule import clock

# Without a timetable: the session phase each schedule places its orders in ("now": the context's phase).
_SCHEDULE_PHASE = {"twap": Phase.CONTINUOUS, "closing_auction": Phase.CLOSING_AUCTION}


def _problems_message(what: str, problems: list[str], ok: str) -> str:
    if not problems:
        return ok
    shown = "; ".join(problems[:5]) + (f"; … {len(problems) - 5} more" if len(problems) > 5 else "")
    return f"{len(problems)} {what}: {shown}"


@rule("krx.whole_quantity")
def whole_quantity(ctx: GuardrailContext) -> RuleResult:
    """Every order is for a whole, positive number of shares (KRX lot size is one share)."""
    if ctx.orders is None:
        return missing("krx.whole_quantity", "orders")
    bad = [f"{o.order_id} quantity {o.quantity!r}" for o in ctx.orders
           if isinstance(o.quantity, bool) or not isinstance(o.quantity, int) or o.quantity <= 0]
    message = _problems_message("order(s) without a whole positive quantity", bad,
                                f"all {len(ctx.orders)} order quantities are whole and positive")
    return verdict("krx.whole_quantity", not bad, message, orders=len(ctx.orders), bad=bad)


@rule("krx.sellable")
def sellable(ctx: GuardrailContext) -> RuleResult:
    """Sell orders per ticker do not exceed the sellable quantity (no short sale)."""
    if ctx.orders is None:
        return missing("krx.sellable", "orders")
    selling: dict[str, int] = defaultdict(int)
    for order in ctx.orders:
        if order.side == "sell":
            selling[order.ticker] += order.quantity
    over = {t: {"sell": q, "sellable": ctx.snapshot.sellable_of(t)}
            for t, q in sorted(selling.items()) if q > ctx.snapshot.sellable_of(t)}
    problems = [f"{t} sells {v['sell']} > sellable {v['sellable']}" for t, v in over.items()]
    message = _problems_message("ticker(s) oversold", problems,
                                f"sells within sellable quantity for {len(selling)} ticker(s)")
    return verdict("krx.sellable", not over, message, over=over)


@rule("krx.tick")
def tick(ctx: GuardrailContext) -> RuleResult:
    """Priced orders sit on the tick grid; market/best-price orders carry no price."""
    if ctx.orders is None:
        return missing("krx.tick", "orders")
    problems = []
    for order in ctx.orders:
        if order.order_type.needs_price:
            if order.limit_price is None:
                problems.append(f"{order.order_id} ({order.order_type.value}) has no limit price")
            elif not is_on_tick(order.limit_price, order.kind):
                problems.append(f"{order.order_id} price {order.limit_price:,} is off the grid "
                                f"(tick {tick_size(order.limit_price, order.kind)})")
        elif order.limit_price is not None:
            problems.append(f"{order.order_id} ({order.order_type.value}) must not carry a price")
    message = _problems_message("order price problem(s)", problems, "all order prices on the tick grid")
    return verdict("krx.tick", not problems, message, problems=problems)


@rule("krx.price_limit")
def price_limit(ctx: GuardrailContext) -> RuleResult:
    """Limit prices inside the day's ±30 % limits around the base price (기준가)."""
    if ctx.orders is None:
        return missing("krx.price_limit", "orders")
    problems = []
    checked = 0
    for order in ctx.orders:
        if order.limit_price is None:
            continue
        quote = ctx.quotes.get(order.ticker)
        if quote is None:
            problems.append(f"{order.order_id}: no base price for {order.ticker}")
            continue
        checked += 1
        lower, upper = price_limits(quote.base_price, order.kind)
        if not lower <= order.limit_price <= upper:
            problems.append(f"{order.order_id} price {order.limit_price:,} outside {lower:,}–{upper:,}")
    message = _problems_message("price(s) outside the daily limits", problems,
                                f"{checked} limit price(s) inside the daily limits")
    return verdict("krx.price_limit", not problems, message, checked=checked, problems=problems)


@rule("krx.order_type_session")
def order_type_session(ctx: GuardrailContext) -> RuleResult:
    """Each order type is accepted in the session phase the order will really be sent in: its
    slice's phase in the timetable (a "now" buy after the sells may go out in the closing auction).
    Slices the timetable cannot send today are left to ``schedule.fits_session``/``buys_after_sells``.
    Without the timetable's inputs, "now" means the context's phase."""
    if ctx.orders is None:
        return missing("krx.order_type_session", "orders")
    table = context_timetable(ctx)
    problems = []
    after_close = []
    for order in ctx.orders:
        sent = ""
        if table is not None:
            try:
                slice_time = table.time_of(order.order_id)
            except KeyError:  # nothing is scheduled today (the market is closed)
                after_close.append(order.order_id)
                continue
            phase: Phase | None = slice_time.phase
            if phase in (Phase.POST_CLOSE, Phase.CLOSED_DAY):  # not a matter of its type: schedule.* refuse it
                after_close.append(order.order_id)
                continue
            sent = f" (sent {clock(slice_time.send_at)})"
        else:
            phase = _SCHEDULE_PHASE.get(order.schedule, ctx.phase)
        if phase is None:
            problems.append(f"{order.order_id}: session phase unknown for schedule {order.schedule!r}")
        elif not order_type_allowed(order.order_type, phase):
            problems.append(f"{order.order_id}: {order.order_type.value} {order.order_type.korean_name} "
                            f"not accepted in {phase.value}{sent}")
    checked = len(ctx.orders) - len(after_close)
    ok = f"all {checked} order types valid for their session" + (
        f"; {len(after_close)} slice(s) not sent today (see schedule.fits_session)" if after_close else "")
    message = _problems_message("order type(s) invalid for the session", problems, ok)
    return verdict("krx.order_type_session", not problems, message, phase=ctx.phase.value if ctx.phase else None,
                   timetable=table is not None, problems=problems, not_sent_today=after_close)
