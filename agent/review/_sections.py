"""From transcript events to a ``Document``: header, then one section per stage of the run.

Field names follow the kinds documented in ``agent/transcript.py``; ``pick`` also looks one level
down, so a writer may pass a whole model (``report=...``) or spread its fields. A section whose
events are absent is skipped; kinds this reader does not know are listed at the end.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from agent.review._doc import Lines, Section, Table
from agent.review._format import (
    MISSING,
    clock,
    diff,
    integer,
    krw,
    num,
    pct,
    pick,
    pp,
    records,
    short_hash,
    sig,
    text,
)
from agent.transcript import TranscriptEvent

KNOWN_KINDS = frozenset({
    "run_started", "account", "targets", "drift", "trades", "planner_input", "llm_call", "reviewer_call", "plan",
    "guardrails",
    "approval_requested", "approval", "open_orders", "order_intent", "order_ack", "order_error", "fill",
    "execution", "report", "run_finished", "error"})
# Display labels of KIS order-division codes (ORD_DVSN), as in tools.plan.
ORDER_TYPES = {"00": "limit", "01": "market", "02": "conditional", "03": "best counter", "04": "best own"}


def of(events: Sequence[TranscriptEvent], kind: str) -> list[TranscriptEvent]:
    return [e for e in events if e.kind == kind]


def last(events: Sequence[TranscriptEvent], kind: str) -> TranscriptEvent | None:
    found = of(events, kind)
    return found[-1] if found else None


# --- facts shared by the summary and the header ----------------------------------------------------


def decision(data: Mapping[str, Any]) -> str | None:
    value = pick(data, "decision", "status")
    if value is None and isinstance(data.get("approved"), bool):
        value = "approved" if data["approved"] else "rejected"
    return None if value is None else str(value)


def outcome(events: Sequence[TranscriptEvent]) -> str:
    finished = last(events, "run_finished")
    if finished is not None:
        stated = pick(finished.data, "outcome", "status")
        if stated is not None:
            return text(stated).replace("_", " ")
        code = num(pick(finished.data, "exit_code"))
        return "completed" if not code else f"failed (exit {round(code)})"
    if of(events, "error"):
        return "failed"
    answer, asked = last(events, "approval"), last(events, "approval_requested")
    if answer is not None and (decision(answer.data) or "").lower() in ("rejected", "reject", "declined"):
        return "rejected"
    if asked is not None and (answer is None or answer.seq < asked.seq):
        return "awaiting approval"
    return "in progress"


def planner(events: Sequence[TranscriptEvent]) -> str | None:
    calls = of(events, "llm_call")
    model = pick(calls[-1].data, "model", "model_name") if calls else None
    plan = last(events, "plan")
    name = pick(plan.data, "planner") if plan is not None else None
    if plan is not None and name is not None:
        model = pick(plan.data, "model") or model  # the plan's own model wins over the last call's
        return f"llm:{model}" if str(name) == "llm" and model else str(name)
    return f"llm:{model or '?'}" if calls else None


def mode(events: Sequence[TranscriptEvent]) -> str | None:
    started = last(events, "run_started")
    if started is None:
        return None
    stated = pick(started.data, "mode")
    if stated is None and isinstance(pick(started.data, "auto_approve"), bool):
        return "headless" if pick(started.data, "auto_approve") else "interactive"
    return None if stated is None else str(stated)


def targets_version(events: Sequence[TranscriptEvent]) -> Any:
    # A bare "version" only on the targets event: elsewhere it could be Rebal's own version.
    for kind, names in (("run_started", ("targets_version",)), ("targets", ("version", "targets_version")),
                        ("drift", ("targets_version",)), ("trades", ("targets_version",))):
        for event in of(events, kind):
            found = pick(event.data, *names)
            if found is not None:
                return found
    return None


# --- sections ------------------------------------------------------------------------------------


def account_section(events: Sequence[TranscriptEvent]) -> Section:
    section = Section("Account")
    for index, event in enumerate(of(events, "account")):
        d = event.data
        holdings = []
        for h in records(pick(d, "holdings", "positions")):
            qty, price = num(pick(h, "quantity", "qty")), num(pick(h, "price", "reference_price", "current_price"))
            value = num(h.get("value")) if h.get("value") is not None else (qty * price if qty is not None
                                                                             and price is not None else None)
            holdings.append((h, qty, price, value))
        total = num(pick(d, "total_value", "equity", "total"))
        values = [value for *_, value in holdings]
        if total is None and num(pick(d, "cash")) is not None and None not in values:
            total = (num(pick(d, "cash")) or 0) + sum(v for v in values if v is not None)  # a bare snapshot
        rows = []
        for h, qty, price, value in holdings:
            weight = h.get("weight") if h.get("weight") is not None else (value / total if value is not None
                                                                          and total else None)
            name = f" {h['name']}" if h.get("name") else ""
            rows.append([f"{text(h.get('ticker'))}{name}", integer(qty), integer(h.get("sellable_quantity")),
                         krw(price), krw(value), pct(weight)])
        caption = "inputs snapshot" if index == 0 else f"re-read at {clock(event.at)}"
        section.add(Table(["ticker", "qty", "sellable", "price", "value KRW", "weight"], rows,
                          frozenset(range(1, 6)), caption=caption))
        money = [f"{label} {krw(pick(d, *names))} KRW" for label, names in (
            ("cash", ("cash",)), ("cash D+0", ("cash_d0", "d0")), ("cash D+2", ("cash_d2", "d2")),
            ("total value", ("total_value", "equity", "total"))) if pick(d, *names) is not None]
        section.add(Lines([" · ".join(money)] if money else []))
    return section


def drift_section(events: Sequence[TranscriptEvent]) -> Section:
    section = Section("Drift")
    targets = last(events, "targets")
    drift = last(events, "drift")
    if targets is not None:
        d = targets.data
        weights = pick(d, "weights", "flat", "targets")
        count = f", {len(weights)} instruments" if isinstance(weights, Mapping) else ""
        section.add(Lines([f"targets version {text(pick(d, 'version', 'targets_version'))} "
                           f"from {text(pick(d, 'source'))}{count}"]))
        if drift is None and isinstance(weights, Mapping):
            section.add(Table(["ticker", "target"], [[str(k), pct(v)] for k, v in weights.items()], frozenset({1})))
    if drift is None:
        return section
    d = drift.data
    rows = records(pick(d, "rows")) or [*records(pick(d, "mp")), *records(pick(d, "sub"))]
    current, wanted = pick(d, "instrument_weights"), pick(d, "instrument_targets")
    if not rows and isinstance(current, Mapping | None) and isinstance(wanted, Mapping):
        current = current or {}
        rows = [{"asset": t, "current": current.get(t, 0.0), "target": w} for t, w in wanted.items()]
    breaches = records(pick(d, "breaches"))
    policy = pick(d, "policy") if isinstance(pick(d, "policy"), Mapping) else {}
    table = []
    for row in rows:
        level, asset = str(row.get("level") or "mp"), text(pick(row, "asset", "ticker"))
        now, target = num(pick(row, "current", "weight")), num(row.get("target"))
        deviation = row.get("deviation") if row.get("deviation") is not None else diff(now, target)
        hits = [b for b in breaches if text(b.get("asset")) == asset and str(b.get("level") or level) == level]
        band = max((num(b.get("band")) or 0.0 for b in hits), default=None) if hits else (
            row.get("band") if row.get("band") is not None else policy.get(f"{level}_band"))
        fired = "✗ " + ", ".join(dict.fromkeys(text(b.get("rule")) for b in hits)) if hits else ""
        where = f"{row['class_name']}/{asset}" if level == "sub" and row.get("class_name") else asset
        table.append([level, where, pct(now), pct(target), pp(deviation), f"±{pct(band)}" if band is not None
                      else MISSING, fired])
    section.add(Table(["level", "asset", "weight", "target", "deviation", "band", "rule fired"], table,
                      frozenset({2, 3, 4, 5})))
    triggered, fired = pick(d, "triggered"), pick(d, "fired")
    verdict = []
    if triggered is not None or fired:
        names = ", ".join(map(str, fired)) if isinstance(fired, list) and fired else "none"
        verdict.append(f"rebalance {'triggered' if triggered or fired else 'not triggered'}; rules fired: {names}")
    reasons = pick(d, "reasons")
    verdict += [text(r) for r in reasons] if isinstance(reasons, list) else []
    section.add(Lines(verdict))
    return section


def trades_section(events: Sequence[TranscriptEvent]) -> Section:
    section = Section("Trades")
    event = last(events, "trades")
    if event is None:
        return section
    d = event.data
    trades = records(pick(d, "trades"))
    rows = []
    for t in trades:
        qty, price = num(pick(t, "quantity", "qty")), num(pick(t, "reference_price", "price"))
        notional = t.get("notional") if t.get("notional") is not None else (
            qty * price if qty is not None and price is not None else None)
        cost = pick(t, "est_costs", "est_cost", "cost")
        if cost is None and (t.get("commission") is not None or t.get("tax") is not None):
            cost = (num(t.get("commission")) or 0) + (num(t.get("tax")) or 0)
        rows.append([text(pick(t, "trade_id", "id")), text(t.get("ticker")), text(t.get("side")), integer(qty),
                     krw(price), krw(notional), krw(cost), text(t.get("reason"))])
    section.add(Table(["id", "ticker", "side", "qty", "ref price", "notional KRW", "est. cost KRW", "reason"],
                      rows, frozenset({3, 4, 5, 6})))
    lines = [] if trades else ["no trades"]
    turnover = pick(d, "turnover")
    if turnover is not None:
        lines.append(f"turnover {krw(turnover)} KRW · est. costs {krw(estimated_costs(d))} KRW "
                     f"(commission {krw(pick(d, 'commission'))}, tax {krw(pick(d, 'tax'))})")
    if pick(d, "error") is not None:
        error, bound = num(pick(d, "error")), num(pick(d, "lower_bound"))
        gap = diff(error, bound)
        gap = 0.0 if gap is not None and abs(gap) < 1e-12 else gap  # float noise when the solver is at the bound
        gap_text = f" (gap {sig(gap)})" if gap is not None else ""
        lines.append(f"weight error {sig(error)} vs lower bound {sig(bound)}{gap_text}; "
                     f"largest deviation {pct(pick(d, 'max_deviation'))}")
    if pick(d, "solver") is not None:
        lines.append(f"solver {text(pick(d, 'solver'))} ({text(pick(d, 'solver_status'))}) "
                     f"in {sig(pick(d, 'solve_seconds'), 3)} s")
    if pick(d, "fallback_reason"):
        lines.append(f"⚠ solver fallback: {text(pick(d, 'fallback_reason'))}")
    if pick(d, "cash_before") is not None:
        lines.append(f"cash {krw(pick(d, 'cash_before'))} → {krw(pick(d, 'cash_after'))} KRW (expected)")
    section.add(Lines(lines))
    return section


def estimated_costs(d: Mapping[str, Any]) -> float | None:
    stated = num(pick(d, "est_costs", "costs"))
    if stated is not None:
        return stated
    parts = [num(pick(d, key)) for key in ("commission", "tax")]
    return sum(p for p in parts if p is not None) if any(p is not None for p in parts) else None


def _llm_cost(d: Mapping[str, Any]) -> str:
    if pick(d, "cost_usd") is not None:
        value = num(pick(d, "cost_usd"))
        return MISSING if value is None else f"${value:.4f}"
    if pick(d, "cost_krw") is not None:
        return f"{krw(pick(d, 'cost_krw'))} KRW"
    return sig(pick(d, "cost"))


def planner_section(events: Sequence[TranscriptEvent]) -> Section:
    section = Section("Planner")
    for event in of(events, "planner_input"):
        parts = [f"{key}: {len(value)} rows" if isinstance(value, list | tuple)
                 else f"{key}: {len(value)} entries" if isinstance(value, Mapping) else f"{key}: {text(value, 60)}"
                 for key, value in event.data.items()]
        section.add(Lines([f"planner input ({clock(event.at)}): " + " · ".join(parts)] if parts else []))
    calls, excerpts = [], []
    for number, event in enumerate((e for e in events if e.kind in ("llm_call", "reviewer_call")), start=1):
        d = event.data
        usage = pick(d, "usage", "usage_metadata")
        usage = usage if isinstance(usage, Mapping) else d  # Rebal's own events carry the counts at the top
        tokens_in = pick(usage, "input_tokens", "prompt_tokens", "promptTokenCount")
        tokens_out = pick(usage, "output_tokens", "completion_tokens", "candidatesTokenCount")
        total = pick(usage, "total_tokens", "totalTokenCount")
        if total is None and num(tokens_in) is not None and num(tokens_out) is not None:
            total = (num(tokens_in) or 0) + (num(tokens_out) or 0)
        error = pick(d, "error", "parsing_error")
        attempt = "reviewer" if event.kind == "reviewer_call" else text(pick(d, "attempt"))
        calls.append([str(number), clock(event.at), text(pick(d, "model", "model_name")), attempt,
                      text(pick(d, "finish_reason")), integer(tokens_in), integer(tokens_out), integer(total),
                      _llm_cost(d), f"✗ {text(error, 160)}" if error else ""])
        response = pick(d, "response", "raw_response", "raw", "response_text")
        if response:
            excerpts.append(f"call {number} response: {text(response, 300)}")
    section.add(Table(["#", "at", "model", "attempt", "finish", "tokens in", "tokens out", "total", "cost",
                       "error"], calls, frozenset({5, 6, 7, 8}), caption="LLM calls" if calls else None))
    section.add(Lines(excerpts))
    for event in of(events, "plan"):
        d = event.data
        lines = [f"planner {text(pick(d, 'planner'))}" + (f" — {text(pick(d, 'reason', 'fallback_reason', 'why'))}"
                                                          if pick(d, "reason", "fallback_reason", "why") else "")]
        if pick(d, "plan_hash", "hash"):
            lines.append(f"plan hash {short_hash(pick(d, 'plan_hash', 'hash'))}")
        section.add(Lines(lines))
        rows = [[text(c.get("trade_id")), f"{text(c.get('order_type'))} {ORDER_TYPES.get(str(c.get('order_type')), '')}"
                 .strip(), text(c.get("price_rule")), text(c.get("offset_ticks")), text(c.get("slices")),
                 text(c.get("schedule")), text(c.get("rationale"))] for c in records(pick(d, "choices"))]
        section.add(Table(["trade", "order type", "price rule", "offset ticks", "slices", "schedule", "rationale"],
                          rows, frozenset({3, 4})))
    return section


def guardrails_section(events: Sequence[TranscriptEvent]) -> Section:
    section = Section("Guardrails")
    for event in of(events, "guardrails"):
        d = event.data
        results = [*records(pick(d, "results", "verdicts")), *records(pick(d, "headless_results"))]
        rows = [["✓" if r.get("passed") is True else "✗", text(pick(r, "rule_id", "id", "rule")),
                 text(r.get("scope") or "plan"), text(r.get("message"))] for r in results]
        phase = pick(d, "phase", "stage")
        section.add(Table(["ok", "rule", "scope", "message"], rows,
                          caption=f"{text(phase)} ({clock(event.at)})" if phase else f"checked at {clock(event.at)}"))
        failed = [row[1] for row in rows if row[0] == "✗"]
        summary = f"✗ failed: {', '.join(failed)}" if failed else (f"✓ all {len(rows)} rules passed" if rows else "")
        if isinstance(pick(d, "auto_approvable"), bool):
            summary += f"; auto-approvable: {'yes' if pick(d, 'auto_approvable') else 'no'}"
        section.add(Lines([summary] if summary else []))
    return section


def approval_section(events: Sequence[TranscriptEvent]) -> Section:
    section = Section("Approval")
    lines: list[str] = []
    requested_hash = None
    for event in sorted([*of(events, "approval_requested"), *of(events, "approval")], key=lambda e: e.seq):
        d = event.data
        plan_hash = pick(d, "plan_hash", "hash")
        if event.kind == "approval_requested":
            requested_hash = plan_hash
            extra = f" — {text(pick(d, 'summary'), 200)}" if pick(d, "summary") else ""
            lines.append(f"requested at {clock(event.at)}: plan {short_hash(plan_hash)}{extra}")
            continue
        answer = decision(d) or "unknown"
        mark = "✓" if answer.lower() in ("approved", "approve", "auto_approved", "auto-approved") else "✗"
        lines.append(f"{mark} {answer} by {text(pick(d, 'by', 'who', 'resolver', 'approver', 'user'))} at "
                     f"{text(pick(d, 'at', 'when', 'decided_at') or event.at)} for plan {short_hash(plan_hash)}")
        if plan_hash and requested_hash and plan_hash != requested_hash:
            lines.append(f"⚠ answered plan {short_hash(plan_hash)} is not the requested {short_hash(requested_hash)}")
        if pick(d, "reason", "comment", "note"):
            lines.append(f"note: {text(pick(d, 'reason', 'comment', 'note'), 300)}")
    section.add(Lines(lines))
    return section
