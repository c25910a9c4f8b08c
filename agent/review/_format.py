"""Tolerant readers and formatters for transcript ``data`` fields.

A transcript may come from an older or newer Rebal, or from a run cut off mid-write: every field
may be missing or of an unexpected type, numbers may be ints, floats or numeric strings. Nothing
here raises on odd input; a missing value is shown as an em dash.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

MISSING = "—"


def pick(data: Any, *names: str) -> Any:
    """The first present (non-None) field among ``names``: top level first, then one level down.

    One level down because writers may pass a whole model (``write("trades", result=netting)``)
    rather than spreading its fields; the reader should not care which.
    """
    if not isinstance(data, Mapping):
        return None
    for name in names:
        if data.get(name) is not None:
            return data[name]
    for value in data.values():
        if isinstance(value, Mapping):
            for name in names:
                if value.get(name) is not None:
                    return value[name]
    return None


def records(value: Any) -> list[Mapping[str, Any]]:
    """A list of mappings from a list (non-mappings dropped) or a ``{key: mapping}`` table."""
    if isinstance(value, list | tuple):
        return [item for item in value if isinstance(item, Mapping)]
    if isinstance(value, Mapping) and value and all(isinstance(v, Mapping) for v in value.values()):
        return [{"ticker": key, **item} for key, item in value.items()]
    return []


def num(value: Any) -> float | None:
    if isinstance(value, bool):  # bool is an int to Python, never a quantity here
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.replace(",", ""))
        except ValueError:
            return None
    return None


def krw(value: Any) -> str:
    number = num(value)
    return MISSING if number is None else f"{round(number):,}"


def diff(a: Any, b: Any) -> float | None:
    """``a − b`` when both are numbers."""
    x, y = num(a), num(b)
    return None if x is None or y is None else x - y


def integer(value: Any) -> str:
    number = num(value)
    return MISSING if number is None else f"{round(number):,}"


def pct(value: Any, digits: int = 2) -> str:
    """A fraction as a percentage (0.1234 → 12.34%)."""
    number = num(value)
    return MISSING if number is None else f"{number * 100:.{digits}f}%"


def pp(value: Any) -> str:
    """A signed difference of fractions in percentage points (0.012 → +1.20 pp)."""
    number = num(value)
    return MISSING if number is None else f"{number * 100:+.2f} pp"


def bp(value: Any) -> str:
    number = num(value)
    return MISSING if number is None else f"{number:.1f} bp"


def sig(value: Any, digits: int = 4) -> str:
    """A statistic (error, bound, seconds) to a few significant digits."""
    number = num(value)
    return MISSING if number is None else f"{number:.{digits}g}"


def text(value: Any, limit: int | None = None) -> str:
    """Any value as one display string; containers as compact JSON; long text cut with an ellipsis."""
    if value is None or value == "":
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        out = value
    elif isinstance(value, Mapping | list | tuple):
        out = json.dumps(value, ensure_ascii=False, default=str)
    else:
        out = str(value)
    if limit is not None and len(out) > limit:
        out = out[: limit - 1] + "…"
    return out


def clock(at: Any) -> str:
    """``HH:MM:SS`` of an ISO time (the date is in the header); the input as-is if unparsable."""
    parsed = when(at)
    return parsed.strftime("%H:%M:%S") if parsed else text(at)


def when(at: Any) -> dt.datetime | None:
    if not isinstance(at, str):
        return None
    try:
        return dt.datetime.fromisoformat(at)
    except ValueError:
        return None


def short_hash(value: Any, length: int = 12) -> str:
    return text(value)[:length] if isinstance(value, str) and value else MISSING


def scalars(data: Any, skip: set[str]) -> list[str]:
    """``key: value`` for the scalar fields not shown elsewhere (forward compatibility)."""
    if not isinstance(data, Mapping):
        return []
    return [f"{key}: {integer(value) if isinstance(value, int) and not isinstance(value, bool) else text(value, 200)}"
            for key, value in data.items()
            if key not in skip and not isinstance(value, Mapping | list | tuple) and value is not None]
