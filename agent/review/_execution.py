"""The later sections: execution (orders, answers, fills), report, errors, and unknown events."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from agent.review._doc import Lines, Section, Table
from agent.review._format import (
    MISSING,
    bp,
    clock,
    diff,
    integer,
    krw,
    num,
    pct,
    pick,
    pp,
    records,
    scalars,
    text,
)
from agent.review._sections import KNOWN_KINDS, ORDER_TYPES, of
from agent.transcript import TranscriptEvent


def _order_id(d: Mapping[str, Any]) -> str:
    return text(pick(d, "order_id", "client_order_id", "id"))


def _price(d: Mapping[str, Any]) -> Any:
    return pick(d, "limit_price", "price")


def order_rows(events: Sequence[TranscriptEvent]) -> list[list[str]]:
    """One row per order slice: the intent, then the broker's answer (or its absence)."""
    rows: dict[str, list[str]] = {}
    for event in events:
        if event.kind not in ("order_intent", "order_ack", "order_error"):
            continue
        d = event.data
        key = _order_id(d)
        row = rows.setdefault(key, [key, text(pick(d, "ticker")), text(pick(d, "side")),
                                    integer(pick(d, "quantity", "qty")), MISSING, MISSING, clock(event.at),
                                    "⚠ no answer recorded"])
        if event.kind == "order_intent":
            code = text(pick(d, "order_type"))
            row[4] = f"{code} {ORDER_TYPES.get(code, '')}".strip()
            row[5] = krw(_price(d)) if num(_price(d)) else MISSING  # market / best-price types carry none
        elif event.kind == "order_ack":
            row[7] = f"✓ ODNO {text(pick(d, 'odno', 'order_no', 'broker_order_id'))}"
        else:
            code = pick(d, "code", "msg_cd", "error_code")
            row[7] = f"✗ {f'[{code}] ' if code else ''}{text(pick(d, 'error', 'message', 'msg'), 200)}"
    return list(rows.values())


def execution(events: Sequence[TranscriptEvent]) -> Section:
    section = Section("Execution")
    for event in of(events, "open_orders"):
        rows = [[text(pick(o, "odno", "order_no", "order_id")), text(o.get("ticker")), text(o.get("side")),
                 integer(pick(o, "quantity", "qty")), krw(_price(o)), integer(pick(o, "remaining", "unfilled"))]
                for o in records(pick(event.data, "orders", "open_orders"))]
        section.add(Table(["ODNO", "ticker", "side", "qty", "price", "remaining"], rows, frozenset({3, 4, 5}),
                          caption="orders already resting before trading"))
    section.add(Table(["order", "ticker", "side", "qty", "type", "price", "sent", "broker answer"],
                      order_rows(events), frozenset({3, 5}), caption="orders"))
    fills = []
    for event in of(events, "fill"):
        d = event.data
        qty, price = num(pick(d, "quantity", "qty", "filled_quantity")), num(pick(d, "price", "fill_price"))
        fills.append([clock(pick(d, "filled_at", "time") or event.at), text(pick(d, "order_id", "odno")),
                      text(d.get("ticker")), text(d.get("side")), integer(qty), krw(price),
                      krw(qty * price if qty is not None and price is not None else pick(d, "notional"))])
    section.add(Table(["at", "order", "ticker", "side", "qty", "price", "notional KRW"], fills,
                      frozenset({4, 5, 6}), caption="fills"))
    section.add(Lines([f"{text(pick(e.data, 'phase', 'step'))}: " + "; ".join(scalars(e.data, {"phase", "step"}))
                       for e in of(events, "execution")]))
    return section


def report(events: Sequence[TranscriptEvent]) -> Section:
    section = Section("Report")
    found = of(events, "report")
    if not found:
        return section
    d = found[-1].data
    lines = []
    residual = pick(d, "residual_drift", "max_deviation")
    if residual is not None:
        lines.append(f"residual drift {pct(residual)} (largest |weight − target|)")
    shortfall = pick(d, "shortfall_bp", "implementation_shortfall_bp")
    if shortfall is not None:
        lines.append(f"implementation shortfall {bp(shortfall)}")
    if pick(d, "turnover") is not None:
        lines.append(f"executed turnover {krw(pick(d, 'turnover'))} KRW")
    fees, taxes = pick(d, "fees", "commission"), pick(d, "taxes", "tax")
    if fees is not None or taxes is not None:
        lines.append(f"fees {krw(fees)} KRW · taxes {krw(taxes)} KRW")
    used = {"residual_drift", "max_deviation", "shortfall_bp", "implementation_shortfall_bp", "fees", "commission",
            "taxes", "tax", "turnover"}
    section.add(Lines(lines + scalars(d, used)))
    rows = []
    for h in records(pick(d, "holdings", "positions", "rows")):
        weight = pick(h, "weight", "current")
        deviation = h.get("deviation") if h.get("deviation") is not None else diff(weight, h.get("target"))
        rows.append([text(pick(h, "ticker", "asset")), integer(pick(h, "quantity", "qty")), pct(weight),
                     pct(h.get("target")), pp(deviation)])
    section.add(Table(["ticker", "qty", "weight", "target", "deviation"], rows, frozenset({1, 2, 3, 4}),
                      caption="after the run"))
    return section


def errors(events: Sequence[TranscriptEvent], notes: Sequence[str]) -> Section:
    section = Section("Errors")
    lines = [f"⚠ {note}" for note in notes]
    unanswered = [row[0] for row in order_rows(events) if row[7].startswith("⚠")]
    if unanswered:
        lines.append(f"⚠ no broker answer recorded for {', '.join(unanswered)}: check the broker's order list "
                     "before sending anything again")
    for event in of(events, "error"):
        d = event.data
        where = pick(d, "node", "where", "phase", "stage")
        kind = pick(d, "type", "error_type", "exception")
        lines.append(f"✗ {clock(event.at)}" + (f" in {text(where)}" if where else "")
                     + f": {f'{text(kind)}: ' if kind else ''}{text(pick(d, 'message', 'error', 'detail'), 500)}")
        state = pick(d, "account", "account_state", "state")
        if state is not None:
            lines.append(f"account state then: {text(state, 300)}")
    section.add(Lines(lines))
    return section


def others(events: Sequence[TranscriptEvent]) -> Section:
    """Kinds this reader does not know (a newer writer): shown as-is rather than dropped."""
    section = Section("Other events")
    rows = [[str(e.seq), clock(e.at), e.kind, text(e.data, 200)] for e in events if e.kind not in KNOWN_KINDS]
    section.add(Table(["seq", "at", "kind", "data"], rows, frozenset({0})))
    return section
