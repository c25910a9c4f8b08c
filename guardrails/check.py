"""Run the guardrails: every plan rule, and the headless caps for auto-approval."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

# Importing the rule modules registers their rules.
import guardrails.feasibility
import guardrails.headless
import guardrails.integrity
import guardrails.krx
import guardrails.money  # noqa: F401
from guardrails.models import GuardrailContext, GuardrailLimits, GuardrailReport, RuleResult
from guardrails.registry import HEADLESS_RULES, PLAN_RULES, Rule, verdict
from tools.portfolio import AccountSnapshot
from tools.proposal import Proposal

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


def check(proposal: Proposal, account: AccountSnapshot, at: dt.datetime, limits: GuardrailLimits, *,
          rules: Iterable[str] | None = None, headless: bool = True) -> GuardrailReport:
    """Judge ``proposal`` against ``account`` as if it started at ``at`` (the exchange clock): the
    schedule is rebuilt from ``at`` and the session phase read at ``at``. The one validator of a
    proposal: at planning, after every edit, at approval and at the buy stage."""
    limits = limits.model_copy(update={"money": proposal.money})  # one definition of the money rules
    context = GuardrailContext(snapshot=account, trades=proposal.trades, netting=proposal.netting,
                               plan=proposal.plan, orders=proposal.orders, quotes=proposal.quotes,
                               phase=proposal.session.phase(at), limits=limits, start=at, session=proposal.session,
                               timetable_settings=proposal.timetable)
    return check_all(context, rules=rules, headless=headless)


RULE_IDS = tuple(_ordered(PLAN_RULES))
HEADLESS_RULE_IDS = tuple(HEADLESS_RULES)
