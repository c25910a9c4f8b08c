"""Money rules: cash flow over the orders, post-trade weights and abnormal trade size over the trades."""

from __future__ import annotations

from guardrails.models import GuardrailContext, RuleResult
from guardrails.registry import missing, rule, verdict
from tools.plan import Order


def _order_price_note(order: Order, price: int) -> str:
    return f"{order.trade_id} as {order.order_type.value} at {price:,} (reference {order.reference_price:,})"


@rule("cash_flow")
def cash_flow(ctx: GuardrailContext) -> RuleResult:
    """The buy orders commit no more cash than there is (``tools.money``'s cash row)::

        Σ_buy orders buy_commitment(q, reservation price)
            ≤ max(cash − kept, 0) + Σ_sell orders sell_proceeds(q, price) ÷ (1 + margin)

    A buy slice commits what KIS reserves for it: q × its limit price (offset ticks included) for
    the priced types 00/02, q × the day's upper price limit for 01/03/04, plus commission. A sell
    slice brings in its proceeds at its limit price, or at the reference price when unpriced; the
    margin haircuts them. ``kept`` is the cash buffer on pre-trade equity. Integer won throughout.
    Fails closed without orders: what a buy commits depends on its order type and price.
    """
    if ctx.orders is None:
        return missing("cash_flow", "orders (a buy commits cash by its order type and price)")
    money = ctx.limits.money
    cash, equity = ctx.snapshot.cash, ctx.snapshot.equity
    committed = 0
    at_upper: dict[str, tuple[Order, int]] = {}  # trade id → (an order, the upper limit it reserves at)
    above_reference: dict[str, tuple[Order, int]] = {}
    problems: list[str] = []
    for order in (o for o in ctx.orders if o.side == "buy"):
        if order.order_type.needs_price:
            if order.limit_price is None:
                problems.append(f"{order.order_id} ({order.order_type.value}) has no limit price")
                continue
            price = order.limit_price
            if price > order.reference_price:
                above_reference.setdefault(order.trade_id, (order, price))
        else:
            quote = ctx.quotes.get(order.ticker)
            if quote is None:
                problems.append(f"{order.order_id}: no base price for {order.ticker} to find the upper limit "
                                f"a {order.order_type.value} buy reserves at")
                continue
            price = money.reservation_price(order.order_type, None, quote.base_price, order.kind)
            at_upper.setdefault(order.trade_id, (order, price))
        committed += money.buy_commitment(order.quantity, price, order.kind)
    proceeds = sum(money.sell_proceeds(o.quantity, o.limit_price if o.order_type.needs_price and o.limit_price
                                       else o.reference_price, o.kind)
                   for o in ctx.orders if o.side == "sell")
    if problems:
        return verdict("cash_flow", False, f"cannot price {len(problems)} buy order(s): {'; '.join(problems[:5])}",
                       problems=problems)
    kept = money.cash_kept(equity)
    haircut = money.haircut_proceeds(proceeds)
    available = money.available(cash, equity, proceeds)
    passed = committed <= available
    cash_part = f"cash {cash:,} − kept {kept:,} ({money.cash_buffer:.1%} of equity)"
    if cash < kept:
        cash_part += " → 0, already below the buffer"
    sells_part = f" + sale proceeds {proceeds:,} ÷ {1 + money.margin:g} = {haircut:,}" if proceeds else ""
    message = (f"buy orders commit {committed:,} KRW {'≤' if passed else '>'} {available:,} KRW available "
               f"({cash_part}{sells_part})")
    upper_notes = [_order_price_note(o, p) for o, p in at_upper.values()]
    if passed:
        if upper_notes:
            message += f"; at the upper limit: {', '.join(upper_notes[:4])}"
    else:
        message += f"; short by {committed - available:,} KRW"
        if upper_notes:
            types = "/".join(sorted({o.order_type.value for o, _ in at_upper.values()}))
            example = max(at_upper.values(), key=lambda item: item[0].quantity * item[1])[1]
            message += (f". Buys as {types} reserve cash at the upper limit{' ' + format(example, ',') if len(at_upper) == 1 else ''}"
                        f" ({', '.join(upper_notes[:4])}): use limit orders (00) or fewer shares")
        elif above_reference:
            notes = [_order_price_note(o, p) for o, p in above_reference.values()]
            message += (f". Buy limits above the reference ({', '.join(notes[:4])}): price them lower "
                        f"(fewer offset ticks) or buy fewer shares")
        else:
            message += ": buy fewer shares"
    return verdict("cash_flow", passed, message, cash=cash, cash_kept=kept, cash_buffer=money.cash_buffer,
                   sell_proceeds=proceeds, proceeds_after_margin=haircut, margin=money.margin, available=available,
                   committed=committed, surplus=available - committed,
                   at_upper_limit=[{"order_id": o.order_id, "order_type": o.order_type.value, "upper_limit": p,
                                    "reference_price": o.reference_price} for o, p in at_upper.values()])


@rule("weight_tolerance")
def weight_tolerance(ctx: GuardrailContext) -> RuleResult:
    """Every expected post-trade instrument weight within the tolerance of its target.

    Holdings outside the targets count with target 0; cash is not checked (a deliberate buffer
    or an unspendable remainder is not an error of the trades). The tolerance of an instrument is
    at least the weight of one of its shares.
    """
    if ctx.netting is None:
        return missing("weight_tolerance", "netting result (expected post-trade weights)")
    tolerance = ctx.limits.weight_tolerance
    exempt = ctx.limits.tolerance_exempt
    tickers = sorted((set(ctx.netting.weights_after) | set(ctx.netting.target_weights)) - exempt)
    deviations = {t: ctx.netting.weights_after.get(t, 0.0) - ctx.netting.target_weights.get(t, 0.0)
                  for t in tickers}
    # Whole shares cannot land closer than one share to a target: where one share weighs more than
    # the tolerance (a small account, a dear instrument), that share's weight is the tolerance.
    equity = ctx.netting.equity_after or 1

    def allowed(ticker: str) -> float:
        try:
            return max(tolerance, ctx.snapshot.price_of(ticker) / equity)
        except Exception:  # no price for it: hold it to the plain tolerance
            return tolerance

    outside = {t: round(d, 6) for t, d in deviations.items() if abs(d) > allowed(t) + 1e-12}
    worst = max(deviations, key=lambda t: abs(deviations[t]), default=None)
    worst_dev = deviations[worst] if worst else 0.0
    if outside:
        listed = ", ".join(f"{t} {d:+.2%}" for t, d in outside.items())
        message = f"{len(outside)} weight(s) off target by more than {tolerance:.2%}: {listed}"
    else:
        message = f"all {len(tickers)} weights within {tolerance:.2%} of target (worst {worst} {worst_dev:+.2%})"
    if exempt:
        message += f"; left as they are: {', '.join(sorted(exempt))}"
    return verdict("weight_tolerance", not outside, message, tolerance=tolerance, outside=outside,
                   worst_ticker=worst, worst_deviation=round(worst_dev, 6), exempt=sorted(exempt))


@rule("abnormal_trade")
def abnormal_trade(ctx: GuardrailContext) -> RuleResult:
    """No single trade's notional above the configured fraction of equity."""
    equity = ctx.snapshot.equity
    cap = ctx.limits.max_trade_fraction
    if not ctx.trades:
        return verdict("abnormal_trade", True, "no trades", equity=equity, cap=cap)
    largest = max(ctx.trades, key=lambda t: t.notional)
    fraction = largest.notional / equity if equity > 0 else float("inf")
    passed = fraction <= cap
    message = (f"largest trade {largest.trade_id} {largest.notional:,} KRW is {fraction:.1%} of equity "
               f"({'≤' if passed else '>'} {cap:.0%})")
    return verdict("abnormal_trade", passed, message, trade_id=largest.trade_id, notional=largest.notional,
                   equity=equity, fraction=round(fraction, 6), cap=cap)
