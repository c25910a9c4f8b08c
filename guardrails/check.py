"""Run the guardrails: every plan rule, and the headless caps for auto-approval."""

from __future__ import annotations

from collections.abc import Iterable

# Importing the rule modules registers their rules.
import guardrails.feasibility
import guardrails.headless
import guardrails.integrity
import guardrails.krx
import guardrails.money  # noqa: F401
from guardrails.models import GuardrailContext, GuardrailReport, RuleResult
from guardrails.registry import HEADLESS_RULES, PLAN_RULES, Rule, verdict

# Report order: money first, then KRX order rules, then the schedule's feasibility, then plan integrity.
_ORDER = ("cash_flow", "weight_tolerance", "abnormal_trade", "krx.whole_quantity", "krx.sellable", "krx.tick",
          "krx.price_limit", "krx.order_type_session", "schedule.fits_session", "schedule.buys_after_sells",
          "plan.coverage", "plan.slices", "plan.allow_list")


def _ordered(rule_ids: Iterable[str]) -> list[str]:
    return sorted(rule_ids, key=lambda rid: (_ORDER.index(rid) if rid in _ORDER else len(_ORDER), rid))


def _run(rule_id: str, fn: Rule, ctx: GuardrailContext, *, headless: bool) -> RuleResult:
    try:
        return fn(ctx)
    except Exception as exc:  # a crashing rule is a failing rule, never a silent pass
        return verdict(rule_id, False, f"rule raised {exc!r}", headless=headless)


def check_all(ctx: GuardrailContext, *, rules: Iterable[str] | None = None,
              headless: bool = True) -> GuardrailReport:
    """Evaluate the plan rules (or only ``rules``) and, with ``headless``, the headless caps."""
    selected = set(rules) if rules is not None else None
    unknown = (selected or set()) - set(PLAN_RULES) - set(HEADLESS_RULES)
    if unknown:
        raise ValueError(f"unknown guardrail id(s): {', '.join(sorted(unknown))}")

    def wanted(rule_id: str) -> bool:
        return selected is None or rule_id in selected

    results = tuple(_run(rid, PLAN_RULES[rid], ctx, headless=False) for rid in _ordered(PLAN_RULES) if wanted(rid))
    headless_results = tuple(_run(rid, fn, ctx, headless=True) for rid, fn in HEADLESS_RULES.items()
                             if headless and wanted(rid))
    return GuardrailReport(results=results, headless_results=headless_results)


RULE_IDS = tuple(_ordered(PLAN_RULES))
HEADLESS_RULE_IDS = tuple(HEADLESS_RULES)
