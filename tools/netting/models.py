"""Inputs and outputs of netting: options, trades, and the result with its error bound."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from tools.market import InstrumentKind
from tools.money import MoneyRules

Side = Literal["buy", "sell"]
SolverName = Literal["milp", "greedy", "none"]  # "none": nothing to allocate


class NettingError(ValueError):
    """The netting problem cannot be set up (e.g. a target instrument without a reference price)."""


class NettingOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Commission, sell tax, the cash buffer kept and the buy margin: the same rules the guardrails,
    # the executor and the backtester read. The cash row is ``tools.money``'s (see its docstring):
    # a plan fits it at prices one margin away from the reference, so the cash_flow guardrail
    # accepts its limit orders at the touch. When cash cannot fund every target, all instrument
    # targets are scaled down by one factor.
    money: MoneyRules = Field(default_factory=MoneyRules)
    min_trade_value: int = Field(default=10_000, ge=0)  # KRW; a full liquidation may be smaller
    buy_only: bool = False  # invest new cash only, never sell
    locked: frozenset[str] = frozenset()  # neither bought nor sold
    excluded: frozenset[str] = frozenset()  # never bought (may be sold)
    cost_penalty: float = Field(default=1.0, ge=0)  # λ: weight of costs/equity next to the weight error
    # "auto" and "milp": the exact MILP, falling back to the greedy answer (and saying why) if
    # it fails or stops early; "greedy": the heuristic only.
    solver: Literal["auto", "milp", "greedy"] = "auto"
    # Seconds HiGHS may spend; on expiry the better of its incumbent and the greedy answer is used.
    # (HiGHS checks the clock between steps, so a very large model can overrun it.)
    time_limit: float = Field(default=5.0, gt=0)
    mip_rel_gap: float = Field(default=1e-6, ge=0)


class Trade(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    trade_id: str  # e.g. "T01-069500-SELL": sells numbered first, then buys, each by ticker
    ticker: str
    side: Side
    quantity: int = Field(gt=0)
    reference_price: int = Field(gt=0)
    notional: int
    commission: int
    tax: int
    kind: InstrumentKind
    weight_before: float
    weight_after: float
    target_weight: float
    reason: str

    @property
    def est_costs(self) -> int:
        return self.commission + self.tax


class NettingResult(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    trades: tuple[Trade, ...]
    equity_before: int
    cash_before: int
    cash_after: int  # expected, after costs
    equity_after: int  # expected, at reference prices, after costs
    quantities_after: dict[str, int]
    weights_before: dict[str, float]
    weights_after: dict[str, float]  # share of equity_after
    target_weights: dict[str, float]  # as given (0 for holdings outside the targets)
    effective_targets: dict[str, float]  # what was optimised: targets × one factor ≤ 1 when cash is short
    commission: int
    tax: int
    turnover: int  # Σ trade notionals
    error: float  # Σ |p·n/V − w| over instruments, against the effective targets
    lower_bound: float  # Σ (p/V)·min(f, 1−f): no whole-share allocation can do better
    max_deviation: float  # largest |p·n/V − w| against the effective targets
    objective: float  # error + λ·costs/V, the quantity minimised
    solver: SolverName
    solver_status: str
    solve_seconds: float
    fallback_reason: str | None = None
    targets_version: str | None = None

    @property
    def gap(self) -> float:
        return self.error - self.lower_bound

    @property
    def est_costs(self) -> int:
        return self.commission + self.tax

    @property
    def cash_weight_after(self) -> float:
        return self.cash_after / self.equity_after if self.equity_after > 0 else 1.0

    @property
    def sells(self) -> tuple[Trade, ...]:
        return tuple(t for t in self.trades if t.side == "sell")

    @property
    def buys(self) -> tuple[Trade, ...]:
        return tuple(t for t in self.trades if t.side == "buy")
