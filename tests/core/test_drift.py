"""Drift measurement and rebalance triggers, including the threshold worked example."""

from __future__ import annotations

import datetime as dt

import pytest

from tools.drift import TriggerPolicy, calendar_due, evaluate_triggers, measure_drift
from tools.portfolio import AccountSnapshot, PositionInput
from tools.targets import parse_toml, targets_from_weights

RELATIVE_ONLY = TriggerPolicy(mp_band=None, sub_band=None, relative_band=0.2)


def account(values: dict[str, int], cash: int = 0) -> AccountSnapshot:
    """Positions worth exactly ``values`` KRW (priced at 1 won a share: drift only sees values)."""
    return AccountSnapshot(cash=cash, positions=tuple(
        PositionInput(ticker=t, quantity=v, price=1) for t, v in values.items()))


def flat_22_5(first: int) -> tuple:
    """22.5/22.5/22.5/22.5/10 targets; ``first`` KRW (of 1,000,000) in the first instrument."""
    targets = targets_from_weights({"069500": 0.225, "360750": 0.225, "152380": 0.225, "132030": 0.225,
                                    "329750": 0.10})
    rest = (1_000_000 - first - 100_000) // 3
    values = {"069500": first, "360750": rest, "152380": rest, "132030": 1_000_000 - first - 100_000 - 2 * rest,
              "329750": 100_000}
    return targets, account(values)


@pytest.mark.parametrize(("first", "fires"), [(271_000, True), (270_000, False), (180_000, False),
                                              (179_000, True), (225_000, False)])
def test_relative_band_of_a_22_5_target_is_18_to_27(first: int, fires: bool) -> None:
    targets, snap = flat_22_5(first)
    verdict = evaluate_triggers(measure_drift(targets, snap), RELATIVE_ONLY)
    breached = {b.asset for b in verdict.breaches}
    assert ("069500" in breached) is fires


@pytest.mark.parametrize(("value", "fires"), [(80_000, False), (79_000, True), (120_000, False),
                                              (121_000, True)])
def test_relative_band_of_a_10_target_is_8_to_12(value: int, fires: bool) -> None:
    targets = targets_from_weights({"069500": 0.9, "329750": 0.1})
    snap = account({"069500": 1_000_000 - value, "329750": value})
    verdict = evaluate_triggers(measure_drift(targets, snap), RELATIVE_ONLY)
    assert ("329750" in {b.asset for b in verdict.breaches}) is fires


def test_worked_example_verdict_names_asset_amount_and_rule() -> None:
    targets, snap = flat_22_5(271_000)
    verdict = evaluate_triggers(measure_drift(targets, snap), RELATIVE_ONLY)
    assert verdict.triggered and verdict.fired == ("relative",)
    (breach,) = verdict.breaches
    assert (breach.rule, breach.level, breach.asset) == ("relative", "mp", "069500")
    assert breach.current == pytest.approx(0.271)
    assert breach.deviation == pytest.approx(0.046)
    assert breach.band == pytest.approx(0.045)
    assert breach.excess == pytest.approx(0.001)
    assert "069500: 27.10% vs target 22.50% (+4.60%, band ±4.50%)" in verdict.reasons[0]


TWO_LEVEL = """
[classes.equity]
weight = 40
instruments = { "069500" = 50, "360750" = 50 }
[classes.bonds]
weight = 50
instruments = { "152380" = 100 }
[classes.cash]
weight = 10
"""


def test_two_level_drift_per_class_and_within_class() -> None:
    targets = parse_toml(TWO_LEVEL)
    snap = account({"069500": 260_000, "360750": 160_000, "152380": 480_000}, cash=100_000)
    report = measure_drift(targets, snap)
    mp = {r.asset: r for r in report.mp}
    assert mp["equity"].current == pytest.approx(0.42) and mp["equity"].target == pytest.approx(0.40)
    assert mp["cash"].current == pytest.approx(0.10)
    sub = {r.asset: r for r in report.sub}
    assert sub["069500"].current == pytest.approx(260 / 420)  # share of its class
    assert sub["069500"].class_name == "equity"
    assert report.instrument_weights["069500"] == pytest.approx(0.26)
    verdict = evaluate_triggers(report)  # defaults: MP 3 pp, Sub-MP 5 pp
    assert verdict.fired == ("absolute_sub",)
    assert {b.asset for b in verdict.breaches} == {"069500", "360750"}  # 61.9 % / 38.1 % vs 50 %


def test_absolute_mp_band_default_3pp() -> None:
    targets = parse_toml(TWO_LEVEL)
    inside = account({"069500": 215_000, "360750": 215_000, "152380": 470_000}, cash=100_000)
    outside = account({"069500": 220_000, "360750": 215_000, "152380": 470_000}, cash=95_000)
    assert not evaluate_triggers(measure_drift(targets, inside)).triggered  # equity 43 %: on the edge
    verdict = evaluate_triggers(measure_drift(targets, outside))
    assert verdict.fired == ("absolute_mp",)
    assert {b.asset for b in verdict.breaches} == {"equity"}


def test_five_twenty_five_rule() -> None:
    targets = targets_from_weights({"069500": 0.6, "329750": 0.1, "152380": 0.3})
    policy = TriggerPolicy(mp_band=None, sub_band=None, five_twenty_five=True)
    # 60 % target: band 5 pp (not 15); 10 % target: band 2.5 pp (not 5).
    calm = account({"069500": 645_000, "329750": 100_000, "152380": 255_000})
    assert not evaluate_triggers(measure_drift(targets, calm), policy).triggered
    big = account({"069500": 651_000, "329750": 90_000, "152380": 259_000})
    small = account({"069500": 600_000, "329750": 126_000, "152380": 274_000})
    assert [b.asset for b in evaluate_triggers(measure_drift(targets, big), policy).breaches] == ["069500"]
    small_breaches = evaluate_triggers(measure_drift(targets, small), policy).breaches
    assert [(b.asset, b.band) for b in small_breaches] == [("329750", pytest.approx(0.025))]


def test_idle_cash_without_a_cash_class_is_drift() -> None:
    targets = targets_from_weights({"069500": 1.0})
    verdict = evaluate_triggers(measure_drift(targets, account({"069500": 950_000}, cash=50_000)))
    assert verdict.fired == ("absolute_mp",)
    assert {b.asset for b in verdict.breaches} == {"069500", "cash"}


def test_untargeted_holdings_fire_their_own_rule() -> None:
    targets = targets_from_weights({"069500": 1.0})
    snap = account({"069500": 990_000, "005930": 10_000})
    report = measure_drift(targets, snap)
    assert report.untargeted == ("005930",)
    assert evaluate_triggers(report).fired == ("untargeted",)
    assert not evaluate_triggers(report, TriggerPolicy(untargeted_holdings=False)).triggered


def test_always() -> None:
    targets = targets_from_weights({"069500": 1.0})
    verdict = evaluate_triggers(measure_drift(targets, account({"069500": 1_000_000})), TriggerPolicy(always=True))
    assert verdict.triggered and verdict.fired == ("always",)


class WeekdayCalendar:
    """Every weekday is a session, except the listed holidays."""

    def __init__(self, holidays: set[dt.date] = frozenset()) -> None:
        self.holidays = holidays

    def is_session(self, day: dt.date) -> bool:
        return day.weekday() < 5 and day not in self.holidays

    def previous_session(self, day: dt.date, *, include: bool = False) -> dt.date:
        day = day if include else day - dt.timedelta(days=1)
        while not self.is_session(day):
            day -= dt.timedelta(days=1)
        return day


def test_calendar_rules() -> None:
    cal = WeekdayCalendar({dt.date(2026, 1, 1)})
    assert calendar_due("every_session", dt.date(2026, 3, 4), cal)
    assert not calendar_due("every_session", dt.date(2026, 3, 7), cal)  # Saturday
    assert calendar_due("monthly", dt.date(2026, 3, 2), cal)  # Monday after the 1st (a Sunday)
    assert not calendar_due("monthly", dt.date(2026, 3, 3), cal)
    assert calendar_due("quarterly", dt.date(2026, 1, 2), cal)  # 1 Jan is a holiday
    assert not calendar_due("quarterly", dt.date(2026, 2, 2), cal)
    assert calendar_due("quarterly", dt.date(2026, 4, 1), cal)
    assert calendar_due("semiannual", dt.date(2026, 7, 1), cal)
    assert not calendar_due("semiannual", dt.date(2026, 4, 1), cal)


def test_calendar_alone_or_gating_the_bands() -> None:
    targets, drifted = flat_22_5(271_000)
    report = measure_drift(targets, drifted)
    cal = WeekdayCalendar()
    alone = TriggerPolicy(mp_band=None, sub_band=None, calendar="monthly")
    due = evaluate_triggers(report, alone, as_of=dt.date(2026, 6, 1), calendar=cal)
    assert due.triggered and due.fired == ("calendar",) and due.calendar_due
    assert not evaluate_triggers(report, alone, as_of=dt.date(2026, 6, 2), calendar=cal).triggered
    gated = TriggerPolicy(mp_band=None, sub_band=None, relative_band=0.2, calendar="monthly",
                          calendar_gates_bands=True)
    assert evaluate_triggers(report, gated, as_of=dt.date(2026, 6, 1), calendar=cal).fired == ("relative",)
    off_day = evaluate_triggers(report, gated, as_of=dt.date(2026, 6, 2), calendar=cal)
    assert not off_day.triggered and off_day.breaches == ()
    _, calm = flat_22_5(225_000)
    assert not evaluate_triggers(measure_drift(targets, calm), gated, as_of=dt.date(2026, 6, 1),
                                 calendar=cal).triggered  # calendar day, but inside the bands
    with pytest.raises(ValueError, match="needs as_of"):
        evaluate_triggers(report, alone)


def test_calendar_uses_the_krx_calendar_by_default() -> None:
    targets, snap = flat_22_5(225_000)
    report = measure_drift(targets, snap)
    policy = TriggerPolicy(calendar="quarterly")
    # 2026-01-01 is a KRX holiday; 2026-01-02 is the first session of the quarter.
    assert evaluate_triggers(report, policy, as_of=dt.date(2026, 1, 2)).fired == ("calendar",)
    assert not evaluate_triggers(report, policy, as_of=dt.date(2026, 1, 5)).triggered
