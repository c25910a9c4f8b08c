"""Planner fixtures: the KRX calendar and the default three-trade scenario."""

from __future__ import annotations

import pytest
from planner.planner_kit import Scenario, default_scenario

from tools.market import KrxCalendar, krx_calendar


@pytest.fixture(scope="session")
def calendar() -> KrxCalendar:
    return krx_calendar()


@pytest.fixture
def scenario(calendar: KrxCalendar) -> Scenario:
    return default_scenario(calendar)
