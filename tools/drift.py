"""Drift of an account from its model portfolio, and the rules that decide to rebalance.

Two levels, as KIS users run a model portfolio:

- **MP level**: each asset class's share of equity (cash included as an asset) against the class
  weight; holdings outside the targets appear here with target 0.
- **Sub-MP level**: each instrument's share *of its class* against its weight within the class
  (two-level targets only; in the flat form the MP level already is the instrument level).

Rules (any combination): absolute bands per level, a relative band (fraction of the target), the
5/25 rule (min(5 pp, 25 % of target)), calendar (every session, first session of the month,
quarter or half-year), always, and holdings outside the targets. A verdict lists which rules
fired and every breach with its numbers.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from tools.portfolio import AccountSnapshot
from tools.targets.models import Targets

# A position exactly on a band edge is inside it; the epsilon absorbs float noise such as
# 0.27 - 0.225 vs 0.2 * 0.225.
_EDGE = 1e-12

Level = Literal["mp", "sub"]
CalendarRule = Literal["every_session", "monthly", "quarterly", "semiannual"]


class DriftRow(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    level: Level
    asset: str  # class name, "cash", or a ticker (sub level, or an untargeted holding)
    class_name: str | None = None
    value: int  # KRW at reference prices
    current: float  # share of equity (mp) or of the class (sub)
    target: float
    untargeted: bool = False

    @property
    def deviation(self) -> float:
        return self.current - self.target


class DriftReport(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    equity: int
    cash: int
    targets_version: str
    mp: tuple[DriftRow, ...]
    sub: tuple[DriftRow, ...]
    # Instrument weights in equity (both levels multiplied out), for display and netting checks.
    instrument_weights: dict[str, float]
    instrument_targets: dict[str, float]

    @property
    def untargeted(self) -> tuple[str, ...]:
        return tuple(row.asset for row in self.mp if row.untargeted)


def measure_drift(targets: Targets, snapshot: AccountSnapshot) -> DriftReport:
    """Current weights per class and per instrument from holdings, reference prices and cash."""
    equity = snapshot.equity
    held = {p.ticker: p.value for p in snapshot.positions if p.quantity > 0}

    def share(value: int, base: int) -> float:
        return value / base if base > 0 else 0.0

    mp_rows: list[DriftRow] = []
    sub_rows: list[DriftRow] = []
    for asset_class in targets.classes:
        if asset_class.is_cash:
            class_value = snapshot.cash
        else:
            class_value = sum(held.get(i.ticker, 0) for i in asset_class.instruments)
        mp_rows.append(DriftRow(level="mp", asset=asset_class.name, class_name=asset_class.name,
                                value=class_value, current=share(class_value, equity), target=asset_class.weight))
        # Within-class shares are undefined for an empty class; its MP row already shows the gap.
        if targets.form == "mp" and not asset_class.is_cash and class_value > 0:
            sub_rows.extend(
                DriftRow(level="sub", asset=i.ticker, class_name=asset_class.name, value=held.get(i.ticker, 0),
                         current=share(held.get(i.ticker, 0), class_value), target=i.weight)
                for i in asset_class.instruments)
    if not any(c.is_cash for c in targets.classes):
        # No cash class means a cash target of 0: idle cash (a deposit) is drift too.
        mp_rows.append(DriftRow(level="mp", asset="cash", value=snapshot.cash,
                                current=share(snapshot.cash, equity), target=0.0))
    targeted = set(targets.tickers)
    mp_rows.extend(
        DriftRow(level="mp", asset=ticker, value=value, current=share(value, equity), target=0.0, untargeted=True)
        for ticker, value in sorted(held.items()) if ticker not in targeted)
    return DriftReport(
        equity=equity, cash=snapshot.cash, targets_version=targets.version, mp=tuple(mp_rows), sub=tuple(sub_rows),
        instrument_weights={t: share(v, equity) for t, v in held.items()},
        instrument_targets=targets.flat(),
    )


# --- triggers -----------------------------------------------------------------------------------


class SessionCalendar(Protocol):
    def is_session(self, day: dt.date) -> bool: ...
    def previous_session(self, day: dt.date, *, include: bool = False) -> dt.date: ...


class TriggerPolicy(BaseModel):
    """Which rules may trigger a rebalance. Band widths are fractions (0.03 = 3 pp)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mp_band: float | None = Field(default=0.03, gt=0)  # absolute, class level
    sub_band: float | None = Field(default=0.05, gt=0)  # absolute, within class
    relative_band: float | None = Field(default=None, gt=0)  # e.g. 0.2: ±20 % of each target
    five_twenty_five: bool = False
    calendar: CalendarRule | None = None
    # Time-and-threshold: look at the bands only on calendar days (and trade only if one breaches).
    calendar_gates_bands: bool = False
    always: bool = False
    untargeted_holdings: bool = True  # holdings outside the targets trigger (they are to be sold)


class Breach(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rule: str
    level: Level
    asset: str
    class_name: str | None
    current: float
    target: float
    deviation: float  # current − target
    band: float  # allowed |deviation|

    @property
    def excess(self) -> float:
        """How far outside the band (fraction of equity or of the class)."""
        return abs(self.deviation) - self.band

    def describe(self) -> str:
        where = f"{self.class_name}/{self.asset}" if self.level == "sub" else self.asset
        return (f"[{self.rule}] {self.level} {where}: {self.current:.2%} vs target {self.target:.2%} "
                f"({self.deviation:+.2%}, band ±{self.band:.2%})")


class TriggerVerdict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    triggered: bool
    fired: tuple[str, ...]  # rule ids, in evaluation order
    breaches: tuple[Breach, ...]
    calendar_due: bool | None = None  # None when no calendar rule is configured
    reasons: tuple[str, ...] = ()


def _band_breaches(report: DriftReport, policy: TriggerPolicy) -> list[Breach]:
    def width_rules(row: DriftRow) -> list[tuple[str, float]]:
        rules: list[tuple[str, float]] = []
        absolute = policy.mp_band if row.level == "mp" else policy.sub_band
        if absolute is not None:
            rules.append((f"absolute_{row.level}", absolute))
        # Relative widths are undefined for a zero target (bt's caveat); the absolute band covers it.
        if row.target > 0:
            if policy.relative_band is not None:
                rules.append(("relative", policy.relative_band * row.target))
            if policy.five_twenty_five:
                rules.append(("five_twenty_five", min(0.05, 0.25 * row.target)))
        return rules

    breaches = []
    for row in (*report.mp, *report.sub):
        for rule, band in width_rules(row):
            if abs(row.deviation) > band + _EDGE:
                breaches.append(Breach(rule=rule, level=row.level, asset=row.asset, class_name=row.class_name,
                                       current=row.current, target=row.target, deviation=row.deviation, band=band))
    return breaches


def calendar_due(rule: CalendarRule, as_of: dt.date, calendar: SessionCalendar) -> bool:
    """Is ``as_of`` a rebalancing day under ``rule``? (first session of the month/quarter/half-year)."""
    if not calendar.is_session(as_of):
        return False
    if rule == "every_session":
        return True
    first_of_month = calendar.previous_session(as_of).month != as_of.month
    months = {"monthly": range(1, 13), "quarterly": (1, 4, 7, 10), "semiannual": (1, 7)}[rule]
    return first_of_month and as_of.month in months


def evaluate_triggers(report: DriftReport, policy: TriggerPolicy | None = None, *, as_of: dt.date | None = None,
                      calendar: SessionCalendar | None = None) -> TriggerVerdict:
    """Decide whether to rebalance. ``as_of`` is required when the policy has a calendar rule."""
    policy = policy or TriggerPolicy()
    fired: list[str] = []
    reasons: list[str] = []
    due: bool | None = None
    if policy.calendar is not None:
        if as_of is None:
            raise ValueError(f"calendar rule {policy.calendar!r} needs as_of")
        if calendar is None:
            from tools.market import krx_calendar  # loads exchange-calendars (~1 s) only when needed

            calendar = krx_calendar()
        due = calendar_due(policy.calendar, as_of, calendar)
    if policy.always:
        fired.append("always")
        reasons.append("always rebalance")
    if due and not policy.calendar_gates_bands:
        fired.append("calendar")
        reasons.append(f"{as_of} is a {policy.calendar} rebalancing day")

    bands_open = not policy.calendar_gates_bands or bool(due)
    breaches = _band_breaches(report, policy) if bands_open else []
    for rule in dict.fromkeys(b.rule for b in breaches):
        fired.append(rule)
    reasons.extend(b.describe() for b in breaches)
    if bands_open and policy.untargeted_holdings and report.untargeted:
        fired.append("untargeted")
        reasons.append(f"holdings outside the targets: {', '.join(report.untargeted)}")
    return TriggerVerdict(triggered=bool(fired), fired=tuple(fired), breaches=tuple(breaches), calendar_due=due,
                          reasons=tuple(reasons))
