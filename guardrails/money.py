"""Money rules over the trade list: cash flow, post-trade weights, abnormal trade size."""

from __future__ import annotations

from guardrails.models import GuardrailContext, RuleResult
from guardrails.registry import missing, rule, verdict


@rule("cash_flow")
def cash_flow(ctx: GuardrailContext) -> RuleResult:
    """Cash + expected sale proceeds (after costs) ≥ expected buy cost (with commission) × factor.

    Expected means at the trades' reference prices: the factor is the headroom for fills away
    from them. (The executor re-checks buys against the broker's buyable cash after the sells.)
    """
    proceeds = sum(t.notional - t.commission - t.tax for t in ctx.trades if t.side == "sell")
    buy_cost = sum(t.notional + t.commission for t in ctx.trades if t.side == "buy")
    factor = ctx.limits.cash_flow_factor
    available = ctx.snapshot.cash + proceeds
    required = buy_cost * factor
    passed = available >= required
    message = (f"cash {ctx.snapshot.cash:,} + sale proceeds {proceeds:,} = {available:,} KRW "
               f"{'≥' if passed else '<'} buys {buy_cost:,} × {factor:g} = {required:,.0f} KRW")
    return verdict("cash_flow", passed, message, cash=ctx.snapshot.cash, sell_proceeds=proceeds,
                   buy_cost=buy_cost, factor=factor, required=round(required), surplus=round(available - required))


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
