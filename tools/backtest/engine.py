"""The backtest loop: the live run's target, drift and netting functions, replayed day by day.

Each simulated session ``d``:

1. external flows arrive (contributions add cash; a withdrawal becomes a cash need);
2. the decision, with the previous close ``r = d − 1`` as reference prices, exactly as the live
   run sees the account in the morning: the strategy's targets in force at ``r`` (``TargetPlan``),
   ``tools.drift.evaluate_triggers`` for the policy, and ``tools.netting.compute_trades`` for the
   whole-share orders (sells first, buys scaled down if the fills leave too little cash);
3. fills by ``fills.execute`` at this session's open (or close);
4. withdrawals are paid from cash; 5. equity is marked at the close.

With ``timing="same_close"`` (bt's convention, for comparison only) the decision uses close d and
fills at that same close. Likewise ``sizing="bt"`` (comparison only) replaces the netting core's
portfolio-wide whole shares by bt's per-security floor (``btsizing``); triggers, fills, costs and
accounting stay this engine's. Sessions with no flow, no open order, no strategy change and no
calendar rule are screened in blocks by ``bands.BandScreen``; only sessions it cannot rule out
reach the core, which alone decides. Equity is exact: ``cash + Σ shares × close`` in integers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from tools.backtest.bands import BandScreen, PanelCalendar
from tools.backtest.btsizing import bt_rebalance
from tools.backtest.data import PricePanel
from tools.backtest.fills import FillModel, Order, execute
from tools.backtest.result import BacktestResult, RebalanceEvent
from tools.drift import TriggerPolicy, calendar_due, evaluate_triggers, measure_drift
from tools.money import MoneyRules
from tools.netting import NettingError, NettingOptions, compute_trades
from tools.portfolio import AccountSnapshot, PositionInput
from tools.strategies.base import TargetChange, TargetPlan
from tools.strategies.static import CashFlowSchedule
from tools.targets import Targets, targets_from_weights


class BacktestConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    capital: int = Field(default=10_000_000, ge=0)  # integer money units (KRW; cents for USD)
    fill: FillModel = FillModel()
    # A backtest keeps no cash buffer unless asked (the strategy file's [backtest] cash_buffer);
    # commission, tax and margin are MoneyRules' defaults. The fills charge ``netting.money`` too.
    netting: NettingOptions = NettingOptions(money=MoneyRules(cash_buffer=0.0))
    policy: TriggerPolicy | None = None
    invest_contributions: bool = True  # buy-only investing of new cash when no rebalance is due
    # "bt": bt's per-security whole-share sizing (tools.backtest.btsizing), for comparisons with bt
    # only, like fill timing "same_close"; the engine's sizing is the netting core ("netting").
    sizing: Literal["netting", "bt"] = "netting"


@dataclass
class _Account:
    cash: int
    shares: np.ndarray
    orders: list[Order]
    withdrawal_due: int = 0
    invested: bool = False
    new_cash: bool = False


class _Run:
    def __init__(self, panel: PricePanel, plan: TargetPlan, config: BacktestConfig, flows: CashFlowSchedule,
                 first: int, last: int, label: str) -> None:
        self.panel, self.plan, self.config, self.flows = panel, plan, config, flows
        self.first, self.last, self.label = first, last, label
        self.same_close = config.fill.timing == "same_close"
        self.codes = panel.core_codes()
        self.column = {code: j for j, code in enumerate(self.codes)}
        self.close = panel.valuation_close
        self.rates = config.netting.money
        self.calendar = PanelCalendar(panel.dates)
        self.changes: dict[int, TargetChange] = {c.index: c for c in plan.changes}
        self._targets: dict[int, Targets] = {}  # change index → core targets (built once)
        self._screens: dict[int, BandScreen] = {}
        n_days = last - first + 1
        self.equity = np.zeros(n_days, dtype=np.int64)
        self.cash = np.zeros(n_days, dtype=np.int64)
        self.shares = np.zeros((n_days, len(panel.tickers)), dtype=np.int64)
        self.ext_flows = np.zeros(n_days, dtype=np.int64)
        self.result = BacktestResult(label, panel.dates[first:last + 1], panel.tickers, panel.currency, panel.unit,
                                     self.equity, self.cash, self.shares, self.close[first:last + 1],
                                     self.ext_flows, config.capital, first)
        policy = config.policy
        self.due = np.zeros(len(panel.dates), dtype=bool)
        if policy is not None and policy.calendar is not None:
            for d in range(first, last + 1):
                self.due[d] = calendar_due(policy.calendar, panel.dates[d], self.calendar)
        self.change_at = sorted(self.changes)
        self.open_mask = np.array([self.policy_open(d) for d in range(len(panel.dates))], dtype=bool)
        # Reasons come from the core in its (aliased) codes; users read real tickers.
        self.alias_to_ticker = {c: t for c, t in zip(self.codes, panel.tickers, strict=True) if c != t}

    def unalias(self, text: str) -> str:
        for code, ticker in self.alias_to_ticker.items():
            text = text.replace(code, ticker)
        return text

    # --- targets in force ------------------------------------------------------------------

    def change_in_force(self, r: int) -> int | None:
        position = int(np.searchsorted(self.change_at, r, side="right")) - 1
        return self.change_at[position] if position >= 0 else None

    def core_targets(self, key: int) -> Targets:
        if key not in self._targets:
            raw = self.changes[key].targets
            if isinstance(raw, Targets):
                targets = raw
                unknown = [t for t in targets.tickers if t not in self.column]
                if unknown:
                    raise NettingError(f"targets name {', '.join(unknown)}, which have no prices in the panel")
            else:
                alias = dict(zip(self.panel.tickers, self.codes, strict=True))
                weights = {alias[t]: w for t, w in raw.items() if w > 0}
                cash = max(0.0, 1.0 - sum(weights.values()))
                targets = targets_from_weights({**weights, "cash": cash} if cash > 1e-12 else weights,
                                               source=self.label, normalise=True)
            self._targets[key] = targets
        return self._targets[key]

    def screen(self, key: int) -> BandScreen | None:
        if self.config.policy is None:
            return None
        if key not in self._screens:
            self._screens[key] = BandScreen(self.core_targets(key), self.codes, self.config.policy)
        return self._screens[key]

    # --- the decision ----------------------------------------------------------------------

    def snapshot(self, account: _Account, r: int) -> AccountSnapshot:
        price = self.close[r]
        positions = tuple(PositionInput(ticker=self.codes[j], quantity=int(account.shares[j]), price=int(price[j]),
                                        kind=self.panel.kinds[j])
                          for j in np.flatnonzero(account.shares) if price[j] > 0)
        prices = {self.codes[j]: int(price[j]) for j in range(len(self.codes)) if price[j] > 0}
        kinds = dict(zip(self.codes, self.panel.kinds, strict=True))
        return AccountSnapshot(cash=account.cash, positions=positions, prices=prices, kinds=kinds)

    def policy_open(self, d: int) -> bool:
        policy = self.config.policy
        if policy is None or d < self.flows.quiet_until:
            return False
        return not (policy.calendar_gates_bands and policy.calendar is not None and not self.due[d])

    def decide(self, d: int, r: int, account: _Account) -> list[Order]:
        key = self.change_in_force(r)
        if key is None:
            return []
        reasons: list[str] = []
        kinds: list[str] = []
        if not account.invested:
            kinds.append("initial")
            reasons.append(self.changes[key].reason)
        elif key == r and self.changes[key].rebalance:
            kinds.append("strategy")
            reasons.append(self.changes[key].reason)
        if account.withdrawal_due:
            kinds.append("withdrawal")
            reasons.append(f"withdrawal of {account.withdrawal_due:,} needs cash")
        snapshot: AccountSnapshot | None = None
        policy = self.config.policy
        if policy is not None and d >= self.flows.quiet_until and not kinds:
            screen = self.screen(key)
            calendar_fires = bool(self.due[d]) and not policy.calendar_gates_bands
            maybe = screen is not None and self.policy_open(d) and screen.first_hit(
                (account.shares * self.close[r])[None, :].astype(float), account.cash, account.shares) is not None
            if calendar_fires or maybe:
                snapshot = self.snapshot(account, r)
                verdict = evaluate_triggers(measure_drift(self.core_targets(key), snapshot), policy,
                                            as_of=self.panel.dates[d], calendar=self.calendar)
                if verdict.triggered:
                    kinds.append("policy")
                    reasons.extend(verdict.reasons or verdict.fired)
        options = self.config.netting
        if not kinds and account.new_cash and self.config.invest_contributions and account.cash > 0:
            kinds.append("contribution")
            reasons.append("invest new cash (buy-only, no rebalancing)")
            options = options.model_copy(update={"buy_only": True})
        account.new_cash = False
        if not kinds:
            return []
        snapshot = snapshot or self.snapshot(account, r)
        targets: Targets | dict[str, float] = self.core_targets(key)
        if account.withdrawal_due and snapshot.equity > 0:
            # The core's cash buffer never forces sales, so make room by scaling the targets down.
            keep = max(0.0, 1.0 - account.withdrawal_due / snapshot.equity)
            targets = {t: w * keep for t, w in targets.flat().items()}
        expires = d + self.config.fill.carry_days
        if self.config.sizing == "bt":  # comparison with bt only: bt's per-security floor
            orders, turnover, solver = self.bt_sized(targets, account, r, expires)
        else:
            try:
                netting = compute_trades(targets, snapshot, options)
            except NettingError as error:
                self.result.skipped.append(f"{self.panel.dates[d]}: {error}")
                return []
            orders = [Order(self.column[t.ticker], t.side, t.quantity, expires, t.trade_id) for t in netting.trades]
            turnover, solver = netting.turnover, netting.solver
        account.invested = True
        self.result.events.append(RebalanceEvent(
            self.panel.dates[d], self.panel.dates[r], "+".join(kinds), tuple(self.unalias(x) for x in reasons), len(orders),
            turnover, solver))
        return orders

    def bt_sized(self, targets: Targets | dict[str, float], account: _Account, r: int,
                 expires: int) -> tuple[list[Order], int, str]:
        """``sizing="bt"``: bt's Rebalance sizes each security alone (``btsizing``), at the close ``r``."""
        flat = targets.flat() if isinstance(targets, Targets) else targets
        weights = {self.column[t]: w for t, w in flat.items()}
        price = self.close[r]
        trades = bt_rebalance(weights, account.shares, account.cash, price, self.panel.kinds, self.rates)
        orders = [Order(j, "buy" if q > 0 else "sell", abs(q), expires, "bt sizing") for j, q in trades.items()]
        return orders, sum(abs(q) * int(price[j]) for j, q in trades.items()), "bt-sizing"

    # --- the loop --------------------------------------------------------------------------

    def day(self, d: int, account: _Account) -> None:
        k = d - self.first
        amount = self.flows.flows.get(d, 0)
        if amount > 0:
            account.cash += amount
            self.ext_flows[k] += amount
            account.new_cash = True
        elif amount < 0:
            account.withdrawal_due += -amount
        # same_close (bt's timing) decides on this session's close; otherwise on the previous one.
        new = self.decide(d, d if self.same_close else d - 1, account)
        if new:
            account.orders = new  # a new decision replaces what was still open
        self.fill(d, account, at_close=self.config.fill.timing != "next_open")
        if account.withdrawal_due:
            paid = min(account.cash, account.withdrawal_due)
            account.cash -= paid
            account.withdrawal_due -= paid
            self.ext_flows[k] -= paid
        self.mark(k, k + 1, account)

    def fill(self, d: int, account: _Account, *, at_close: bool) -> None:
        if not account.orders:
            return
        fills, account.cash, account.orders = execute(
            account.orders, d, self.panel, account.shares, account.cash, self.config.fill, self.rates,
            at_close=at_close, previous_close=self.close[d - 1] if d > 0 else self.close[d])
        self.result.fills.extend(fills)

    def mark(self, start: int, stop: int, account: _Account) -> None:
        """Equity from ``start`` to ``stop`` (offsets from ``first``) with holdings unchanged."""
        rows = slice(self.first + start, self.first + stop)
        self.shares[start:stop] = account.shares
        self.cash[start:stop] = account.cash
        self.equity[start:stop] = account.cash + self.close[rows] @ account.shares

    def forced_days(self) -> np.ndarray:
        lag = 0 if self.same_close else 1
        days = {self.first, *self.flows.flows, *(c + lag for c in self.changes if c + lag >= self.first)}
        policy = self.config.policy
        if policy is not None and policy.calendar is not None and not policy.calendar_gates_bands:
            days.update(int(i) for i in np.flatnonzero(self.due))
        return np.array(sorted(d for d in days if self.first <= d <= self.last), dtype=np.int64)

    def run(self) -> BacktestResult:
        account = _Account(self.config.capital, np.zeros(len(self.codes), dtype=np.int64), [])
        forced = self.forced_days()
        lag = 0 if self.same_close else 1
        d = self.first
        while d <= self.last:
            position = int(np.searchsorted(forced, d))
            if account.orders or account.withdrawal_due or (position < len(forced) and forced[position] == d):
                self.day(d, account)
                d += 1
                continue
            stop = int(forced[position]) if position < len(forced) else self.last + 1
            hit = self.quiet_block(d, stop, lag, account)
            if hit is None:
                self.mark(d - self.first, stop - self.first, account)
                d = stop
            else:
                self.mark(d - self.first, hit - self.first, account)
                self.day(hit, account)
                d = hit + 1
        return self.result

    def quiet_block(self, d: int, stop: int, lag: int, account: _Account) -> int | None:
        """First session in [d, stop) where the policy might trigger (the screen's verdict)."""
        key = self.change_in_force(d - lag)
        screen = self.screen(key) if key is not None else None
        if screen is None or not account.invested:
            return None
        days = np.arange(d, stop)
        open_days = days[self.open_mask[d:stop]]
        if open_days.size == 0:
            return None
        values = (self.close[open_days - lag] * account.shares).astype(float)
        hit = screen.first_hit(values, account.cash, account.shares)
        return None if hit is None else int(open_days[hit])


def run_backtest(panel: PricePanel, plan: TargetPlan, config: BacktestConfig, *, first_index: int | None = None,
                 last_index: int | None = None, flows: CashFlowSchedule | None = None,
                 label: str = "backtest") -> BacktestResult:
    """Simulate sessions ``first_index`` … ``last_index`` of ``panel`` (default: all but a first
    reference session for next-session fills)."""
    lag = 0 if config.fill.timing == "same_close" else 1
    first = max(lag, first_index or 0)
    last = len(panel.dates) - 1 if last_index is None else last_index
    if first > last:
        raise ValueError(f"nothing to simulate: first session {first} after last {last}")
    flows = flows or CashFlowSchedule({}, first)
    if config.sizing == "bt" and flows.flows:
        raise ValueError('sizing="bt" reproduces bt\'s Rebalance for comparisons only; it does not model '
                         "contributions or withdrawals (use the default netting sizing)")
    return _Run(panel, plan, config, flows, first, last, label).run()
