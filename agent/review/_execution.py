"""The later sections: execution (one row per order slice, fills, steps), report, errors, and
events this reader cannot type."""

from __future__ import annotations

from collections.abc import Sequence

from agent.events import (
    BuysSizedStep,
    BuyTimetableStep,
    CancelledRemainderStep,
    CancelledRestingStep,
    CancelRequestedStep,
    ErrorEvent,
    OpenOrders,
    ReadRetryStep,
    RefusedStep,
    RepricedStep,
    RunReport,
    SliceNotSentStep,
    StageDoneStep,
    TimetableStep,
)
from agent.review._doc import Lines, Section, Table
from agent.review._format import MISSING, bp, hms, integer, krw, pct, pp, text
from agent.review._labels import order_type_name
from agent.review._orders import OrderSlice, order_slices
from agent.review._run import RunView


def slice_state(run: RunView, row: OrderSlice) -> str:
    """What became of the slice, in words (the last fact wins: a lost answer later acknowledged is placed)."""
    w = run.w
    if row.not_sent:
        return w("st not sent", why=row.not_sent.removeprefix("not sent: "))
    if row.refused:
        return w("st refused", why=row.refused)
    if row.lost and not row.placed:
        return w("st lost", why=row.lost)
    if not row.placed:
        return w("st no answer")
    counts = {"filled": integer(row.filled), "quantity": integer(row.quantity)}
    if row.repriced_to:
        return w("st repriced", order_no=row.repriced_to, **counts)
    if row.cancelled:
        return w("st cancelled", **counts)
    if row.quantity and row.filled >= row.quantity:
        return w("st filled")
    if row.journal_status == "done":
        return w("st partly", **counts) if row.filled else w("st unfilled")
    return w("st partly", **counts) if row.filled else w("st working", **counts)


def _sent(run: RunView, row: OrderSlice) -> str:
    if row.sent_at:
        return hms(row.sent_at)  # the journal's send time is the exchange clock's
    return run.when(row.sent) if row.sent is not None else MISSING


def order_rows(run: RunView, slices: Sequence[OrderSlice]) -> list[list[str]]:
    rows = []
    for row in slices:
        order = row.order_id
        if row.repriced_of:
            order = run.w("re-price of", order=row.repriced_of.removeprefix(f"{row.run_id}/"))
        kind = order_type_name(row.order_type, run.language) if row.order_type else MISSING
        filled = f"{integer(row.filled)} @ {krw(row.average_price)}" if row.filled else "0"
        rows.append([order, run.instrument(row.ticker), run.side(row.side), integer(row.quantity), kind,
                     krw(row.price), _sent(run, row), row.order_no or MISSING, filled, slice_state(run, row)])
    return rows


def _steps(run: RunView) -> list[str]:
    w, lines = run.w, []
    for event, step in run.of_execution():
        if isinstance(step, TimetableStep):
            lines.append(w("step timetable", count=len(step.slices), start=hms(step.start), done_by=hms(step.done_by)))
        elif isinstance(step, BuyTimetableStep):
            lines.append(w("step buy timetable", count=len(step.slices), start=hms(step.start)))
        elif isinstance(step, StageDoneStep):
            orders = [e for e in step.orders if e.kind != "cancel" and e.trade_id != "resting"]
            lines.append(w("step done", side=w("sell" if step.step == "sells done" else "buy"), orders=sum(1 for e in orders if e.order_no),
                           filled=integer(sum(e.filled_quantity for e in orders)),
                           quantity=integer(sum(e.quantity for e in orders if e.kind == "new")),
                           amount=krw(sum(e.filled_amount for e in orders))))
        elif isinstance(step, BuysSizedStep):
            lines.append(w("step sized", cash=krw(step.orderable_cash), kept=krw(step.kept), count=len(step.buys),
                           committed=krw(sum(step.committed.values()))))
            lines += step.notes
        elif isinstance(step, RefusedStep):
            lines.append("✗ " + w("step refused", problems="; ".join(step.problems)))
        elif isinstance(step, CancelledRestingStep):
            lines.append(w("step resting", order_no=step.order_no, placed_by=step.placed_by, status=step.status))
        elif isinstance(step, ReadRetryStep):
            lines.append("⚠ " + w("step retry", what=step.what, attempt=step.attempt, error=text(step.error, 200)))
        elif isinstance(step, RepricedStep):
            lines.append(w("step repriced", order=step.key.removeprefix(f"{event.run_id}/"), quantity=step.quantity,
                           price=krw(step.price), order_no=text(step.new_order_no)))
        elif isinstance(step, SliceNotSentStep):
            lines.append(w("step not sent", order=step.key.removeprefix(f"{event.run_id}/"), reason=step.reason))
        elif isinstance(step, CancelledRemainderStep):
            lines.append(w("step cancelled", order=text(step.key).removeprefix(f"{event.run_id}/"),
                           reason=step.reason))
        elif isinstance(step, CancelRequestedStep):
            lines.append("⚠ " + w("step cancel requested", by=step.by, at=hms(step.at)))
    return lines


def execution(run: RunView) -> Section:
    w = run.w
    section = Section(w("execution"))
    for _, resting in run.of(OpenOrders):
        rows = [[o.order_no, run.instrument(o.ticker), run.side(o.side), integer(o.quantity), krw(o.price or None),
                 integer(o.remaining_quantity), o.placed_by] for o in resting.orders]
        section.add(Table([w("ODNO"), w("ticker"), w("side"), w("qty"), w("price"), w("remaining"), w("placed by")],
                          rows, frozenset({3, 4, 5}), caption=w("resting before")))
    slices = order_slices(run)
    section.add(Table([w("order"), w("ticker"), w("side"), w("qty"), w("type"), w("limit"), w("sent"), w("ODNO"),
                       w("filled @ avg"), w("state")], order_rows(run, slices),
                      frozenset({3, 5, 8}), caption=w("orders"), whole=frozenset({0, 6, 7})))
    fills = sorted(((f, row) for row in slices for f in row.fills), key=lambda pair: pair[0].event.seq)
    section.add(Table([w("at"), w("order"), w("ODNO"), w("ticker"), w("side"), w("qty"), w("price"), w("notional KRW")],
                      [[run.when(f.event), row.order_id, row.order_no or MISSING, run.instrument(row.ticker),
                        run.side(row.side), integer(f.quantity), krw(f.price), krw(f.quantity * f.price)]
                       for f, row in fills], frozenset({5, 6, 7}), caption=w("fills"), whole=frozenset({0, 1, 2})))
    section.add(Lines(_steps(run)))
    return section


def report(run: RunView) -> Section:
    w = run.w
    section = Section(w("report"))
    found = run.last(RunReport)
    if found is None:
        return section
    r = found[1]
    section.add(Lines([
        w("summary", outcome=r.outcome, summary=r.summary),
        w("report value", total=krw(r.total_value), cash=krw(r.cash_d2), weight=pct(r.cash_weight),
          target=pct(r.target_cash_weight)),
        w("report drift", drift=pct(r.max_drift), shortfall=bp(r.shortfall_bp)),
        w("report costs", fees=krw(r.fees_and_taxes), orders=r.filled_orders, unfilled=integer(r.unfilled_quantity))]))
    section.add(Table([w("ticker"), w("qty"), w("weight"), w("target"), w("deviation")],
                      [[run.instrument(h.ticker), integer(h.quantity), pct(h.weight), pct(h.target), pp(h.deviation)]
                       for h in r.holdings], frozenset({1, 2, 3, 4}), caption=w("after the run")))
    section.add(Table([w("trade"), w("side"), w("planned"), w("placed"), w("filled"), w("avg price"), w("arrival mid"),
                       w("shortfall"), w("not done")],
                      [[t.trade_id, run.side(t.side), integer(t.planned), integer(t.placed), integer(t.filled),
                        krw(t.average_price or None), krw(t.arrival_mid), bp(t.shortfall_bp),
                        f"{t.not_done:,} ({t.why_not})" if t.why_not else integer(t.not_done)] for t in r.trades],
                      frozenset({2, 3, 4, 5, 6, 7}), caption=w("per trade"), whole=frozenset({0})))
    return section


def errors(run: RunView, notes: Sequence[str]) -> Section:
    w = run.w
    section = Section(w("errors"))
    lines = [f"⚠ {note}" for note in notes]
    unanswered = [s.order_id for s in order_slices(run)
                  if not s.placed and not s.not_sent and not s.refused]
    if unanswered:
        lines.append("⚠ " + w("unanswered", orders=", ".join(unanswered)))
    for event, error in run.of(ErrorEvent):
        lines.append(w("failed at", at=run.when(event), stage=error.stage, error=text(error.error, 500)))
        lines.append(w("account then", state=text(error.account, 300)))
    section.add(Lines(lines))
    return section


def others(run: RunView) -> Section:
    """Events this reader cannot type (a newer or older writer): shown as stored rather than dropped."""
    w = run.w
    section = Section(w("other events"))
    rows = [[str(e.seq), run.when(e), e.kind, text(e.data, 200)] for e in run.unreadable()]
    section.add(Table([w("seq"), w("at"), w("kind"), w("data")], rows, frozenset({0})))
    return section
