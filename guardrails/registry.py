"""Rule registration: each rule is a pure function of the context with a stable id."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from guardrails.models import GuardrailContext, RuleResult

Rule = Callable[[GuardrailContext], RuleResult]

PLAN_RULES: dict[str, Rule] = {}
HEADLESS_RULES: dict[str, Rule] = {}


def rule(rule_id: str, *, headless: bool = False) -> Callable[[Rule], Rule]:
    """Register a rule under ``rule_id`` (ids are stable: transcripts and approvals cite them)."""

    def register(fn: Rule) -> Rule:
        registry = HEADLESS_RULES if headless else PLAN_RULES
        if rule_id in PLAN_RULES or rule_id in HEADLESS_RULES:
            raise ValueError(f"duplicate guardrail id {rule_id}")
        registry[rule_id] = fn
        fn.rule_id = rule_id  # type: ignore[attr-defined]
        return fn

    return register


def verdict(rule_id: str, passed: bool, message: str, *, headless: bool = False, **figures: Any) -> RuleResult:
    return RuleResult(rule_id=rule_id, passed=passed, message=message, figures=figures,
                      scope="headless" if headless else "plan")


def missing(rule_id: str, what: str, *, headless: bool = False) -> RuleResult:
    """Fail closed when an input the rule needs is absent."""
    return verdict(rule_id, False, f"cannot check: no {what}", headless=headless)
