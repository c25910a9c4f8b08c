"""The whole-share allocation problem in arrays, shared by the MILP and the greedy solver.

Decision per instrument i: the trade d_i in shares (final shares n_i = h_i + d_i). Everything is
measured in basis points of pre-trade equity V, which keeps the MILP well scaled for accounts
from 1 M to 10 bn KRW:

    g_i  = 10⁴·p_i/V          bp of equity per share
    W_i  = 10⁴·w_i            target in bp
    err  = Σ |g_i·n_i − W_i|
    cost = Σ g_i·(c_i·|d_i| + τ_i·max(−d_i, 0))
    objective = err + λ·cost
    use  = Σ g_i·(1+c_i)(1+m)·max(d_i, 0) − Σ g_i·(1−c_i−τ_i)/(1+m)²·max(−d_i, 0)  ≤  cash_room
    cash_room = max(cash − ⌈buffer·V⌉, 0)     (in KRW; the row is scaled to bp in the MILPs)

The cash row is ``tools.money``'s, the one the cash_flow guardrail checks, evaluated with the
touch one margin m away from the reference (buys at p(1+m), sells at p/(1+m)); its factors come
from ``MoneyRules.planning_buy_factor`` / ``planning_sell_factor``.

Allowed trades: d_i ∈ {0} ∪ [min_buy_i, max_buy_i] ∪ [−max_sell_i, −min_sell_i].
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from tools.market import InstrumentKind
from tools.money import MoneyRules
from tools.netting.models import NettingError, NettingOptions
from tools.portfolio import AccountSnapshot, PortfolioError

BP = 1e4
# Float slack when checking the cash row; a few thousandths of a won.
CASH_TOLERANCE_KRW = 1e-3


@dataclass(frozen=True)
class NettingProblem:
    tickers: tuple[str, ...]
    kinds: tuple[InstrumentKind, ...]
    price: np.ndarray  # int64 KRW
    held: np.ndarray  # int64 shares
    target: np.ndarray  # effective target weights: given × α, α < 1 when cash cannot fund them all
    given_target: np.ndarray  # targets as given
    commission: np.ndarray  # rate per instrument
    tax: np.ndarray  # sell tax rate per instrument
    min_buy: np.ndarray  # shares; a buy is 0 or at least this
    max_buy: np.ndarray
    min_sell: np.ndarray
    max_sell: np.ndarray  # sellable shares (0 when selling is not allowed)
    equity: int
    cash: int
    cash_room: float  # KRW the trades may consume net: max(cash − the buffer kept, 0)
    buy_factor: np.ndarray  # KRW of cash per KRW of reference notional bought: (1+c)(1+m)
    sell_factor: np.ndarray  # KRW of cash per KRW of reference notional sold: (1−c−τ)/(1+m)²
    cost_penalty: float
    money: MoneyRules  # the rules the factors came from; the result's costs are booked with them

    @property
    def size(self) -> int:
        return len(self.tickers)

    @property
    def grain(self) -> np.ndarray:
        """g_i: bp of equity per share."""
        return BP * self.price / self.equity

    @property
    def target_bp(self) -> np.ndarray:
        return BP * self.target

    # --- measures of a trade vector d (shares) ---------------------------------------------

    def error(self, trade: np.ndarray) -> float:
        """Σ|p·n/V − w| as a fraction of equity."""
        return float(np.abs(self.grain * (self.held + trade) - self.target_bp).sum() / BP)

    def cost(self, trade: np.ndarray) -> float:
        """Linear estimate of commission + tax in KRW (brokers truncate, so actual ≤ this)."""
        bought, sold = np.maximum(trade, 0), np.maximum(-trade, 0)
        return float((self.price * (self.commission * (bought + sold) + self.tax * sold)).sum())

    def max_deviation(self, trade: np.ndarray) -> float:
        deviation = np.abs(self.grain * (self.held + trade) - self.target_bp)
        return float(deviation.max() / BP) if deviation.size else 0.0

    def objective(self, trade: np.ndarray) -> float:
        return self.error(trade) + self.cost_penalty * self.cost(trade) / self.equity

    def cash_use(self, trade: np.ndarray) -> float:
        """Net KRW the trades consume by the cash row (buys with margin minus haircut sale proceeds)."""
        bought, sold = np.maximum(trade, 0), np.maximum(-trade, 0)
        return float((self.price * (self.buy_factor * bought - self.sell_factor * sold)).sum())

    def allowed(self, trade: np.ndarray) -> bool:
        d = np.asarray(trade)
        buys_ok = (d <= 0) | ((d >= self.min_buy) & (d <= self.max_buy))
        sells_ok = (d >= 0) | ((-d >= self.min_sell) & (-d <= self.max_sell))
        return bool(np.all(buys_ok & sells_ok))

    def is_feasible(self, trade: np.ndarray) -> bool:
        return self.allowed(trade) and self.cash_use(trade) <= self.cash_room + CASH_TOLERANCE_KRW

    def lower_bound(self) -> float:
        """Σ g·min(f, 1−f): the error of rounding every target to its nearest whole share."""
        shares = self.target_bp / self.grain
        frac = shares - np.floor(shares)
        return float((self.grain * np.minimum(frac, 1 - frac)).sum() / BP)


def build_problem(
    target_weights: Mapping[str, float], cash_weight: float, snapshot: AccountSnapshot, options: NettingOptions
) -> NettingProblem:
    """Arrays for every instrument that is targeted or held, with bounds from the options."""
    held_qty = snapshot.quantities()
    tickers = tuple(sorted(set(held_qty) | {t for t, w in target_weights.items() if w > 0}))
    equity = snapshot.equity
    if equity <= 0:
        raise NettingError("the account has no equity (no cash and no holdings)")
    missing = []
    prices = []
    for ticker in tickers:
        try:
            prices.append(snapshot.price_of(ticker))
        except PortfolioError:
            missing.append(ticker)
    if missing:
        raise NettingError(f"no reference price for target instrument(s) {', '.join(missing)}")
    price = np.array(prices, dtype=np.int64)
    held = np.array([held_qty.get(t, 0) for t in tickers], dtype=np.int64)
    given = np.array([target_weights.get(t, 0.0) for t in tickers], dtype=float)

    kinds = tuple(snapshot.kind_of(t) for t in tickers)
    money = options.money
    commission = np.array([money.commission_rate(k) for k in kinds], dtype=float)
    tax = np.array([money.tax_rate(k) for k in kinds], dtype=float)
    buy_factor = np.array([money.planning_buy_factor(k) for k in kinds], dtype=float)
    sell_factor = np.array([money.planning_sell_factor(k) for k in kinds], dtype=float)
    # Already below the buffer: trades may not reduce cash further (but may raise it).
    cash_room = float(money.spendable_cash(snapshot.cash, equity))
    sellable = np.array([snapshot.sellable_of(t) for t in tickers], dtype=np.int64)
    no_sell = np.array([options.buy_only or t in options.locked for t in tickers])
    no_buy = np.array([t in options.locked or t in options.excluded for t in tickers])
    max_sell = np.where(no_sell, 0, sellable)
    min_trade_shares = np.maximum(1, -(-options.min_trade_value // price))  # ceil
    # A sale of everything that may be sold is allowed below the minimum (dust clean-up).
    min_sell = np.minimum(min_trade_shares, np.maximum(max_sell, 1))
    spendable = cash_room + float((price * max_sell * sell_factor).sum())
    max_buy = np.where(no_buy, 0, np.floor(spendable / (price * buy_factor)).astype(np.int64))
    max_buy = np.where(max_buy < min_trade_shares, 0, max_buy)
    scale = affordable_scale(given * equity / price, held, price, -max_sell, max_buy,
                             buy_factor, sell_factor, cash_room)
    return NettingProblem(
        tickers=tickers, kinds=kinds, price=price, held=held, target=given * scale, given_target=given,
        commission=commission, tax=tax, min_buy=min_trade_shares, max_buy=max_buy, min_sell=min_sell,
        max_sell=max_sell, equity=equity, cash=snapshot.cash, cash_room=cash_room,
        buy_factor=buy_factor, sell_factor=sell_factor, cost_penalty=options.cost_penalty, money=money,
    )


def affordable_scale(target_shares: np.ndarray, held: np.ndarray, price: np.ndarray, min_trade: np.ndarray,
                     max_trade: np.ndarray, buy_factor: np.ndarray, sell_factor: np.ndarray,
                     cash_room: float) -> float:
    """The largest α ≤ 1 such that trading (in fractional shares) to α × targets fits the cash room.

    When cash cannot fund the full targets (cash buffer, margin, costs, locked or unsellable
    positions), every instrument target is scaled by the same α. Under the L1 error any split of
    a cash shortfall costs the same, so without this the optimiser would pile the shortfall on
    one instrument (and the MILP would wade through countless equal-cost ties).
    """

    def cash_use(alpha: float) -> float:
        trade = np.clip(alpha * target_shares - held, min_trade, max_trade)
        return float((price * np.where(trade > 0, buy_factor, sell_factor) * trade).sum())

    if cash_use(1.0) <= cash_room:
        return 1.0
    low, high = 0.0, 1.0
    if cash_use(low) > cash_room:  # even selling to nothing over-spends: nothing to scale
        return 1.0
    for _ in range(60):  # bisection on a monotone function; 60 halvings reach float precision
        middle = (low + high) / 2
        if cash_use(middle) <= cash_room:
            low = middle
        else:
            high = middle
    return low
