"""The daily-bar fill model (rebalancing notes §3.5), in integer money.

* Timing: orders decided on the previous close fill at this session's open (``next_open``) or
  close (``next_close``). ``same_close`` fills at the very close the decision used: that is bt's
  timing, kept only to compare with bt, never a realistic choice.
* Price: reference ± half-spread, half-spread = max(tick / 2, slippage_bp × reference) (the tick
  floor can be turned off for bt comparisons). Buys book ``ceil(q × price)``, sells
  ``floor(q × price)``, so fractions of a won (cent) always go against the account.
* Size: at most ``participation`` × the session's volume; no fill at all on a zero-volume or
  missing bar, and none for a buy (sell) when the bar is flat at the upper (lower) price limit.
  Unfilled remainders stay open for ``carry_days`` more sessions, then are cancelled.
* Costs: ``tools.money.MoneyRules`` (the netting options' ``money``, so the fills charge exactly
  what the netting core assumed): commission on both sides, the sell tax on stock sales; a buy
  debits ``buy_commitment`` at its fill price. Sells go first; when the cash after them is short,
  ``MoneyRules.shrink_buys`` scales the buys down pro rata (the executor's rule too).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from tools.backtest.data import PricePanel
from tools.market import price_limits, tick_size
from tools.money import BuyRequest, MoneyRules, buy_notional, sell_notional

FillTiming = Literal["next_open", "next_close", "same_close"]


class FillModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    timing: FillTiming = "next_open"
    slippage_bp: float = Field(default=0.0, ge=0)
    min_half_tick: bool = True
    participation: float | None = Field(default=0.05, gt=0, le=1)
    carry_days: int = Field(default=2, ge=0)
    respect_price_limits: bool = True


@dataclass(slots=True)
class Order:
    column: int
    side: Literal["buy", "sell"]
    quantity: int
    expires: int  # last session index it may fill on
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Fill:
    index: int
    column: int
    side: Literal["buy", "sell"]
    quantity: int
    price: float  # per share, including the half-spread
    notional: int
    commission: int
    tax: int
    slippage: float  # |price − bar price| × quantity, in money units


def half_spread(panel: PricePanel, column: int, reference: int, model: FillModel) -> float:
    tick = tick_size(reference, panel.kinds[column]) if panel.currency == "KRW" else 1  # 1 cent
    floor = tick / 2 if model.min_half_tick else 0.0
    return max(floor, model.slippage_bp * 1e-4 * reference)


def _capacity(panel: PricePanel, index: int, column: int, model: FillModel) -> int:
    if not panel.present[index, column] or panel.volume[index, column] <= 0:
        return 0
    if model.participation is None:
        return 2**62
    return int(model.participation * int(panel.volume[index, column]))


def _limit_locked(panel: PricePanel, index: int, column: int, side: str, previous_close: int) -> bool:
    """A bar that traded only at the upper (lower) limit fills no buy (sell): KRW instruments only."""
    if panel.currency != "KRW" or previous_close <= 0:
        return False
    o, h, lo, c = (int(a[index, column]) for a in (panel.open, panel.high, panel.low, panel.close))
    if not o == h == lo == c:
        return False
    lower, upper = price_limits(previous_close, panel.kinds[column])
    return (side == "buy" and c >= upper) or (side == "sell" and c <= lower)


def execute(orders: list[Order], index: int, panel: PricePanel, shares: np.ndarray, cash: int,
            model: FillModel, rates: MoneyRules, *, at_close: bool,
            previous_close: np.ndarray) -> tuple[list[Fill], int, list[Order]]:
    """Fill what the bar allows; returns (fills, cash after, orders still open). Mutates ``shares``."""
    bar_price = panel.close if at_close else panel.open
    fills: list[Fill] = []
    left: list[Order] = []
    used = np.zeros(len(panel.tickers), dtype=np.int64)

    def fillable(order: Order) -> tuple[int, int]:
        j = order.column
        reference = int(bar_price[index, j])
        room = _capacity(panel, index, j, model) - int(used[j])
        if room <= 0 or (model.respect_price_limits
                         and _limit_locked(panel, index, j, order.side, int(previous_close[j]))):
            return 0, reference
        return min(order.quantity, room), reference

    for order in (o for o in orders if o.side == "sell"):
        j = order.column
        quantity, reference = fillable(order)
        quantity = min(quantity, int(shares[j]))
        if quantity > 0:
            price = reference - half_spread(panel, j, reference, model)
            notional = sell_notional(quantity, price)
            fee = rates.commission(notional, panel.kinds[j])
            tax = rates.sell_tax(notional, panel.kinds[j])
            cash += notional - fee - tax  # = rates.sell_proceeds(quantity, price, kind)
            shares[j] -= quantity
            used[j] += quantity
            fills.append(Fill(index, j, "sell", quantity, price, notional, fee, tax, (reference - price) * quantity))
        _keep_rest(order, quantity, index, left, held=int(shares[j]))

    buys = [(order, *fillable(order)) for order in orders if order.side == "buy"]
    planned = [(o, q, ref, ref + half_spread(panel, o.column, ref, model)) for o, q, ref in buys]

    sized = rates.shrink_buys([BuyRequest(n, q, p, panel.kinds[o.column])
                               for n, (o, q, _, p) in enumerate(planned) if q > 0], cash)
    planned = [(o, sized.get(n, q), ref, p) for n, (o, q, ref, p) in enumerate(planned)]
    for order, quantity, reference, price in planned:
        j = order.column
        if quantity > 0:
            notional = buy_notional(quantity, price)
            fee = rates.commission(notional, panel.kinds[j])
            cash -= notional + fee  # = rates.buy_commitment(quantity, price, kind)
            shares[j] += quantity
            used[j] += quantity
            fills.append(Fill(index, j, "buy", quantity, price, notional, fee, 0, (price - reference) * quantity))
        _keep_rest(order, quantity, index, left, held=None)
    return fills, cash, left


def _keep_rest(order: Order, filled: int, index: int, left: list[Order], *, held: int | None) -> None:
    rest = order.quantity - filled
    if held is not None:
        rest = min(rest, held)  # cannot sell more than is held
    if rest > 0 and index < order.expires:
        left.append(Order(order.column, order.side, rest, order.expires, order.reason))
