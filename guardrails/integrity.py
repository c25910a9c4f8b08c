"""Plan integrity: the plan and its orders match the trade list exactly, and stay in the allow-lists."""

from __future__ import annotations

from collections import Counter, defaultdict

from guardrails.models import GuardrailContext, RuleResult
from guardrails.registry import missing, rule, verdict
from tools.plan import PRICED_ORDER_TYPES, Order, limit_price


def _listed(problems: list[str]) -> str:
    return "; ".join(problems[:6]) + (f"; … {len(problems) - 6} more" if len(problems) > 6 else "")


def _orders_by_trade(orders: tuple[Order, ...]) -> dict[str, list[Order]]:
    grouped: dict[str, list[Order]] = defaultdict(list)
    for order in orders:
        grouped[order.trade_id].append(order)
    return grouped


@rule("plan.coverage")
def coverage(ctx: GuardrailContext) -> RuleResult:
    """The plan has exactly one choice per trade id; the orders cover exactly the trades with
    the same tickers, sides and total quantities."""
    if ctx.plan is None or ctx.orders is None:
        return missing("plan.coverage", "execution plan and orders")
    trades = {t.trade_id: t for t in ctx.trades}
    problems = []
    chosen = Counter(c.trade_id for c in ctx.plan.choices)
    problems += [f"plan has {n} choices for {t}" for t, n in sorted(chosen.items()) if n > 1]
    problems += [f"plan misses trade {t}" for t in trades if t not in chosen]
    problems += [f"plan has unknown trade {t}" for t in sorted(chosen) if t not in trades]
    grouped = _orders_by_trade(ctx.orders)
    problems += [f"orders for unknown trade {t}" for t in sorted(grouped) if t not in trades]
    for trade_id, trade in trades.items():
        orders = grouped.get(trade_id, [])
        if not orders:
            problems.append(f"no orders for trade {trade_id}")
            continue
        for order in orders:
            if order.ticker != trade.ticker:
                problems.append(f"{order.order_id} ticker {order.ticker} ≠ trade's {trade.ticker}")
            if order.side != trade.side:
                problems.append(f"{order.order_id} side {order.side} ≠ trade's {trade.side}")
        total = sum(o.quantity for o in orders)
        if total != trade.quantity:
            problems.append(f"{trade_id} orders total {total} ≠ trade quantity {trade.quantity}")
    message = (f"plan and {len(ctx.orders)} order(s) cover exactly the {len(trades)} trade(s)" if not problems
               else f"{len(problems)} coverage problem(s): {_listed(problems)}")
    return verdict("plan.coverage", not problems, message, trades=len(trades), choices=len(ctx.plan.choices),
                   orders=len(ctx.orders), problems=problems)


@rule("plan.slices")
def slices(ctx: GuardrailContext) -> RuleResult:
    """Each trade's slices are numbered 1..k, k within the plan's slice count, every slice
    positive, and the slices sum to the trade quantity."""
    if ctx.plan is None or ctx.orders is None:
        return missing("plan.slices", "execution plan and orders")
    grouped = _orders_by_trade(ctx.orders)
    problems = []
    for trade in ctx.trades:
        orders = grouped.get(trade.trade_id, [])
        if not orders:
            continue  # reported by plan.coverage
        count = len(orders)
        numbers = sorted(o.slice_no for o in orders)
        if numbers != list(range(1, count + 1)):
            problems.append(f"{trade.trade_id} slice numbers {numbers} are not 1..{count}")
        if any(o.slice_count != count for o in orders):
            problems.append(f"{trade.trade_id} slice counts disagree with {count} slices")
        choice = ctx.plan.choice_for(trade.trade_id)
        if choice is not None and count > choice.slices:
            problems.append(f"{trade.trade_id} has {count} slices, plan allows {choice.slices}")
        if any(o.quantity <= 0 for o in orders):
            problems.append(f"{trade.trade_id} has a slice of zero or fewer shares")
        total = sum(o.quantity for o in orders)
        if total != trade.quantity:
            problems.append(f"{trade.trade_id} slices sum to {total}, trade is {trade.quantity}")
    message = ("slices consistent for every trade" if not problems
               else f"{len(problems)} slice problem(s): {_listed(problems)}")
    return verdict("plan.slices", not problems, message, problems=problems)


@rule("plan.allow_list")
def allow_list(ctx: GuardrailContext) -> RuleResult:
    """Every choice comes from the configured allow-lists and bounds, and every order carries
    the order type, schedule and (for priced types) the limit price its trade's choice implies."""
    if ctx.plan is None or ctx.orders is None:
        return missing("plan.allow_list", "execution plan and orders")
    limits = ctx.limits
    problems = []
    for choice in ctx.plan.choices:
        where = choice.trade_id
        if choice.order_type not in limits.allowed_order_types:
            problems.append(f"{where} order type {choice.order_type} not allowed")
        if choice.order_type in PRICED_ORDER_TYPES and choice.price_rule not in limits.allowed_price_rules:
            problems.append(f"{where} price rule {choice.price_rule} not allowed")
        if abs(choice.offset_ticks) > limits.max_offset_ticks:
            problems.append(f"{where} offset {choice.offset_ticks} ticks beyond ±{limits.max_offset_ticks}")
        if not 1 <= choice.slices <= limits.max_slices:
            problems.append(f"{where} {choice.slices} slices outside 1..{limits.max_slices}")
        if choice.schedule not in limits.allowed_schedules:
            problems.append(f"{where} schedule {choice.schedule} not allowed")
        if len(choice.rationale) > limits.max_rationale:
            problems.append(f"{where} rationale longer than {limits.max_rationale} characters")
    for order in ctx.orders:
        choice = ctx.plan.choice_for(order.trade_id)
        if choice is None:
            continue  # reported by plan.coverage
        if order.order_type.value != choice.order_type:
            problems.append(f"{order.order_id} order type {order.order_type.value} ≠ plan's {choice.order_type}")
        if order.schedule != choice.schedule:
            problems.append(f"{order.order_id} schedule {order.schedule} ≠ plan's {choice.schedule}")
        quote = ctx.quotes.get(order.ticker)
        if choice.order_type in PRICED_ORDER_TYPES and quote is not None and choice.price_rule is not None:
            expected = limit_price(choice, order.side, quote)
            if order.limit_price != expected:
                problems.append(f"{order.order_id} price {order.limit_price} ≠ {expected} from the plan's "
                                f"{choice.price_rule}{choice.offset_ticks:+d} ticks")
    message = (f"all {len(ctx.plan.choices)} choice(s) within the allow-lists" if not problems
               else f"{len(problems)} allow-list problem(s): {_listed(problems)}")
    return verdict("plan.allow_list", not problems, message, problems=problems)
