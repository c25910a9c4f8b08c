"""The first sections of the review, from the typed events: account, drift, trades, planner,
guardrails, approval. A section whose events are absent comes out empty and is skipped."""

from __future__ import annotations

from agent.events import (
    AccountEvent,
    ApprovalEvent,
    ApprovalRequested,
    GuardrailsEvent,
    PlanEvent,
    ReviewerCall,
    TradesEvent,
)
from agent.planner.models import LlmCall, PlannerInput
from agent.review._doc import Lines, Section, Table
from agent.review._format import MISSING, hms, integer, krw, pct, pp, short_hash, sig, text
from agent.review._labels import order_type_name
from agent.review._run import RunView
from agent.state import DriftReading, TargetsReading


def account_section(run: RunView) -> Section:
    w = run.w
    section = Section(w("account"))
    for index, (event, account) in enumerate(run.of(AccountEvent)):
        total = account.total_value
        rows = [[run.instrument(h.ticker), integer(h.quantity), integer(h.sellable_quantity), krw(h.price),
                 krw(h.value), pct(h.value / total if total else None)] for h in account.holdings]
        caption = w("inputs snapshot") if index == 0 else f"{w('re-read at')} {run.when(event)}"
        section.add(Table([w("ticker"), w("qty"), w("sellable"), w("price"), w("value KRW"), w("weight")], rows,
                          frozenset(range(1, 6)), caption=caption))
        section.add(Lines([f"{w('cash D+0')} {krw(account.cash_d0)} KRW · {w('cash D+2')} {krw(account.cash_d2)} KRW"
                           f" · {w('total value')} {krw(account.total_value)} KRW"]))
    return section


def drift_section(run: RunView) -> Section:
    w = run.w
    section = Section(w("drift"))
    targets = run.last(TargetsReading)
    if targets is not None:
        reading = targets[1]
        section.add(Lines([w("targets from", version=text(reading.version), source=reading.source,
                             count=len(reading.flat))]))
    found = run.last(DriftReading)
    if found is None:
        return section
    report, verdict = found[1].report, found[1].verdict
    rows = []
    for row in (*report.mp, *report.sub):
        hits = [b for b in verdict.breaches if b.asset == row.asset and b.level == row.level]
        band = max((b.band for b in hits), default=None)
        fired = "✗ " + ", ".join(dict.fromkeys(b.rule for b in hits)) if hits else ""
        asset = f"{row.class_name}/{run.instrument(row.asset)}" if row.level == "sub" and row.class_name else (
            run.instrument(row.asset) if row.level != "mp" else row.asset)
        rows.append([row.level, asset, pct(row.current), pct(row.target), pp(row.current - row.target),
                     f"±{pct(band)}" if band is not None else MISSING, fired])
    section.add(Table([w("level"), w("asset"), w("weight"), w("target"), w("deviation"), w("band"), w("rule fired")],
                      rows, frozenset({2, 3, 4, 5})))
    lines = [w("triggered", rules=", ".join(verdict.fired) or "—") if verdict.triggered else w("not triggered")]
    section.add(Lines(lines + list(verdict.reasons)))
    return section


def trades_section(run: RunView) -> Section:
    w = run.w
    section = Section(w("trades"))
    found = run.last(TradesEvent)
    if found is None:
        return section
    trades = found[1]
    netting = trades.netting
    rows = [[t.trade_id, run.instrument(t.ticker), run.side(t.side), integer(t.quantity), krw(t.reference_price),
             krw(t.notional), krw(t.commission + t.tax), t.reason] for t in netting.trades]
    section.add(Table([w("id"), w("ticker"), w("side"), w("qty"), w("ref price"), w("notional KRW"),
                       w("est. cost KRW"), w("reason")], rows, frozenset({3, 4, 5, 6})))
    lines = [] if netting.trades else [w("no trades")]
    lines.append(w("turnover line", turnover=krw(netting.turnover), costs=krw(netting.commission + netting.tax),
                   commission=krw(netting.commission), tax=krw(netting.tax)))
    lines.append(w("error line", error=pct(netting.error), bound=pct(netting.lower_bound),
                   largest=pct(netting.max_deviation)))
    lines.append(w("solver line", solver=netting.solver, status=netting.solver_status,
                   seconds=f"{netting.solve_seconds:.2f}"))
    if netting.fallback_reason:
        lines.append(f"⚠ {netting.fallback_reason}")
    lines.append(w("cash line", before=krw(netting.cash_before), after=krw(netting.cash_after)))
    if trades.edits:
        edits = "; ".join(f"{e.kind} {e.trade_id or e.ticker}" + (f" → {e.quantity}" if e.quantity is not None else "")
                          + (f" → {order_type_name(e.order_type, run.language)}" if e.order_type else "")
                          for e in trades.edits)
        lines.append(w("edits", edits=edits))
    section.add(Lines(lines + trades.edit_notes))
    return section


def _cost(usd: float) -> str:
    return f"${usd:.4f}"


def planner_section(run: RunView) -> Section:
    w = run.w
    section = Section(w("planner"))
    for event, inputs in run.of(PlannerInput):
        section.add(Lines([w("planner input", at=run.when(event), trades=len(inputs.trades), phase=inputs.phase,
                             minutes=sig(inputs.minutes_to_close, 4))]))
    calls, excerpts = [], []
    llm_calls = [(e, m) for e, m in zip(run.events, run.models, strict=True) if isinstance(m, LlmCall | ReviewerCall)]
    for number, (event, call) in enumerate(llm_calls, start=1):
        attempt = w("reviewer") if isinstance(call, ReviewerCall) else str(call.attempt)
        calls.append([str(number), run.when(event), call.model, attempt, text(call.finish_reason),
                      integer(call.input_tokens), integer(call.output_tokens), integer(call.total_tokens),
                      _cost(call.cost_usd), f"✗ {text(call.error, 160)}" if call.error else ""])
        if call.raw_text:
            excerpts.append(w("response", number=number, text=text(call.raw_text, 300)))
    section.add(Table(["#", w("at"), w("model"), w("attempt"), w("finish"), w("tokens in"), w("tokens out"),
                       w("total"), w("cost"), w("error")], calls, frozenset({5, 6, 7, 8}),
                      caption=w("llm calls") if calls else None))
    section.add(Lines(excerpts))
    for _, plan in run.of(PlanEvent):
        lines = [w("planned by", planner=plan.planner, reason=plan.reason)]
        if plan.digest:
            lines.append(w("plan hash", hash=short_hash(plan.digest)))
        section.add(Lines(lines))
        rows = [[c.trade_id, order_type_name(c.order_type, run.language), text(c.price_rule), str(c.offset_ticks),
                 str(c.slices), c.schedule, c.rationale] for c in plan.plan.choices]
        section.add(Table([w("trade"), w("order type"), w("price rule"), w("offset ticks"), w("slices"),
                           w("schedule"), w("rationale")], rows, frozenset({3, 4})))
    return section


def guardrails_section(run: RunView) -> Section:
    w = run.w
    section = Section(w("guardrails"))
    for event, check in run.of(GuardrailsEvent):
        rows = [["✓" if r.passed else "✗", r.rule_id, r.scope, r.message] for r in check.results]
        section.add(Table([w("ok"), w("rule"), w("scope"), w("message")], rows,
                          caption=w(f"stage {check.stage or 'plan'}", at=run.when(event))))
        failed = [r.rule_id for r in check.results if not r.passed]
        summary = w("failed rules", rules=", ".join(failed)) if failed else w("all passed", count=len(rows))
        if check.auto_approvable is not None:
            summary += "; " + w("auto-approvable", answer=w("yes" if check.auto_approvable else "no"))
        section.add(Lines([summary]))
    return section


def approval_section(run: RunView) -> Section:
    w = run.w
    section = Section(w("approval"))
    lines: list[str] = []
    requested: str | None = None
    for event, model in zip(run.events, run.models, strict=True):
        if isinstance(model, ApprovalRequested):
            requested = model.plan_hash
            lines.append(w("requested", at=run.when(event), hash=short_hash(model.plan_hash)))
            failures = ", ".join(model.failures) or "—"
            if model.blocked:
                lines.append(f"✗ {w('requested blocked', failures=failures)}")
            elif model.waiting:
                lines.append(f"⚠ {w('requested waiting', failures=failures)}")
        elif isinstance(model, ApprovalEvent):
            mark = {"approve": "✓", "reject": "✗"}.get(model.decision, "✎")  # an edit or undo approves nothing
            # The answer's own time is the wall clock (UTC); the event's is the exchange's when recorded.
            at = run.when(event) if event.market_at else hms(model.at)
            lines.append(w("answered", mark=mark, decision=w(model.decision), by=model.by, at=at,
                           hash=short_hash(model.plan_hash)))
            if requested and model.plan_hash != requested:
                lines.append(w("hash mismatch", answered=short_hash(model.plan_hash), requested=short_hash(requested)))
            for edit in model.edits:
                what = {"quantity": f"{edit.trade_id} quantity → {edit.quantity}", "exclude": f"exclude {edit.ticker}",
                        "order_type": f"{edit.trade_id} order type → {edit.order_type}"}[edit.kind]
                lines.append(w("edit detail", edit=what))
            if model.note:
                lines.append(w("note", note=text(model.note, 300)))
            if model.cancel_open_orders:
                lines.append(w("cancel open orders"))
    section.add(Lines(lines))
    return section
