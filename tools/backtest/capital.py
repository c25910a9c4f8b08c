"""Capital planning from the passive-portfolio notebook: how much to start with, and whether a
planned monthly contribution keeps the worst expected loss within what the cash flow can bear.

    capital = safe_guard × monthly_cash_flow / max_drawdown

i.e. the account whose loss at the strategy's maximum drawdown equals ``safe_guard`` months of
cash flow. The contribution check grows the account by the planned amount each month and reports
each month's worst loss (balance × max_drawdown) against that tolerated loss. KRW as int.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


def initial_capital(monthly_cash_flow: int, max_drawdown: float, safe_guard: float = 1.0) -> int:
    if monthly_cash_flow <= 0:
        raise ValueError("monthly cash flow must be positive")
    if not 0 < max_drawdown < 1:
        raise ValueError("max drawdown is a fraction between 0 and 1 (e.g. 0.25 for 25%)")
    if safe_guard <= 0:
        raise ValueError("safe guard must be positive")
    return math.floor(safe_guard * monthly_cash_flow / max_drawdown)


def tolerated_loss(monthly_cash_flow: int, safe_guard: float = 1.0) -> int:
    return math.floor(safe_guard * monthly_cash_flow)


@dataclass(frozen=True)
class MonthCheck:
    month: int
    balance: int  # capital + contributions so far (no market return assumed)
    worst_loss: int  # balance × max drawdown
    within: bool


@dataclass(frozen=True)
class ContributionCheck:
    capital: int
    contribution: int
    tolerated_loss: int
    months: tuple[MonthCheck, ...]
    max_safe_contribution: int  # the largest monthly amount that stays within over the horizon

    @property
    def first_breach(self) -> int | None:
        return next((m.month for m in self.months if not m.within), None)


def check_contribution(capital: int, contribution: int, max_drawdown: float, monthly_cash_flow: int, *,
                       safe_guard: float = 1.0, horizon_months: int = 12) -> ContributionCheck:
    if not 0 < max_drawdown < 1:
        raise ValueError("max drawdown is a fraction between 0 and 1")
    limit = tolerated_loss(monthly_cash_flow, safe_guard)
    rows = []
    for month in range(0, horizon_months + 1):
        balance = capital + month * contribution
        loss = math.ceil(balance * max_drawdown)
        rows.append(MonthCheck(month, balance, loss, loss <= limit))
    room = limit / max_drawdown - capital
    safe = max(0, math.floor(room / horizon_months)) if horizon_months else 0
    return ContributionCheck(capital, contribution, limit, tuple(rows), safe)
