"""Formatters for the review: money, weights, times. Inputs are typed (from ``agent.events``);
``None`` is shown as an em dash."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from tools.market import KST

MISSING = "—"


def krw(value: float | None) -> str:
    return MISSING if value is None else f"{round(value):,}"


def integer(value: int | None) -> str:
    return MISSING if value is None else f"{value:,}"


def pct(value: float | None, digits: int = 2) -> str:
    """A fraction as a percentage (0.1234 → 12.34%)."""
    return MISSING if value is None else f"{value * 100:.{digits}f}%"


def pp(value: float | None) -> str:
    """A signed difference of fractions in percentage points (0.012 → +1.20 pp)."""
    return MISSING if value is None else f"{value * 100:+.2f} pp"


def bp(value: float | None) -> str:
    return MISSING if value is None else f"{value:.1f} bp"


def sig(value: float | None, digits: int = 4) -> str:
    """A statistic (error, bound, seconds) to a few significant digits."""
    return MISSING if value is None else f"{value:.{digits}g}"


def text(value: Any, limit: int | None = None) -> str:
    """Any value as one display string; containers as compact JSON; long text cut with an ellipsis."""
    if value is None or value == "":
        return MISSING
    out = value if isinstance(value, str) else (
        json.dumps(value, ensure_ascii=False, default=str) if isinstance(value, dict | list | tuple) else str(value))
    if limit is not None and len(out) > limit:
        out = out[: limit - 1] + "…"
    return out


def short_hash(value: str | None, length: int = 12) -> str:
    return value[:length] if value else MISSING


def parse_time(value: str | dt.datetime | None) -> dt.datetime | None:
    """An ISO time as an aware datetime in KST (a naive one is taken as KST already)."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return None
    return value.replace(tzinfo=KST) if value.tzinfo is None else value.astimezone(KST)


def hms(value: str | dt.datetime | None) -> str:
    """``HH:MM:SS`` in KST: the date is in the header."""
    moment = parse_time(value)
    return moment.strftime("%H:%M:%S") if moment else MISSING


def stamp(value: str | dt.datetime | None) -> str:
    """``YYYY-MM-DD HH:MM:SS KST``."""
    moment = parse_time(value)
    return moment.strftime("%Y-%m-%d %H:%M:%S KST") if moment else MISSING
