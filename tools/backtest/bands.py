"""A vectorised pre-screen of the drift bands, so quiet sessions cost no per-day Python.

``tools.drift`` decides every rebalance; this screen only finds the sessions where it *might*
fire. It mirrors ``measure_drift`` + ``_band_breaches`` (class rows incl. cash, Sub-MP rows,
holdings outside the targets) over a block of sessions at once, with a small margin so it can
only err towards calling the core. A session it passes over is one where the core's verdict
would be "no band breached"; tests/backtest check this against the core on random portfolios.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from tools.drift import TriggerPolicy
from tools.targets.models import Targets

MARGIN = 1e-9  # float noise between this screen and the core's int-based weights


def _width(policy: TriggerPolicy, absolute: float | None, target: float) -> float:
    widths = [] if absolute is None else [absolute]
    if target > 0:
        if policy.relative_band is not None:
            widths.append(policy.relative_band * target)
        if policy.five_twenty_five:
            widths.append(min(0.05, 0.25 * target))
    return min(widths) if widths else np.inf


class BandScreen:
    def __init__(self, targets: Targets, codes: tuple[str, ...], policy: TriggerPolicy) -> None:
        column = {code: j for j, code in enumerate(codes)}
        n = len(codes)
        self.targeted = np.zeros(n, dtype=bool)
        member_cols: list[np.ndarray] = []
        mp_target, mp_width, is_cash = [], [], []
        sub_col, sub_class, sub_target, sub_width = [], [], [], []
        for asset_class in targets.classes:
            member = np.zeros(n)
            for instrument in asset_class.instruments:
                member[column[instrument.ticker]] = 1.0
                self.targeted[column[instrument.ticker]] = True
            k = len(member_cols)
            member_cols.append(member)
            is_cash.append(asset_class.is_cash)
            mp_target.append(asset_class.weight)
            mp_width.append(_width(policy, policy.mp_band, asset_class.weight))
            if targets.form == "mp" and not asset_class.is_cash:
                for instrument in asset_class.instruments:
                    sub_col.append(column[instrument.ticker])
                    sub_class.append(k)
                    sub_target.append(instrument.weight)
                    sub_width.append(_width(policy, policy.sub_band, instrument.weight))
        if not any(is_cash):  # measure_drift adds a cash row with target 0
            member_cols.append(np.zeros(n))
            is_cash.append(True)
            mp_target.append(0.0)
            mp_width.append(_width(policy, policy.mp_band, 0.0))
        self.member = np.column_stack(member_cols)
        self.is_cash = np.array(is_cash)
        self.mp_target = np.array(mp_target)
        self.mp_width = np.array(mp_width) - MARGIN
        self.sub_col = np.array(sub_col, dtype=np.int64)
        self.sub_class = np.array(sub_class, dtype=np.int64)
        self.sub_target = np.array(sub_target)
        self.sub_width = np.array(sub_width) - MARGIN
        # Holdings outside the targets fire the "untargeted" rule, or the absolute band at target 0.
        self.untargeted_fires = policy.untargeted_holdings or policy.mp_band is not None
        self.has_bands = bool(np.isfinite(self.mp_width).any() or np.isfinite(self.sub_width).any())

    def first_hit(self, values: np.ndarray, cash: int, shares: np.ndarray) -> int | None:
        """Index (within ``values``' rows) of the first session that may breach; None if none can.

        ``values``: holdings value per instrument (sessions × instruments) at the reference closes.
        """
        if len(values) == 0:
            return None
        if self.untargeted_fires and bool(((shares != 0) & ~self.targeted).any()):
            return 0
        if not self.has_bands:
            return None
        equity = cash + values.sum(axis=1)
        safe_equity = np.where(equity > 0, equity, 1.0)
        class_value = values @ self.member
        class_value[:, self.is_cash] = cash
        share = class_value / safe_equity[:, None]
        breach = (np.abs(share - self.mp_target) > self.mp_width).any(axis=1)
        if self.sub_col.size:
            parent = class_value[:, self.sub_class]
            within = np.where(parent > 0, values[:, self.sub_col] / np.where(parent > 0, parent, 1.0), self.sub_target)
            breach |= (np.abs(within - self.sub_target) > self.sub_width).any(axis=1)
        breach &= equity > 0
        hits = np.flatnonzero(breach)
        return int(hits[0]) if hits.size else None


class PanelCalendar:
    """The panel's own sessions as a ``tools.drift.SessionCalendar`` (US data has no KRX calendar)."""

    def __init__(self, dates: tuple[dt.date, ...]) -> None:
        self._dates = dates
        self._index = {d: i for i, d in enumerate(dates)}

    def is_session(self, day: dt.date) -> bool:
        return day in self._index

    def previous_session(self, day: dt.date, *, include: bool = False) -> dt.date:
        if include and day in self._index:
            return day
        i = self._index.get(day)
        if i is not None:
            return self._dates[i - 1] if i > 0 else day - dt.timedelta(days=1)
        earlier = [d for d in self._dates if d < day]
        return earlier[-1] if earlier else day - dt.timedelta(days=1)
