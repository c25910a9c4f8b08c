"""Guardrail inputs (context, limits) and outputs (one result per rule, and the report)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tools.market import Phase
from tools.money import MoneyRules
from tools.netting.models import NettingResult, Trade
from tools.plan import DEFAULT_MAX_SLICES, MAX_OFFSET_TICKS, MAX_RATIONALE, ExecutionPlan, Order, Quote
from tools.portfolio import AccountSnapshot
from tools.schedule import SessionDay, TimetableSettings


class GuardrailLimits(BaseModel):
    """Thresholds of every rule. Headless caps apply only to auto-approval."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Commission, sell tax, cash kept and buy margin (the config's [money]); cash_flow checks the
    # orders against them (tools.money's cash row).
    money: MoneyRules = Field(default_factory=MoneyRules)
    weight_tolerance: float = Field(default=0.01, gt=0)  # |post-trade weight − target| ≤ 1 pp
    # Tickers deliberately left as they are (locked in the config, excluded by the person): their
    # weights are not held to the tolerance; every other weight still is.
    tolerance_exempt: frozenset[str] = frozenset()
    max_trade_fraction: float = Field(default=0.5, gt=0)  # one trade ≤ 50 % of equity
    allowed_order_types: frozenset[str] = frozenset({"00", "01", "02", "03", "04"})
    allowed_price_rules: frozenset[str] = frozenset({"bid1", "ask1", "mid"})
    allowed_schedules: frozenset[str] = frozenset({"now", "twap", "closing_auction"})
    max_offset_ticks: int = Field(default=MAX_OFFSET_TICKS, ge=0)
    max_slices: int = Field(default=DEFAULT_MAX_SLICES, ge=1)
    max_rationale: int = Field(default=MAX_RATIONALE, ge=0)
    # Headless (auto-approve) caps.
    headless_max_turnover: float = Field(default=0.25, gt=0)  # Σ trade notionals / equity
    headless_max_orders: int = Field(default=20, ge=0)
    headless_max_order_notional: int = Field(default=20_000_000, ge=0)  # KRW per order slice


class GuardrailContext(BaseModel):
    """Everything the rules look at. ``plan``/``orders`` are absent before planning; the rules
    that need them then fail (closed) rather than pass."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    snapshot: AccountSnapshot
    trades: tuple[Trade, ...]
    netting: NettingResult | None = None  # expected post-trade weights, for weight_tolerance
    plan: ExecutionPlan | None = None
    orders: tuple[Order, ...] | None = None
    quotes: dict[str, Quote] = Field(default_factory=dict)
    phase: Phase | None = None  # session phase when "now" orders go out (without a timetable)
    limits: GuardrailLimits = Field(default_factory=GuardrailLimits)
    # The timetable's inputs (guardrails.feasibility): when the run starts, the session it trades in
    # and the [execution] settings. The schedule.* rules fail (closed) without them.
    start: dt.datetime | None = None
    session: SessionDay | None = None
    timetable_settings: TimetableSettings | None = None

    @classmethod
    def from_netting(cls, netting: NettingResult, snapshot: AccountSnapshot, **rest: Any) -> GuardrailContext:
        return cls(snapshot=snapshot, trades=netting.trades, netting=netting, **rest)


class RuleResult(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rule_id: str
    passed: bool
    message: str
    figures: dict[str, Any] = Field(default_factory=dict)  # JSON-plain numbers behind the verdict
    scope: Literal["plan", "headless"] = "plan"


class GuardrailReport(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    results: tuple[RuleResult, ...]
    headless_results: tuple[RuleResult, ...] = ()

    @property
    def passed(self) -> bool:
        """Every (non-headless) rule passed: the plan may be shown for approval."""
        return all(r.passed for r in self.results)

    @property
    def auto_approvable(self) -> bool:
        """Passed and inside every headless cap (requires the headless rules to have run)."""
        return self.passed and bool(self.headless_results) and all(r.passed for r in self.headless_results)

    @property
    def failures(self) -> tuple[RuleResult, ...]:
        return tuple(r for r in (*self.results, *self.headless_results) if not r.passed)

    def result(self, rule_id: str) -> RuleResult | None:
        return next((r for r in (*self.results, *self.headless_results) if r.rule_id == rule_id), None)
