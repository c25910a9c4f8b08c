"""The executor: sells first, wait for fills, re-read cash, resize and re-check the buys, then buys.

It is re-entrant: LangGraph replays the ``execute`` node after a crash, and every step here reads
the journal first, so what was sent is never sent again and decisions taken before the crash
(the phase start times, the resized buys) are reused.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any

from agent.context import RunContext
from agent.executor.broker_orders import OrderDesk, crash_point, slice_key
from agent.executor.journal import JournalEntry
from agent.executor.report import final_report
from agent.run_inputs import guardrail_context, plan_quotes
from guardrails import check_all
from tools.kis import KisApiError, NothingToRevise
from tools.market import DEFAULT_COMMISSION, InstrumentKind, OrderType, Phase, price_limits
from tools.netting import NettingResult, Trade
from tools.plan import ExecutionPlan, Order, build_orders

BUY_RULES = ["cash_flow", "krx.whole_quantity", "krx.tick", "krx.price_limit", "plan.slices"]
LAST_ENTRY = dt.timedelta(minutes=11)  # no new "now"/"twap" slice after close − 11 min (15:19)


class Executor:
    def __init__(self, ctx: RunContext, state: dict[str, Any]) -> None:
        self.ctx = ctx
        self.state = state
        self.run_id: str = state["run_id"]
        self.client = ctx.broker.client
        self.clock = ctx.broker.clock
        self.journal = ctx.journal
        self.settings = ctx.config.execution
        self.desk = OrderDesk(self.run_id, self.client, self.journal, ctx.transcript, self.clock)
        self.orders = [Order.model_validate(o) for o in state["orders"]]
        self.netting = NettingResult.model_validate(state["netting"])
        self.notes: list[str] = []

    # --- the run ----------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        self.desk.reconcile_pending()
        self._cancel_resting(everything=bool((self.state.get("approval") or {}).get("cancel_open_orders")))
        sells = [o for o in self.orders if o.side == "sell"]
        self._execute_side("sell", sells)
        crash_point("after_sells")
        buys = self._sized_buys()
        if buys:
            self._execute_side("buy", buys)
        report = final_report(self.ctx, self.state, self.journal.entries(self.run_id))
        self.ctx.transcript.write("report", **report)
        unfilled = report["unfilled_quantity"]
        outcome = "completed" if not unfilled else "completed with unfilled remainders"
        message = f"{report['filled_orders']} orders filled; residual max drift {report['max_drift']:.2%}" + \
                  (f"; {unfilled} shares unfilled" if unfilled else "") + \
                  ("; " + "; ".join(self.notes) if self.notes else "")
        return {"report": report, "outcome": outcome, "message": message,
                "execution": {"notes": self.notes, "orders": [e.model_dump() for e in self.journal.entries(self.run_id)]}}

    def _cancel_resting(self, *, everything: bool) -> None:
        """Cancel an earlier Rebal run's leftovers always; orders Rebal did not place only when the
        person asked to. This run's own working orders (after a resume) are followed, not cancelled."""
        for resting in self.state.get("open_orders", []):
            placed_by = resting.get("placed_by", "not Rebal")
            if placed_by == "this run" or (placed_by == "not Rebal" and not everything):
                continue
            try:
                self.client.cancel_order(resting["order_no"], branch=resting.get("branch", ""))
                self.ctx.transcript.write("execution", step="cancelled a resting order", order_no=resting["order_no"],
                                          placed_by=placed_by)
            except NothingToRevise:
                pass  # filled or lapsed meanwhile

    # --- one side: schedule, send, follow up --------------------------------------------------

    def _phase_start(self, side: str) -> dt.datetime:
        noted = self.journal.note(self.run_id, f"{side}_started")
        if noted:
            return dt.datetime.fromisoformat(noted)
        return dt.datetime.fromisoformat(self.journal.note(self.run_id, f"{side}_started",
                                                           self.clock.now().isoformat()))

    def _scheduled_at(self, order: Order, start: dt.datetime) -> dt.datetime:
        _open_at, close_at = self.ctx.calendar.session_bounds(start.date())
        if order.schedule == "closing_auction":
            return close_at - dt.timedelta(minutes=9)
        at = start
        if order.schedule == "twap" and order.slice_count > 1:
            window = dt.timedelta(minutes=self.settings.twap_minutes)
            at = start + window * (order.slice_no - 1) / order.slice_count
        return min(at, max(start, close_at - LAST_ENTRY))

    def _execute_side(self, side: str, orders: list[Order]) -> None:
        if not orders:
            return
        start = self._phase_start(side)
        self.ctx.say(f"{side}s: {len(orders)} order slice(s)")
        pending = sorted(orders, key=lambda o: (self._scheduled_at(o, start), o.order_id))
        for order in pending:
            self._wait_until(self._scheduled_at(order, start))
            if self.ctx.calendar.phase(self.clock.now()) in (Phase.POST_CLOSE, Phase.CLOSED_DAY):
                self.notes.append(f"{order.order_id} not sent: the session closed")
                continue
            self.desk.send(order)
        self._follow_up(side)
        self.ctx.transcript.write("execution", step=f"{side}s done",
                                  orders=[e.model_dump() for e in self.journal.entries(self.run_id) if e.side == side])

    def _wait_until(self, moment: dt.datetime) -> None:
        delay = (moment - self.clock.now()).total_seconds()
        if delay > 0:
            self.clock.wait(delay)

    def _working(self, side: str) -> list[JournalEntry]:
        return [e for e in self.journal.entries(self.run_id) if e.side == side and e.status == "acked"]

    def _follow_up(self, side: str) -> None:
        """Poll until every slice of ``side`` is done; re-price once, then cancel, what rests too long."""
        window = dt.timedelta(minutes=self.settings.fill_window_minutes)
        day = self.clock.now().date()
        while True:
            records = self.desk.refresh(day)
            working = self._working(side)
            if not working:
                return
            now = self.clock.now()
            if self.ctx.calendar.phase(now) in (Phase.POST_CLOSE, Phase.CLOSED_DAY):
                self.desk.refresh(day)
                for entry in self._working(side):  # lapsed at the close
                    self.journal.update(entry.key, status="done", note="lapsed at the close")
                return
            for entry in working:
                acked = dt.datetime.fromisoformat(entry.acked_at or entry.sent_at or now.isoformat())
                auction = self.ctx.calendar.phase(now) is Phase.CLOSING_AUCTION
                if now - acked >= window and not auction and entry.order_type != OrderType.CONDITIONAL_LIMIT.value:
                    self._reprice_or_cancel(entry, records.get(entry.order_no or ""))
            self.clock.wait(self.settings.poll_seconds)

    def _reprice_or_cancel(self, entry: JournalEntry, record) -> None:
        remaining = record.remaining_quantity if record is not None else entry.quantity - entry.filled_quantity
        if remaining <= 0:
            return
        repriced = entry.attempt >= 100  # re-priced entries carry attempt >= 100
        if self.settings.reprice_unfilled and not repriced:
            book = self.client.order_book(entry.ticker)
            price = book.best_ask if entry.side == "buy" else book.best_bid
            if price:
                key = f"{entry.key}/reprice"
                self.journal.record_intent(entry.model_copy(update={
                    "key": key, "attempt": 100, "quantity": remaining, "price": price, "order_type": "00",
                    "status": "intent", "order_no": None, "filled_quantity": 0, "filled_amount": 0,
                    "sent_at": self.clock.now().isoformat(timespec="seconds"), "note": f"re-price of {entry.key}"}))
                try:
                    ack = self.client.revise_order(entry.order_no, price=price, quantity=remaining, branch=entry.branch or "")
                except NothingToRevise:
                    # Filled, cancelled or lapsed meanwhile: nothing is working any more.
                    self.journal.update(key, status="void", note="nothing left to re-price")
                    self.journal.update(entry.key, status="done", note="nothing left to re-price")
                    return
                except KisApiError as error:
                    self.journal.update(key, status="rejected", note=str(error))
                    self._cancel(entry)
                    return
                self.journal.update(key, status="acked", order_no=ack.order_no, branch=ack.branch,
                                    acked_at=self.clock.now().isoformat(timespec="seconds"))
                self.ctx.transcript.write("execution", step="re-priced an unfilled remainder", key=entry.key,
                                          new_order_no=ack.order_no, price=price, quantity=remaining)
                return
        self._cancel(entry)

    def _cancel(self, entry: JournalEntry) -> None:
        with contextlib.suppress(NothingToRevise):
            self.client.cancel_order(entry.order_no, branch=entry.branch or "")
        self.journal.update(entry.key, status="done", note="remainder cancelled")
        self.ctx.transcript.write("execution", step="cancelled an unfilled remainder", key=entry.key)

    # --- buys after the sells -----------------------------------------------------------------

    def _reservation_price(self, order: Order) -> int:
        """What KIS holds back per share: the limit price, or the upper limit for unpriced orders."""
        if order.limit_price:
            return order.limit_price
        quote = self.state["quotes"][order.ticker]
        return price_limits(quote["base_price"], InstrumentKind(quote["kind"]))[1]

    def _sized_buys(self) -> list[Order]:
        """The buy slices, scaled down pro rata when the cash after the sells falls short (decided
        once per run: a resume reuses the decision)."""
        noted = self.journal.note(self.run_id, "buy_orders")
        if noted is not None:
            return [Order.model_validate(o) for o in noted]
        buys = [o for o in self.orders if o.side == "buy"]
        if not buys:
            return []
        cash = self.client.buying_power().cash
        factor_margin = self.ctx.config.guardrails.cash_flow_factor
        rates = self.ctx.config.guardrails.commission
        cost = sum(o.quantity * self._reservation_price(o) * (1 + rates.get(o.kind, DEFAULT_COMMISSION[o.kind]))
                   for o in buys)
        trades = [t for t in self.netting.trades if t.side == "buy"]
        if cost * factor_margin > cash:
            scale = cash / (cost * factor_margin)
            trades = [t.model_copy(update={"quantity": int(t.quantity * scale),
                                           "notional": int(t.quantity * scale) * t.reference_price})
                      for t in trades]
            trades = [t for t in trades if t.quantity > 0]
            self.notes.append(f"buys scaled to {scale:.1%}: {cash:,} KRW orderable after the sells")
            plan = ExecutionPlan.model_validate(self.state["planner"]["plan"])
            buys = list(build_orders(trades, plan, plan_quotes(self.state)))
        buys = self._checked_buys(buys, trades, cash)
        self.journal.note(self.run_id, "buy_orders", [o.model_dump(mode="json") for o in buys])
        self.ctx.transcript.write("execution", step="buys sized after the sells", orderable_cash=cash,
                                  buys=[o.model_dump(mode="json") for o in buys], notes=self.notes)
        return buys

    def _checked_buys(self, buys: list[Order], trades: list[Trade], cash: int) -> list[Order]:
        from tools.portfolio import AccountSnapshot

        snapshot = AccountSnapshot.model_validate(self.state["account"]["snapshot"])
        fresh = snapshot.model_copy(update={"cash": max(cash, 0)})
        netting = self.netting.model_copy(update={"trades": tuple(trades)})
        report = check_all(guardrail_context(self.ctx, self.state, orders=buys, netting=netting, snapshot=fresh),
                           rules=BUY_RULES, headless=False)
        self.ctx.transcript.write("guardrails", stage="buys", passed=report.passed,
                                  results=[r.model_dump(mode="json") for r in report.results])
        if not report.passed:
            failed = ", ".join(r.rule_id for r in report.failures)
            self.notes.append(f"buys not sent: guardrail(s) {failed} failed after the sells")
            return []
        return buys


__all__ = ["Executor", "slice_key"]
