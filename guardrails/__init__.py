"""Deterministic checks over a proposed rebalance: trades, execution plan and orders.

Each rule is a pure function ``rule(ctx) -> RuleResult`` registered under a stable id; see
``check_all``; ``check(proposal, account, at, limits)`` judges a ``tools.proposal.Proposal``. Headless caps are reported separately and only gate auto-approval.
"""

from guardrails.check import HEADLESS_RULE_IDS, RULE_IDS, check, check_all
from guardrails.models import GuardrailContext, GuardrailLimits, GuardrailReport, RuleResult
from guardrails.registry import HEADLESS_RULES, PLAN_RULES

__all__ = [
    "HEADLESS_RULES",
    "HEADLESS_RULE_IDS",
    "PLAN_RULES",
    "RULE_IDS",
    "GuardrailContext",
    "GuardrailLimits",
    "GuardrailReport",
    "RuleResult",
    "check",
    "check_all",
]
