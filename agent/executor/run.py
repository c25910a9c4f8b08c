"""The executor: sells first, each slice at its timetable time; then the buys, re-sized to the cash
there is and re-checked from the actual moment; then a report made from the journal.

Before the first order the whole plan's timetable (``tools.schedule``) is rebuilt from the actual
moment and the session rules re-run: a plan that cannot finish today is refused before any order
is sent. At the buy stage the buys' timetable is rebuilt again from the moment the sells are done
and the buys re-checked with every plan rule that applies to them, session rules included; buys
that can no longer go out in full make a truthful partial outcome, never a silent success.

It is re-entrant: LangGraph replays the ``execute`` node after a crash, and every step here reads
the journal first, so what was sent is never sent again and decisions taken before the crash (the
timetable, the resized buys) are reused.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from agent.context import RunContext
from agent.executor.account_state import owner_for
from agent.executor.broker_orders import OrderDesk, slice_key
from agent.executor.buys import SESSION_RULES, BuyStage
from agent.executor.report import final_report
from agent.journal import JournalEntry
from agent.run_inputs import guardrail_limits
from agent.state import RunState
from guardrails import GuardrailReport, check
from tools.kis import AuthError, KisApiError, KisError, KisTransportError, PagingError, RateLimited
from tools.market import OrderType, Phase, order_type_allowed
from tools.plan import Order
from tools.portfolio import AccountSnapshot
from tools.proposal import Proposal
from tools.schedule import SessionDay, make_timetable

WAIT_STEP_SECONDS = 5.0  # market seconds between looks at a person's cancel while waiting for a slice


class BrokerUnavailable(RuntimeError):
    """The broker kept failing past the run's fault budget: the run stops, resumable."""


def _transient(error: Exception) -> bool:
    if isinstance(error, KisTransportError | RateLimited | AuthError | PagingError):
        return True
    return isinstance(error, KisApiError) and error.http_status >= 500


class Executor(BuyStage):
    def __init__(self, ctx: RunContext, state: RunState) -> None:
        assert state.proposal is not None  # only an approved proposal reaches the executor
        self.ctx = ctx
        self.state = state
        self.proposal: Proposal = state.proposal
        self.limits = guardrail_limits(ctx, state.excluded)
        self.run_id = state.run_id
        self.client = ctx.broker.client
        self.clock = ctx.broker.clock
        self.journal = ctx.journal
        self.settings = ctx.config.execution
        self.timetable = ctx.config.timetable
        self.money = ctx.config.money
        now = self.clock.now()
        self.session = SessionDay.of(ctx.calendar, now)
        self.day = now.date()
        self.owner = owner_for(ctx.broker, self.journal, self.day)
        self.desk = OrderDesk(self.run_id, self.client, self.journal, ctx.transcript, self.clock, self.owner,
                              reconcile_reads=self.settings.reconcile_reads,
                              reconcile_seconds=self.settings.reconcile_seconds,
                              max_attempts=self.settings.max_send_attempts)
        self.orders = list(self.proposal.orders)
        self.notes: list[str] = []
        self._failing_since: dt.datetime | None = None

    # --- the run ----------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        self.desk.settle_pending()
        started = self.journal.note(self.run_id, "timetable")
        if started is None and not self.journal.entries(self.run_id):
            problems = self._start_problems()
            if problems:
                return self._refused(problems)
        self._cancel_resting()
        sells = [o for o in self.orders if o.side == "sell"]
        if sells:
            self._stage("sell", sells, self._times("sell", sells))
        decided, stage, _ = self._noted_buy_stage()
        if self._stopped() and not decided:
            for order in (o for o in self.orders if o.side == "buy"):
                self.desk.skip(order, slice_key(self.run_id, order), self._stop_reason())
        else:
            stage = self._buy_stage()
            if stage is not None and stage.orders:
                self._stage("buy", list(stage.orders), self._buy_times(stage))
        if self._stopped():
            self.notes.append(self._stop_reason().removeprefix("not sent: "))
        return self._finish()

    # --- a person's "cancel the remaining slices" -------------------------------------------

    def _stopped(self) -> bool:
        """A person asked to cancel the remaining slices: now (the live view's key), or before a
        crash (the journal's note). The first time it is seen, it is journaled and written down."""
        if self.journal.note(self.run_id, "stop") is not None:
            return True
        if not self.ctx.stop.requested:
            return False
        now = self.clock.now()
        self.journal.note(self.run_id, "stop", {"by": self.ctx.stop.by, "at": now.isoformat()})
        self.ctx.transcript.write("execution", step="cancel requested", by=self.ctx.stop.by, at=now.isoformat())
        return True

    def _stop_reason(self) -> str:
        stop = self.journal.note(self.run_id, "stop") or {}
        at = dt.datetime.fromisoformat(stop["at"]) if stop.get("at") else self.clock.now()
        return f"not sent: the remaining slices were cancelled by {stop.get('by') or 'a person'} at {at:%H:%M:%S}"

    def _stop_stage(self, side: str, pending: dict[str, Order]) -> None:
        """Nothing more goes out: unsent slices are skipped, working ones cancelled (each journaled)."""
        why = self._stop_reason()
        for order in list(pending.values()):
            self.desk.skip(order, slice_key(self.run_id, order), why)
            del pending[order.order_id]
        for entry in self.desk.working(side):
            if entry.trade_id != "resting":
                self.desk.cancel(entry, why.removeprefix("not sent: "))

    def _start_problems(self) -> list[str]:
        """Why the plan cannot be executed from now, checked before any order (empty: it can)."""
        now = self.clock.now()
        table = self.proposal.rescheduled(now).schedule
        # The session guardrails judge the same timetable: their verdicts carry its problems.
        report = self._check(self.proposal, self.state.snapshot, now, SESSION_RULES)
        self.ctx.transcript.write("guardrails", stage="execution start", passed=report.passed,
                                  results=[r.model_dump(mode="json") for r in report.results])
        problems = [f"{r.rule_id}: {r.message}" for r in report.failures]
        if not problems:
            self.journal.note(self.run_id, "timetable", {s.order_id: s.send_at.isoformat() for s in table.slices})
            self.ctx.transcript.write("execution", step="timetable", start=now.isoformat(),
                                      slices=[s.model_dump(mode="json") for s in table.slices],
                                      done_by=table.done_by.isoformat(),
                                      orders=[o.model_dump(mode="json") for o in self.proposal.orders])
        return problems

    def _check(self, proposal: Proposal, account: AccountSnapshot, at: dt.datetime,
               rules: tuple[str, ...] | list[str]) -> GuardrailReport:
        return check(proposal, account, at, self.limits, rules=rules, headless=False)

    def _refused(self, problems: list[str]) -> dict[str, Any]:
        listed = "; ".join(problems[:4]) + (f"; … {len(problems) - 4} more" if len(problems) > 4 else "")
        message = (f"not started at {self.clock.now():%H:%M} KST: the plan cannot be executed in full today "
                   f"({listed}). No order was sent; the account is as it was.")
        self.ctx.transcript.write("execution", step="refused before the first order", problems=problems)
        return {"outcome": "blocked", "message": message, "report": {},
                "execution": {"notes": problems, "orders": []}}

    def _times(self, side: str, orders: list[Order]) -> dict[str, dt.datetime]:
        noted = self.journal.note(self.run_id, "timetable") or {}
        now = self.clock.now()
        missing = [o for o in orders if o.order_id not in noted]
        if missing:  # e.g. a run resumed from an older version: schedule what is left from now
            table = make_timetable(missing, now, self.session, self.timetable)
            noted |= {s.order_id: s.send_at.isoformat() for s in table.slices}
        return {o.order_id: dt.datetime.fromisoformat(noted[o.order_id]) if o.order_id in noted else now
                for o in orders}

    # --- leftovers of earlier runs -------------------------------------------------------------

    def _cancel_resting(self) -> None:
        """Cancel what an earlier Rebal run left resting on this account today (by the journal's
        ownership, never by a label alone); orders Rebal did not place only when a person asked to
        in an interactive approval. This run's own orders (after a resume) are followed instead."""
        approval = self.state.approval
        person_asked = approval is not None and approval.cancel_open_orders and approval.by != "auto-approve" \
            and not self.ctx.headless
        this_run = {e.order_no for e in self.journal.entries(self.run_id) if e.order_no}
        ours = self.journal.claimed_order_nos(self.owner) - this_run
        for resting in self.state.open_orders:
            number = resting.order_no
            if number in this_run or (number not in ours and not person_asked):
                continue
            placed_by = "an earlier Rebal run" if number in ours else "not Rebal"
            pseudo = JournalEntry(key=f"{self.run_id}/resting/{number}", run_id=self.run_id, trade_id="resting",
                                  slice_no=0, attempt=1, ticker=resting.ticker, side=resting.side,
                                  quantity=resting.remaining_quantity, order_type=resting.order_type,
                                  price=resting.price, status="acked", order_no=number, branch=resting.branch,
                                  action="new")
            entry = self.desk.cancel(pseudo, f"resting order placed by {placed_by}")
            self.ctx.transcript.write("execution", step="cancelled a resting order", order_no=number,
                                      placed_by=placed_by, status=entry.status)

    # --- one stage: send each slice at its time, follow up ------------------------------------

    def _send_problem(self, order: Order, now: dt.datetime) -> str | None:
        phase = self.session.phase(now)
        if phase in (Phase.POST_CLOSE, Phase.CLOSED_DAY):
            return f"not sent: the session closed before its time ({now:%H:%M})"
        if not order_type_allowed(OrderType(order.order_type), phase):
            return (f"not sent: {order.order_type.value} {order.order_type.korean_name} is not accepted in the "
                    f"{phase.value.replace('_', ' ')} ({now:%H:%M})")
        return None

    def _stage(self, side: str, orders: list[Order], times: dict[str, dt.datetime]) -> None:
        self.ctx.say(f"{side}s: {len(orders)} order slice(s)")
        pending = {o.order_id: o for o in orders}
        retry_at: dict[str, dt.datetime] = {}
        poll = dt.timedelta(seconds=self.settings.poll_seconds)
        while True:
            if self._stopped():
                self._stop_stage(side, pending)
            now = self.clock.now()
            for order in sorted(pending.values(), key=lambda o: (times[o.order_id], o.order_id)):
                due = max(times[order.order_id], retry_at.get(order.order_id, times[order.order_id]))
                if due > now:
                    continue
                if self._send_one(order, now, retry_at):
                    del pending[order.order_id]
            records = self._read("today's orders", self.desk.refresh, self.day)
            now = self.clock.now()
            self._follow_up(side, records, now)
            for entry in self.desk.unsettled(side):  # lost answers not settled yet: look again
                self.desk.reconcile(entry)
            working = self.desk.working(side)
            unsettled = self.desk.unsettled(side)
            if not pending and not working and not unsettled:
                break
            if self.session.phase(now) in (Phase.POST_CLOSE, Phase.CLOSED_DAY):
                self._closed(side, pending)
                break
            dues = [max(times[o], retry_at.get(o, times[o])) for o in pending]
            next_due = min(dues, default=None)
            if working or unsettled:
                wake = now + poll if next_due is None else min(now + poll, next_due)
            else:
                wake = next_due if next_due is not None else now + poll
            self._wait_until(max(wake, now + dt.timedelta(seconds=0.001)))
        self.ctx.transcript.write("execution", step=f"{side}s done",
                                  orders=[e.model_dump() for e in self.journal.entries(self.run_id) if e.side == side])

    def _send_one(self, order: Order, now: dt.datetime, retry_at: dict[str, dt.datetime]) -> bool:
        """Send (or settle) one due slice; True when nothing more is to be done for it."""
        base = slice_key(self.run_id, order)
        latest = self.desk.latest(base)
        poll = dt.timedelta(seconds=self.settings.poll_seconds)
        if latest is not None and latest.status in ("sent", "unknown"):
            latest = self.desk.reconcile(latest)
            if latest.status == "unknown":  # not known whether it is on the book: never sent again blindly
                retry_at[order.order_id] = self.clock.now() + poll
                return False
        if latest is not None and latest.status in ("acked", "done", "rejected", "skipped"):
            return True
        if latest is not None and latest.status == "void" and latest.attempt >= self.settings.max_send_attempts:
            self.notes.append(f"{order.order_id} not placed after {latest.attempt} attempts")
            return True
        problem = self._send_problem(order, now)
        if problem:
            self.desk.skip(order, base, problem)
            return True
        entry = self.desk.send(order, base)
        if entry.status == "void":
            if entry.attempt >= self.settings.max_send_attempts:
                self.notes.append(f"{order.order_id} not placed after {entry.attempt} attempts: {entry.note}")
                return True
            backoff = min(self.settings.poll_seconds, 2.0 ** entry.attempt)
            retry_at[order.order_id] = self.clock.now() + dt.timedelta(seconds=backoff)
            return False
        if entry.status in ("sent", "unknown"):
            retry_at[order.order_id] = self.clock.now() + poll
            return False
        return True

    def _closed(self, side: str, pending: dict[str, Order]) -> None:
        """After the close: what rested has lapsed (the exchange says how much filled)."""
        self._read("today's orders", self.desk.refresh, self.day)
        for entry in self.desk.working(side):
            self.journal.update(entry.key, status="done", note="lapsed at the close")
        for order in pending.values():
            self.desk.skip(order, slice_key(self.run_id, order), "not sent: the session closed before its time")

    def _wait_until(self, moment: dt.datetime) -> None:
        """Wait in steps, so a person's cancel is seen within one step even during a long TWAP wait."""
        while (delay := (moment - self.clock.now()).total_seconds()) > 0 and not self.ctx.stop.requested:
            self.clock.wait(min(delay, WAIT_STEP_SECONDS))

    def _read(self, what: str, fn, *args, **kwargs):
        """A broker read, retried through transient faults for at most the run's fault budget."""
        attempt = 0
        while True:
            try:
                result = fn(*args, **kwargs)
            except KisError as error:
                if not _transient(error):
                    raise
                now = self.clock.now()
                self._failing_since = self._failing_since or now
                failing = (now - self._failing_since).total_seconds()
                if failing >= self.settings.fault_budget_seconds:
                    raise BrokerUnavailable(
                        f"{what}: the broker kept failing for {failing:.0f} s ({error}); the run stopped") from None
                attempt += 1
                self.ctx.transcript.write("execution", step="broker read failed, retrying", what=what,
                                          error=str(error), attempt=attempt)
                self.clock.wait(min(self.settings.poll_seconds, 2.0 ** attempt))
                continue
            self._failing_since = None
            return result

    # --- re-pricing: once, within the approval's tolerance, else cancel -----------------------

    def _follow_up(self, side: str, records, now: dt.datetime) -> None:
        window = self.timetable.fill_window
        if self._stopped():
            return  # a person cancelled the remaining slices: nothing is re-priced
        if self.session.phase(now) is not Phase.CONTINUOUS:
            return  # auction orders settle at the single price; what rests at the close lapses
        for entry in self.desk.working(side):
            if entry.order_type == OrderType.CONDITIONAL_LIMIT.value or entry.trade_id == "resting":
                continue  # a conditional limit's rest goes to the closing auction by design
            record = records.get(entry.order_no or "")
            if record is None or record.remaining_quantity <= 0:
                continue
            acked = dt.datetime.fromisoformat(entry.acked_at or entry.sent_at or now.isoformat())
            if now - acked < window:
                continue
            if entry.kind == "new" and self.timetable.reprice_unfilled and \
                    self.journal.get(f"{entry.key}/reprice") is None:
                self._reprice(entry, record.remaining_quantity)
            else:
                self.desk.cancel(entry, "unfilled after its fill window" +
                                 (" (already re-priced once)" if entry.kind == "revise" else ""))

    def _reprice(self, entry: JournalEntry, remaining: int) -> None:
        book = self._read(f"order book {entry.ticker}", self.client.order_book, entry.ticker)
        price = book.best_ask if entry.side == "buy" else book.best_bid
        quote = self.proposal.quotes.get(entry.ticker)
        tolerance = self.ctx.config.approval.quote_tolerance_bp
        if price is None or quote is None:
            self.desk.cancel(entry, "unfilled after its fill window; no price to re-price at")
            return
        mid = (quote.bid + quote.ask) / 2
        adverse_bp = ((price - mid) if entry.side == "buy" else (mid - price)) / mid * 10_000
        if adverse_bp > tolerance:
            why = (f"unfilled after its fill window; a re-price to {price:,} is {adverse_bp:.0f} bp from the plan's "
                   f"quote, beyond the approval's price tolerance of {tolerance:g} bp: remainder cancelled")
            self.notes.append(f"{entry.trade_id}: {why}")
            self.desk.cancel(entry, why)
            return
        revised = self.desk.revise(entry, price=price, quantity=remaining)
        if revised.status == "acked":
            self.ctx.transcript.write("execution", step="re-priced an unfilled remainder", key=entry.key,
                                      new_order_no=revised.order_no, price=price, quantity=remaining)
        elif revised.status in ("void", "rejected"):
            self.desk.cancel(entry, f"re-price not accepted ({revised.note}): remainder cancelled")

    # --- the end: the report, from the journal and the broker ----------------------------------

    def _finish(self) -> dict[str, Any]:
        self._read("today's orders", self.desk.refresh, self.day)
        unsettled = self.desk.unsettled()
        if unsettled:
            listed = ", ".join(f"{e.side} {e.quantity} {e.ticker}" for e in unsettled)
            raise BrokerUnavailable(f"the broker's answer to {len(unsettled)} order action(s) is still unknown "
                                    f"({listed}); the run stopped")
        balance = self._read("the balance", self.client.balance)
        entries = self.journal.entries(self.run_id)
        _, stage, _ = self._noted_buy_stage()
        sent = {t.trade_id: t.quantity for t in stage.trades} if stage is not None else None
        assert self.state.targets is not None and self.state.account is not None
        report = final_report(self.proposal, self.state.targets, self.state.account.costs_today, entries, balance,
                              buys_sent=sent, notes=self.notes)
        self.ctx.transcript.write("report", **report)
        return {"report": report, "outcome": report["outcome"], "message": report["summary"],
                "execution": {"notes": self.notes, "orders": [e.model_dump() for e in entries]}}


__all__ = ["BrokerUnavailable", "Executor", "slice_key"]
