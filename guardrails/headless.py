"""Stricter caps that a plan must also meet to be approved without a person (--auto-approve)."""

from __future__ import annotations

from guardrails.models import GuardrailContext, RuleResult
from guardrails.registry import missing, rule, verdict


@rule("headless.turnover", headless=True)
def turnover(ctx: GuardrailContext) -> RuleResult:
    """Σ trade notionals as a fraction of equity within the cap."""
    equity = ctx.snapshot.equity
    traded = sum(t.notional for t in ctx.trades)
    fraction = traded / equity if equity > 0 else float("inf")
    cap = ctx.limits.headless_max_turnover
    passed = fraction <= cap
    return verdict("headless.turnover", passed,
                   f"turnover {traded:,} KRW = {fraction:.2%} of equity ({'≤' if passed else '>'} {cap:.0%})",
                   headless=True, turnover=traded, equity=equity, fraction=round(fraction, 6), cap=cap)


@rule("headless.order_count", headless=True)
def order_count(ctx: GuardrailContext) -> RuleResult:
    if ctx.orders is None:
        return missing("headless.order_count", "orders", headless=True)
    count, cap = len(ctx.orders), ctx.limits.headless_max_orders
    passed = count <= cap
    return verdict("headless.order_count", passed, f"{count} order(s) ({'≤' if passed else '>'} {cap})",
                   headless=True, orders=count, cap=cap)


@rule("headless.order_notional", headless=True)
def order_notional(ctx: GuardrailContext) -> RuleResult:
    """The largest order slice (at its limit price, else the reference price) within the cap."""
    if ctx.orders is None:
        return missing("headless.order_notional", "orders", headless=True)
    cap = ctx.limits.headless_max_order_notional
    if not ctx.orders:
        return verdict("headless.order_notional", True, "no orders", headless=True, largest=0, cap=cap)
    largest = max(ctx.orders, key=lambda o: o.notional)
    passed = largest.notional <= cap
    return verdict("headless.order_notional", passed,
                   f"largest order {largest.order_id} {largest.notional:,} KRW ({'≤' if passed else '>'} {cap:,})",
                   headless=True, order_id=largest.order_id, largest=largest.notional, cap=cap)
