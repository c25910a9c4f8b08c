"""Money rules: commission, sell tax, the cash kept back, the buy headroom, and what orders commit.

One frozen settings object, :class:`MoneyRules`, is read by netting (``tools.netting``), the
guardrails (``GuardrailLimits.money``), the backtester (``tools.backtest``) and the executor, so
they all charge, reserve and keep the same amounts. The configuration's ``[money]`` section builds
it (``RebalConfig.money``). Every amount it returns is an ``int`` in won (or in the panel's integer
unit, cents, for a USD backtest).

Costs (what the broker charges):

* ``commission(notional, kind)`` = ⌊notional × rate(kind)⌋: brokers truncate below one won.
* ``sell_tax(notional, kind)`` = ⌊notional × stock_sell_tax⌋ on stock sales, 0 for ETFs/ETNs/ELWs.
* ``buy_commitment(q, p, kind)`` = ⌈q × p⌉ + commission: what a buy of q at p ties up (and what a
  fill at p debits). ⌈·⌉ only bites for fractional prices (the backtester's half-spread fills).
* ``sell_proceeds(q, p, kind)`` = ⌊q × p⌋ − commission − tax: what a sale of q at p credits.
* ``reservation_price(order_type, limit, base, kind)``: the price KIS reserves a buy at — the
  limit price for the priced types 00/02 (and 11/12), the day's upper price limit
  (``tools.market.price_limits``) for the unpriced types 01/03/04 (and the other unpriced ones).

The cash row (one formula for the guardrail and for netting)::

    Σ_buys  commitment(qᵢ, Pᵢ)  ≤  max(cash − kept, 0)  +  Σ_sells proceeds(qⱼ, Pⱼ) ÷ (1 + margin)

``kept = ⌈cash_buffer × equity⌉`` (pre-trade equity). Below the buffer already, trades may not
reduce cash further but may still raise it (hence the max). The sale proceeds are haircut by the
margin because a sale may fill lower than planned, or later; the buys are counted at what they
commit, which is a hard ceiling.

* ``cash_flow`` (``guardrails/money.py``) evaluates it over the real orders: Pᵢ = each buy slice's
  reservation price (its limit price including any ± offset ticks, or the upper limit for an
  unpriced type), Pⱼ = each sell slice's limit price (the reference price for an unpriced sell).
  Exactly, in integers: the right side is ``max(cash − kept, 0) + ⌊Σ proceeds ÷ (1 + margin)⌋``.
* Netting (``tools/netting/problem.py``) does not know the order prices yet. It evaluates the same
  row with the touch assumed one margin away from the reference price, against the account: buys at
  ``ref × (1 + margin)``, sells at ``ref ÷ (1 + margin)``. Linearised with the commission and tax
  rates c and τ (truncation only ever helps)::

      Σ_buys ref·q·(1 + c)(1 + m)  −  Σ_sells ref·q·(1 − c − τ) ÷ (1 + m)²  ≤  max(cash − kept, 0)

  So a netting plan passes ``cash_flow`` whenever its orders are limit orders priced within the
  margin of the reference (a buy at most ref × (1 + m), a sell at least ref ÷ (1 + m)), the touch
  in any ordinary market. A buy as 01/03/04 reserves at the upper limit (≈ +30 %) and is not
  covered: the guardrail rejects it unless there is that much cash, and says so.

:meth:`MoneyRules.shrink_buys` is the one pro-rata scaling of buys to the cash there is (whole
shares, integer money, deterministic), used by the backtester's fills and by the executor.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tools.market import DEFAULT_COMMISSION, STOCK_SELL_TAX, InstrumentKind, OrderType, price_limits

K = TypeVar("K", bound=Hashable)

MAX_COMMISSION = 0.01  # 1 % per side: anything above is a typo, not a broker's rate
MAX_TAX = 0.01
MAX_MARGIN = 0.2


def _decimal(rate: float) -> Fraction:
    """The rate as the decimal it was written as (0.01 is 1/100, not 0.01000000000000000020816…)."""
    return Fraction(repr(rate))


def buy_notional(quantity: int, price: int | float) -> int:
    """q × p, rounded up to the money unit (exact for integer prices)."""
    return quantity * price if isinstance(price, int) else math.ceil(quantity * price)


def sell_notional(quantity: int, price: int | float) -> int:
    """q × p, rounded down to the money unit (exact for integer prices)."""
    return quantity * price if isinstance(price, int) else math.floor(quantity * price)


@dataclass(frozen=True, slots=True)
class BuyRequest(Generic[K]):
    """One buy to size: ``quantity`` shares wanted at ``price`` per share (what one share commits
    before commission: a reservation price for the executor, a fill price for the backtester)."""

    key: K
    quantity: int
    price: int | float
    kind: InstrumentKind


class MoneyRules(BaseModel):
    """Commission, sell tax, cash buffer and buy margin: the money settings every part shares."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    # Commission as a fraction of notional, both sides, per instrument kind (every kind required).
    commission_rates: dict[InstrumentKind, float] = Field(default_factory=lambda: dict(DEFAULT_COMMISSION))
    stock_sell_tax: float = Field(default=STOCK_SELL_TAX, ge=0, le=MAX_TAX)  # stocks only; ETFs pay none
    cash_buffer: float = Field(default=0.01, ge=0, lt=1)  # fraction of (pre-trade) equity kept in cash
    margin: float = Field(default=0.01, ge=0, le=MAX_MARGIN)  # headroom on buys (see the module docstring)

    @field_validator("commission_rates")
    @classmethod
    def _every_kind_rated(cls, rates: dict[InstrumentKind, float]) -> dict[InstrumentKind, float]:
        missing = [k.value for k in InstrumentKind if k not in rates]
        if missing:
            raise ValueError(f"commission rate missing for {', '.join(missing)}")
        bad = {k.value: r for k, r in rates.items() if not (math.isfinite(r) and 0 <= r <= MAX_COMMISSION)}
        if bad:
            raise ValueError(f"commission rates must lie in [0, {MAX_COMMISSION}]: {bad}")
        return rates

    # --- rates ----------------------------------------------------------------------------------

    def commission_rate(self, kind: InstrumentKind) -> float:
        return self.commission_rates[kind]

    def tax_rate(self, kind: InstrumentKind) -> float:
        return self.stock_sell_tax if kind is InstrumentKind.STOCK else 0.0

    # --- costs, in integer money ----------------------------------------------------------------

    def commission(self, notional: int, kind: InstrumentKind) -> int:
        """Commission on a notional: truncated below one won, as brokers do."""
        return int(notional * self.commission_rates[kind])

    def sell_tax(self, notional: int, kind: InstrumentKind) -> int:
        """Securities transaction tax on a sale: stocks only, truncated below one won."""
        return int(notional * self.stock_sell_tax) if kind is InstrumentKind.STOCK else 0

    def buy_commitment(self, quantity: int, price: int | float, kind: InstrumentKind) -> int:
        """Cash a buy of ``quantity`` at ``price`` ties up (and a fill at that price debits):
        ⌈q × p⌉ + commission."""
        notional = buy_notional(quantity, price)
        return notional + self.commission(notional, kind)

    def sell_proceeds(self, quantity: int, price: int | float, kind: InstrumentKind) -> int:
        """Cash a sale of ``quantity`` at ``price`` brings in: ⌊q × p⌋ − commission − tax."""
        notional = sell_notional(quantity, price)
        return notional - self.commission(notional, kind) - self.sell_tax(notional, kind)

    @staticmethod
    def reservation_price(order_type: OrderType | str, limit_price: int | None, base_price: int,
                          kind: InstrumentKind) -> int:
        """The per-share price KIS reserves a buy at: the limit price for a priced type (00, 02,
        11, 12), the day's upper price limit around ``base_price`` (기준가) for an unpriced one
        (01, 03, 04, …): a market or best-price buy may fill anywhere up to it."""
        order_type = OrderType(order_type)
        if order_type.needs_price:
            if limit_price is None or limit_price <= 0:
                raise ValueError(f"order type {order_type.value} needs a positive limit price")
            return limit_price
        return price_limits(base_price, kind)[1]

    # --- the cash row ---------------------------------------------------------------------------

    def cash_kept(self, equity: int) -> int:
        """⌈cash_buffer × equity⌉: the cash trades may not spend (exact, for the decimal as written)."""
        return math.ceil(_decimal(self.cash_buffer) * max(equity, 0))

    def spendable_cash(self, cash: int, equity: int) -> int:
        """max(cash − kept, 0): below the buffer already, trades may not reduce cash further."""
        return max(cash - self.cash_kept(equity), 0)

    def haircut_proceeds(self, proceeds: int) -> int:
        """⌊proceeds ÷ (1 + margin)⌋, exact for the decimal as written (1.01, not its binary neighbour)."""
        return math.floor(Fraction(max(proceeds, 0)) / (1 + _decimal(self.margin)))

    def available(self, cash: int, equity: int, proceeds: int) -> int:
        """The right side of the cash row: max(cash − kept, 0) + ⌊proceeds ÷ (1 + margin)⌋.
        Buys committing at most this pass; since both sides are integers this is exact."""
        return self.spendable_cash(cash, equity) + self.haircut_proceeds(proceeds)

    def planning_buy_factor(self, kind: InstrumentKind) -> float:
        """Netting's cash per won of reference notional bought: (1 + c)(1 + m)."""
        return (1 + self.commission_rates[kind]) * (1 + self.margin)

    def planning_sell_factor(self, kind: InstrumentKind) -> float:
        """Netting's cash per won of reference notional sold: (1 − c − τ) ÷ (1 + m)²
        (sold one margin below the reference, then haircut like the guardrail does)."""
        return (1 - self.commission_rates[kind] - self.tax_rate(kind)) / (1 + self.margin) ** 2

    # --- pro-rata buy shrinking -----------------------------------------------------------------

    def shrink_buys(self, buys: Sequence[BuyRequest[K]], cash_available: int) -> dict[K, int]:
        """Whole-share quantities per key whose total ``buy_commitment`` fits ``cash_available``.

        Nothing changes when every buy fits. Otherwise each buy is scaled by the same factor
        cash ÷ total commitment and floored to whole shares; should the floors still overshoot
        (a won of commission rounding per buy) the buy committing the most gives up a share at a
        time; then the leftover cash goes one share at a time to the largest remainders of that
        scaling (ties: input order) while a share fits. Integer arithmetic throughout, so the
        result depends only on the inputs; never more than asked, never above the cash.
        """
        keys = [b.key for b in buys]
        if len(set(keys)) != len(keys):
            raise ValueError("shrink_buys: keys must be unique")
        if any(b.quantity < 0 for b in buys):
            raise ValueError("shrink_buys: quantities must be ≥ 0")
        wanted = {b.key: b.quantity for b in buys}

        def cost(b: BuyRequest[K], q: int) -> int:
            return self.buy_commitment(q, b.price, b.kind) if q > 0 else 0

        total = sum(cost(b, b.quantity) for b in buys)
        if total <= cash_available:
            return wanted
        if cash_available <= 0 or total <= 0:
            return {k: 0 for k in wanted}
        # Pro rata: q × cash ÷ total, floored; the remainder (same denominator for all) ranks the leftovers.
        sized = {b.key: b.quantity * cash_available // total for b in buys}
        remainder = {b.key: b.quantity * cash_available % total for b in buys}
        used = sum(cost(b, sized[b.key]) for b in buys)
        order = {b.key: i for i, b in enumerate(buys)}
        while used > cash_available:  # rounding overshoot: trim the largest commitment first
            b = max((b for b in buys if sized[b.key] > 0), key=lambda b: (cost(b, sized[b.key]), -order[b.key]))
            used -= cost(b, sized[b.key]) - cost(b, sized[b.key] - 1)
            sized[b.key] -= 1
        for b in sorted(buys, key=lambda b: (-remainder[b.key], order[b.key])):
            if sized[b.key] >= b.quantity:
                continue
            extra = cost(b, sized[b.key] + 1) - cost(b, sized[b.key])
            if used + extra <= cash_available:
                sized[b.key] += 1
                used += extra
        return sized


def rates_for(commission_etf: float, commission_stock: float) -> dict[InstrumentKind, float]:
    """Commission per kind from the configuration's two rates: stocks, and the exchange-traded
    products (ETF, ETN, ELW) at the ETF rate."""
    return {kind: commission_stock if kind is InstrumentKind.STOCK else commission_etf for kind in InstrumentKind}

