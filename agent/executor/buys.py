"""The buy stage: after the sells, the buys re-sized to the cash there is and re-checked from the
actual moment, decided once per run (a resume reuses the journal's note).

A mixin of ``agent.executor.run.Executor``: it reads the executor's proposal, journal, desk,
clock and money rules.
"""

from __future__ import annotations

import datetime as dt

from agent.executor.broker_orders import slice_key
from guardrails import PLAN_RULES
from tools.money import BuyRequest
from tools.portfolio import AccountSnapshot
from tools.proposal import Proposal

# Plan rules that do not apply to the buys alone: the post-trade weights (a shrunk buy is reported
# as a partial outcome, not refused) and coverage of the whole trade list (the sells are done).
NOT_FOR_BUYS = frozenset({"weight_tolerance", "plan.coverage"})
# The guardrails about when orders can go out, re-run from the actual moment before sending.
SESSION_RULES = ("krx.order_type_session", "schedule.fits_session", "schedule.buys_after_sells")


class BuyStage:
    # --- buys after the sells -----------------------------------------------------------------

    def _snapshot_after_sells(self, cash: int) -> tuple[AccountSnapshot, AccountSnapshot]:
        """(the planned account, the account now): the planned holdings less what the journal shows
        sold, and the cash the broker reports."""
        snapshot = self.state.snapshot
        sold: dict[str, int] = {}
        for entry in self.journal.entries(self.run_id):
            if entry.side == "sell" and entry.kind != "cancel":
                sold[entry.ticker] = sold.get(entry.ticker, 0) + entry.filled_quantity
        positions = tuple(p.model_copy(update={"quantity": p.quantity - sold.get(p.ticker, 0),
                                               "sellable_quantity": None})
                          for p in snapshot.positions if p.quantity - sold.get(p.ticker, 0) > 0)
        return snapshot, snapshot.model_copy(update={"cash": max(cash, 0), "positions": positions})

    def _buy_stage(self) -> Proposal | None:
        """The buy slices, shrunk pro rata (``MoneyRules.shrink_buys``, integer won, at KIS's
        reservation prices, the cash buffer kept) when the cash after the sells falls short, and
        checked with every rule that applies to buys from this moment. Decided once per run: a
        resume reuses the decision (the journal's note)."""
        decided, noted, notes_then = self._noted_buy_stage()
        if decided:
            self.notes += notes_then
            return noted
        trades = [t for t in self.proposal.trades if t.side == "buy"]
        if not trades:
            return None
        cash = self._read("buying power", self.client.buying_power).cash
        before, after = self._snapshot_after_sells(cash)
        kept = max(self.money.cash_kept(before.equity), self.money.cash_kept(after.equity))
        available = max(cash - kept, 0)
        requests = []
        for trade in trades:
            order = next(o for o in self.orders if o.trade_id == trade.trade_id)
            price = self.money.reservation_price(order.order_type, order.limit_price,
                                                 self.proposal.quotes[trade.ticker].base_price, trade.kind)
            requests.append(BuyRequest(key=trade.trade_id, quantity=trade.quantity, price=price, kind=trade.kind))
        sized = self.money.shrink_buys(requests, available)
        notes: list[str] = []
        if any(sized[t.trade_id] != t.quantity for t in trades):
            committed = sum(self.money.buy_commitment(r.quantity, r.price, r.kind) for r in requests)
            notes.append(f"buys shrunk to the cash after the sells: {cash:,} KRW orderable, {kept:,} kept as the "
                         f"cash buffer, the approved buys commit {committed:,} KRW at their reservation prices ("
                         + ", ".join(f"{t.trade_id} {t.quantity}→{sized[t.trade_id]}" for t in trades
                                     if sized[t.trade_id] != t.quantity) + ")")
        stage = self.proposal.buys_only(sized, self.clock.now())
        stage = self._checked_buys(stage, after, notes)
        self.notes += notes
        self.journal.note(self.run_id, "buy_stage", {
            "notes": notes, "proposal": stage.model_dump(mode="json") if stage is not None else None})
        self.ctx.transcript.write("execution", step="buys sized after the sells", orderable_cash=cash, kept=kept,
                                  buys=[o.model_dump(mode="json") for o in (stage.orders if stage else ())],
                                  committed=stage.committed if stage else {}, notes=notes)
        return stage

    def _noted_buy_stage(self) -> tuple[bool, Proposal | None, list[str]]:
        """(decided yet, the buy stage sent or None when it was refused, the notes) from the journal."""
        noted = self.journal.note(self.run_id, "buy_stage")
        if noted is None:
            return False, None, []
        return True, Proposal.model_validate(noted["proposal"]) if noted["proposal"] else None, noted["notes"]

    def _checked_buys(self, stage: Proposal, account: AccountSnapshot, notes: list[str]) -> Proposal | None:
        """``stage`` when every rule that applies to buys passes from now, with the cash there is;
        None (each buy journaled as skipped, with the reason) when one fails."""
        if not stage.orders:
            return stage  # every buy shrunk to nothing: the report says so
        rules = [rid for rid in PLAN_RULES if rid not in NOT_FOR_BUYS]
        report = self._check(stage, account, stage.made_at, rules)
        self.ctx.transcript.write("guardrails", stage="buys", passed=report.passed,
                                  results=[r.model_dump(mode="json") for r in report.results])
        if report.passed:
            return stage
        failed = "; ".join(f"{r.rule_id}: {r.message}" for r in report.failures)
        timing = {r.rule_id for r in report.failures} <= set(SESSION_RULES)
        notes.append(f"buys not sent: from {stage.made_at:%H:%M} they cannot all be sent and done today ({failed})"
                     if timing else f"buys not sent: the re-check after the sells failed ({failed})")
        for order in stage.orders:
            self.desk.skip(order, slice_key(self.run_id, order), "not sent: the buy re-check after the sells "
                           f"failed ({', '.join(r.rule_id for r in report.failures)})")
        return None

    def _buy_times(self, stage: Proposal) -> dict[str, dt.datetime]:
        """The buys' send times: their stage's timetable, made when the sells were done."""
        if self.journal.note(self.run_id, "buy_timetable") is None:  # said once, also across a resume
            self.journal.note(self.run_id, "buy_timetable", True)
            self.ctx.transcript.write("execution", step="buy timetable", start=stage.made_at.isoformat(),
                                      slices=[t.model_dump(mode="json") for t in stage.schedule.slices],
                                      orders=[o.model_dump(mode="json") for o in stage.orders])
        return {t.order_id: t.send_at for t in stage.schedule.slices}
