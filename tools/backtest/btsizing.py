"""bt's whole-share sizing, for comparisons with the ``bt`` library only (``sizing="bt"``).

Like ``timing="same_close"``, this exists so that a comparison with bt compares like with like; it
is never the engine's choice for a real account. Our default sizing is ``tools.netting``'s
``compute_trades``, which chooses whole shares for the whole portfolio at once and pays costs from
the shared cash. bt (1.4.1, ``bt.algos.Rebalance`` → ``StrategyBase.rebalance`` →
``SecurityBase.allocate``) sizes every security on its own:

1. ``base`` = the strategy's value at the rebalance bar (cash + Σ position × price), taken once;
   every security's current weight is its value / ``base`` before any trade of this rebalance.
2. Positions not in the targets (or with target weight 0) are closed outright (sell everything).
3. For each target: ``amount = (weight − current weight) × base``; long or opening long:
   ``q = floor(amount / price)``, so a buy rounds down and a *sale rounds away from zero* (bt sells
   the extra share so that it raises at least ``amount``; nothing here is truncated towards zero).
4. Unless the trade closes the position, costs are then fitted: while ``outlay(q) = q × price +
   commission`` is not ``amount``, bt steps ``q ← floor(q − (outlay(q) − amount) / price)`` and
   settles on the ``q`` where one more share would no longer fit. So a buy whose fee does not fit
   drops a share, and a sale whose fee leaves the proceeds short sells one more: with a cost that
   grows with the trade, the largest ``q`` with ``outlay(q) ≤ amount``. :func:`bt_quantity` keeps
   bt's search step for step, so that float ties end where bt's do.

Securities are sized independently, so bt's order of processing does not change any quantity; cash
can only go negative within bt's loop, never after it (buys spend at most, sales raise at least,
their amounts, which sum to the cash). The outlay uses the costs the engine's fills will book
(``MoneyRules.commission`` on the notional, plus ``sell_tax`` for stocks) at the reference
close; bt's commission is whatever function it is given. Money is in the panel's integer units,
as floats where bt uses floats. The engine stays long-only: bt would open a short where its
rounding asks for one; here that sale is capped at the shares held. Of the netting options only
the cost rates of ``money`` apply (no cash buffer, minimum trade or margin, as in bt); a target without a
price at the bar is not traded (bt raises); ``run_backtest`` refuses cash flows in this mode.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import numpy as np

from tools.market import InstrumentKind
from tools.money import MoneyRules

TOL = 1e-16  # bt.core.TOL: bt's ``is_zero``, and the rtol of its outlay search
ATOL = 1e-8  # np.isclose's default atol, which that search keeps (in bt's money; here the panel's units)


def bt_quantity(amount: float, price: float, position: int, outlay: Callable[[int], float]) -> int:
    """Shares bt's ``SecurityBase.allocate(amount)`` trades (+ buy, − sell) for a long-only book.

    ``outlay(q)``: the cash a trade of ``q`` shares costs, fees included (negative for a sale:
    minus the proceeds net of fees). bt's search is kept step for step, float ties included: it
    accepts ``q`` when ``np.isclose(outlay(q), amount, rtol=1e-16)`` (atol 1e-8), and can end one
    share above ``floor(amount / price)`` when that quotient rounds just below a whole number.
    """
    if abs(amount) < TOL or price <= 0:
        return 0
    if abs(amount + position * price) < TOL:  # closing out: exactly the position, no fee fitting
        return -position
    if not (position > 0 or (position == 0 and amount > 0)):
        return 0  # bt would round towards a short (ceil); this engine never opens one
    q = math.floor(amount / price)
    if q == 0 or q == -position:
        return q
    full = outlay(q)
    last_q, last_short = q, full - amount
    for _ in range(10_000):
        if abs(full - amount) <= ATOL + TOL * abs(amount) or q == 0:  # bt: np.isclose(…) or q == 0
            break
        q = math.floor(q - (full - amount) / price)  # shed (or add) what the costs overshoot
        full = outlay(q)
        if full < amount:  # affordable: stop where one more share would not be, else take it
            one_more = outlay(q + 1)
            if one_more > amount:
                break
            q, full = q + 1, one_more
        if q == last_q or abs(full - amount) > abs(last_short):
            raise RuntimeError(f"bt's quantity search is stuck at {q} for {amount} at {price}")
        last_q, last_short = q, full - amount
    else:
        raise RuntimeError(f"bt's quantity search did not converge for {amount} at {price}")
    return max(q, -position)


def engine_outlay(price: int, kind: InstrumentKind, rates: MoneyRules) -> Callable[[int], float]:
    """``outlay(q)`` as ``fills.execute`` books a trade of ``q`` shares at ``price`` (no spread)."""

    def outlay(q: int) -> float:
        notional = abs(q) * price
        if q >= 0:
            return notional + rates.commission(notional, kind)
        return -(notional - rates.commission(notional, kind) - rates.sell_tax(notional, kind))

    return outlay


def bt_rebalance(weights: Mapping[int, float], shares: np.ndarray, cash: int, price: np.ndarray,
                 kinds: tuple[InstrumentKind, ...], rates: MoneyRules) -> dict[int, int]:
    """bt's ``Rebalance``: column → signed quantity for ``weights`` (column → weight of the whole
    value; what they leave is cash). ``price``: the rebalance bar's prices, in money units."""
    held = shares * price
    base = float(cash + int(held.sum()))
    trades: dict[int, int] = {}
    for j in np.flatnonzero(shares):  # close what the targets leave out
        if weights.get(int(j), 0.0) <= 0:
            trades[int(j)] = -int(shares[j])
    if base <= 0:
        return trades
    for j, weight in weights.items():
        if weight <= 0:
            continue
        value = float(held[j])
        amount = (weight - value / base) * base  # bt: (weight − c.weight) × base
        q = bt_quantity(amount, float(price[j]), int(shares[j]), engine_outlay(int(price[j]), kinds[j], rates))
        if q:
            trades[j] = q
    return trades
