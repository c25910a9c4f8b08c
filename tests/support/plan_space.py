"""The space of plans a planner may choose, at any moment of a session, and what became of each.

Shared by ``tests/agent/test_plan_property.py`` (a few dozen pairs) and
``bench/bench_plan_outcomes.py`` (hundreds): one generator of (plan choices, exchange time)
pairs, one way to run a pair headless on the embedded paper exchange, one checker.

- ``draw_pairs(seed, count)``: per pair, a moment on a fixed session day (early morning, the
  morning and mid-day, 14:50–15:20, the closing auction, after the close) and per-trade choices
  from the planner's schema (order type, price rule, offset, slices, schedule).
- ``run_pair(pair, home)``: the exchange starts at that moment with its clock frozen (it moves only
  when the executor waits), the planner is replaced by one that answers with the pair's choices
  (as ``test_execution_truth._planned_as`` does), the guardrails judge the plan, and an approved
  plan is executed headless. Every broker request is counted.
- ``check(outcome)``: the forbidden outcomes. ``sold_not_bought``: sells filled while an
  approved buy share was never sent to the exchange or a sent buy was not filled in full;
  ``ok_off_target``: exit 0 while the exchange's fills or holdings differ, share by share, from
  the approved trades (or an order is left working); ``refused_sent``: a refused plan with an
  order on the exchange; ``report_not_exchange``: the run's report differs from the exchange.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from agent.planner.models import ALL_PLAN_ORDER_TYPES
from support.runkit import make_config
from support.truthkit import assert_report_is_the_exchange
from tools.market import KST
from tools.plan import DEFAULT_MAX_SLICES, MAX_OFFSET_TICKS, PRICED_ORDER_TYPES

SESSION_DAY = dt.date(2026, 11, 20)  # a Friday session (the paper exchange's market is seeded)
# (name, first minute, last minute) of the exchange-clock windows the moments are drawn from.
WINDOWS = (
    ("early morning", dt.time(7, 30), dt.time(8, 59)),
    ("morning", dt.time(9, 0), dt.time(11, 59)),
    ("mid-day", dt.time(12, 0), dt.time(14, 49)),
    ("14:50-15:20", dt.time(14, 50), dt.time(15, 19)),
    ("closing auction", dt.time(15, 20), dt.time(15, 29)),
    ("after close", dt.time(15, 30), dt.time(17, 0)),
)
SCHEDULES = (("now", 5), ("twap", 3), ("closing_auction", 2))  # (schedule, weight)
PRICE_RULES = ("bid1", "ask1", "mid")
FORBIDDEN = ("sold_not_bought", "ok_off_target", "refused_sent", "report_not_exchange")


@dataclass(frozen=True)
class Choice:
    """One trade's execution choice, as the planner schema allows it."""

    order_type: str
    price_rule: str | None
    offset_ticks: int
    slices: int
    schedule: str

    def as_dict(self) -> dict[str, Any]:
        return {"order_type": self.order_type, "price_rule": self.price_rule, "offset_ticks": self.offset_ticks,
                "slices": self.slices, "schedule": self.schedule}


@dataclass(frozen=True)
class Pair:
    """A start moment and a plan: one choice for every trade (``uniform``), one for the sells and
    one for the buys (``per_side``), or one per trade in the netting's order, cycled (``per_trade``)."""

    index: int
    window: str
    start: dt.datetime
    mode: str
    choices: tuple[Choice, ...]

    def choice_for(self, position: int, side: str) -> Choice:
        if self.mode == "per_side":
            return self.choices[0 if side == "sell" else 1]
        return self.choices[position % len(self.choices)]

    def describe(self) -> str:
        shown = ", ".join(f"{c.order_type}/{c.price_rule or '-'}{c.offset_ticks:+d}/{c.slices}x/{c.schedule}"
                          for c in self.choices)
        return f"#{self.index} {self.start:%H:%M:%S} ({self.window}) {self.mode}: {shown}"


def draw_choice(rng: random.Random, *, order_types=ALL_PLAN_ORDER_TYPES, max_slices=DEFAULT_MAX_SLICES) -> Choice:
    order_type = rng.choice(order_types)
    priced = order_type in PRICED_ORDER_TYPES
    schedule = rng.choices([s for s, _ in SCHEDULES], weights=[w for _, w in SCHEDULES])[0]
    slices = 1 if rng.random() < 0.5 else rng.randint(1, max_slices)
    # Offsets mostly 0 (what the planner usually answers), sometimes anywhere in the allowed range.
    offset = 0 if not priced or rng.random() < 0.6 else rng.randint(-MAX_OFFSET_TICKS, MAX_OFFSET_TICKS)
    return Choice(order_type=order_type, price_rule=rng.choice(PRICE_RULES) if priced else None,
                  offset_ticks=offset, slices=slices, schedule=schedule)


def draw_moment(rng: random.Random, day: dt.date = SESSION_DAY) -> tuple[str, dt.datetime]:
    name, first, last = rng.choice(WINDOWS)
    begin = dt.datetime.combine(day, first, KST)
    span = int((dt.datetime.combine(day, last, KST) - begin).total_seconds()) + 59
    return name, begin + dt.timedelta(seconds=rng.randint(0, span))


def draw_pair(rng: random.Random, index: int = 0) -> Pair:
    """One pair from ``rng`` (a ``random.Random``, or Hypothesis's ``st.randoms()``): the plan
    modes in equal shares."""
    window, start = draw_moment(rng)
    mode = rng.choice(("uniform", "per_side", "per_trade"))
    n = {"uniform": 1, "per_side": 2, "per_trade": 8}[mode]
    return Pair(index=index, window=window, start=start, mode=mode,
                choices=tuple(draw_choice(rng) for _ in range(n)))


def draw_pairs(seed: int, count: int) -> list[Pair]:
    """``count`` pairs, the same for the same seed."""
    rng = random.Random(seed)
    return [draw_pair(rng, index) for index in range(count)]


# --- running one pair ---------------------------------------------------------------------------


@dataclass
class CallCounts:
    """Broker requests of one run, by what they do (the token request is not counted)."""

    placed: int = 0
    revised: int = 0
    cancelled: int = 0
    reads: int = 0

    @property
    def actions(self) -> int:
        return self.placed + self.revised + self.cancelled


class CountingTransport(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport, counts: CallCounts) -> None:
        self._inner = inner
        self.counts = counts

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/order-cash"):
            self.counts.placed += 1
        elif path.endswith("/order-rvsecncl"):
            if b'"RVSE_CNCL_DVSN_CD": "01"' in request.content or b'"RVSE_CNCL_DVSN_CD":"01"' in request.content:
                self.counts.revised += 1
            else:
                self.counts.cancelled += 1
        elif path.startswith("/uapi/"):
            self.counts.reads += 1
        return await self._inner.handle_async_request(request)


def paper_broker(start: dt.datetime, counts: CallCounts, home: Path):
    """The embedded paper exchange (``agent.broker._embedded``), but starting at ``start`` on its
    session day, clock frozen, with every request counted."""
    from agent.broker import BrokerConnection, SimulatedClock
    from paper.embedded import EmbeddedExchange, embedded_settings
    from tools.kis import Credentials, KisConfig, SyncKisClient

    class AtStart(EmbeddedExchange):
        def ensure_in_session(self) -> None:  # keep the drawn moment (e.g. before the open)
            pass

    embedded = AtStart(embedded_settings(today=start.date(), time=start.astimezone(KST).time().replace(tzinfo=None),
                                         speed=0.0, rate_limit=0))
    embedded.exchange.settings.token_issue_interval = 0
    account = embedded.account
    credentials = Credentials(app_key=SecretStr(account.app_key), app_secret=SecretStr(account.app_secret),
                              account=account.number, source="embedded paper exchange")
    kis = KisConfig(profile="paper", account=account.number, base_url="http://embedded.paper",
                    requests_per_second=0, token_cache_dir=home / "kis-tokens")
    client = SyncKisClient(kis, credentials, transport=CountingTransport(embedded.transport(), counts))
    return BrokerConnection(client=client, clock=SimulatedClock(embedded.exchange), profile="paper",
                            account=account.number, embedded=embedded, description="embedded paper exchange (test)")


def scripted_planner(pair: Pair, seen: dict[str, Any]):
    """A stand-in for ``agent.planner.plan_execution`` that answers with the pair's choices;
    ``seen`` gets the policy's verdict on them (what the real planner would have accepted)."""
    from agent.planner.models import PlannerResult
    from agent.planner.policy import plan_problems
    from tools.plan import ExecutionPlan, OrderChoice

    def plan(inp, settings, *, model):
        choices = tuple(OrderChoice(trade_id=t.trade_id, rationale="scripted", **pair.choice_for(i, t.side).as_dict())
                        for i, t in enumerate(inp.trades))
        result = ExecutionPlan(choices=choices, planner="llm")
        seen["policy_problems"] = plan_problems(inp, result)
        return PlannerResult(plan=result, planner="llm", reason=f"scripted plan {pair.index}")

    return plan


@contextmanager
def planned_as(pair: Pair, seen: dict[str, Any]):
    import agent.planner as planner

    original = planner.plan_execution
    planner.plan_execution = scripted_planner(pair, seen)
    try:
        yield
    finally:
        planner.plan_execution = original


@dataclass
class Outcome:
    pair: Pair
    exit_code: int
    outcome: str
    message: str
    calls: CallCounts
    refused_by: list[str] = field(default_factory=list)  # rule ids (or the reason) of a refusal
    refused_at: str = ""  # "guardrails" | "execution start" | "" (not refused)
    policy_ok: bool = True  # the planner's own policy would have accepted the choices
    sells: int = 0  # approved sell / buy trades, and their order slices
    buys: int = 0
    slices: int = 0
    sold: int = 0  # shares sold / bought on the exchange
    bought: int = 0
    unsold: int = 0  # approved sell shares not sold
    # Approved buy shares not bought, by why: shrunk to the cash after the sells, never sent
    # (skipped by the executor), sent but out of time (lapsed unfilled in continuous trading), or
    # sent and not filled at their price (a limit at the close's single price, a re-price beyond
    # the approval's tolerance).
    buy_shrunk: int = 0
    buy_unsent: int = 0
    buy_out_of_time: int = 0
    buy_unfilled_at_price: int = 0
    off_target: list[str] = field(default_factory=list)  # share-by-share differences from the approved trades
    open_orders: int = 0
    orders: int = 0  # orders (new, revise, cancel) on the exchange
    report_error: str = ""

    @property
    def refused(self) -> bool:
        return bool(self.refused_at)

    @property
    def kind(self) -> str:
        if self.refused:
            return "refused"
        return {0: "done", 6: "partly done"}.get(self.exit_code, f"exit {self.exit_code}")

    @property
    def minimum_calls(self) -> int:
        """One order per slice the plan asks for."""
        return self.slices


def _refusal(values: dict[str, Any], exit_code: int) -> tuple[str, list[str]]:
    execution = values.get("execution")
    if values.get("outcome") == "blocked" and execution is not None and not execution.get("orders"):
        return "execution start", sorted({n.split(":", 1)[0] for n in execution.get("notes") or ["?"]})
    if exit_code in (3, 5):
        guardrails = values.get("guardrails") or {}
        failed = [r["rule_id"] for r in (*guardrails.get("results", ()), *guardrails.get("headless_results", ()))
                  if not r["passed"]]
        return "guardrails", sorted(failed) or [values.get("outcome") or f"exit {exit_code}"]
    return "", []


def run_pair(pair: Pair, home: Path) -> Outcome:
    """Plan, judge and (when approved) execute ``pair`` headless; what the exchange shows after."""
    from agent.runner import Runner, auto_approver

    counts = CallCounts()
    seen: dict[str, Any] = {}
    config = make_config(home, planner={"use_llm": False})
    broker = paper_broker(pair.start, counts, home)
    exchange = broker.embedded.exchange
    account = exchange.accounts[broker.account]
    before = {t: p.quantity for t, p in account.positions.items() if p.quantity}
    with planned_as(pair, seen), Runner(config, headless=True, broker=broker) as r:
        result = r.start(auto_approver)
        values = r.state(result.run_id).values
        orders = [o for o in exchange.orders.values() if o.account == broker.account]
        after = {t: p.quantity for t, p in account.positions.items() if p.quantity}
        out = Outcome(pair=pair, exit_code=result.exit_code, outcome=result.outcome, message=result.message,
                      calls=counts, policy_ok=not seen.get("policy_problems"), orders=len(orders))
        out.refused_at, out.refused_by = _refusal(values, result.exit_code)
        _compare(out, values, before, after, orders)
        stage = (r.journal.note(result.run_id, "buy_stage") or {}).get("proposal")
        sized = stage["orders"] if stage else None
        _why_not_bought(out, values, r.journal.entries(result.run_id), sized, r.calendar)
        if not out.refused and result.report:
            try:
                assert_report_is_the_exchange(result, r.journal, orders)
            except AssertionError as error:
                out.report_error = str(error)[:300] or "report differs from the exchange"
    return out


def _compare(out: Outcome, values: dict[str, Any], before: dict[str, int], after: dict[str, int], orders) -> None:
    trades = (values.get("netting") or {}).get("trades", [])
    out.sells = sum(1 for t in trades if t["side"] == "sell")
    out.buys = len(trades) - out.sells
    out.slices = len((values.get("proposal") or {}).get("orders") or [])
    filled: Counter = Counter()
    for order in orders:
        if order.action != "cancel":
            filled[order.ticker, "sell" if order.side.value == "01" else "buy"] += order.filled_quantity
    out.open_orders = sum(1 for o in orders if o.is_open)
    out.sold = sum(q for (_, side), q in filled.items() if side == "sell")
    out.bought = sum(q for (_, side), q in filled.items() if side == "buy")
    approved = Counter({(t["ticker"], t["side"]): t["quantity"] for t in trades})
    out.unsold = sum(max(q - filled[key], 0) for key, q in approved.items() if key[1] == "sell")
    for key in sorted(set(approved) | set(filled)):
        if approved[key] != filled[key]:
            out.off_target.append(f"{key[1]} {key[0]}: approved {approved[key]}, filled {filled[key]}")
    expected = Counter(before)
    for (ticker, side), quantity in approved.items():
        expected[ticker] += quantity if side == "buy" else -quantity
    for ticker in sorted(set(expected) | set(after)):
        if expected[ticker] != after.get(ticker, 0):
            out.off_target.append(f"holding {ticker}: approved plan leaves {expected[ticker]}, "
                                  f"exchange holds {after.get(ticker, 0)}")


def _why_not_bought(out: Outcome, values: dict[str, Any], entries, sized: list[dict] | None, calendar) -> None:
    """Split the approved buy shares not bought by why (see ``Outcome``), from the journal."""
    from tools.schedule import SessionDay

    trades = [t for t in (values.get("netting") or {}).get("trades", []) if t["side"] == "buy"]
    if out.refused or not trades:
        return
    session = SessionDay.of(calendar, out.pair.start)
    for trade in trades:
        mine = [e for e in entries if e.trade_id == trade["trade_id"] and e.kind != "cancel"]
        bought = sum(e.filled_quantity for e in mine)
        missing = trade["quantity"] - bought
        if missing <= 0:
            continue
        goes_out = trade["quantity"] if sized is None else \
            sum(o["quantity"] for o in sized if o["trade_id"] == trade["trade_id"])
        shrunk = trade["quantity"] - goes_out
        unsent = sum(e.quantity for e in mine if e.kind == "new" and e.status == "skipped") \
            + (goes_out if sized is None and not [e for e in mine if e.order_no] else 0)
        late = 0
        for e in mine:
            rest = e.quantity - e.filled_quantity
            if e.order_no and rest > 0 and e.sent_at and e.order_type != "02" and e.status == "done" \
                    and "lapsed at the close" in (e.note or "") \
                    and dt.datetime.fromisoformat(e.sent_at) < session.continuous_close:
                late += rest  # sent in continuous trading, still resting when it ended
        out.buy_shrunk += min(shrunk, missing)
        out.buy_unsent += min(unsent, missing - min(shrunk, missing))
        out.buy_out_of_time += min(late, missing)
        out.buy_unfilled_at_price += max(missing - min(shrunk, missing) - unsent - late, 0)


def check(out: Outcome) -> list[str]:
    """The forbidden outcomes of one run (empty: none)."""
    found = []
    failed_to_buy = out.buy_unsent + out.buy_out_of_time + (out.buy_shrunk if not out.unsold else 0)
    if out.sold and failed_to_buy:
        found.append(f"sold_not_bought: sold {out.sold} shares, then of the approved buys {out.buy_unsent} "
                     f"share(s) were never sent, {out.buy_out_of_time} ran out of time and {out.buy_shrunk} were "
                     f"shrunk away although every sell filled (exit {out.exit_code})")
    if out.exit_code == 0 and not out.refused and (out.off_target or out.open_orders):
        found.append(f"ok_off_target: exit 0 but {'; '.join(out.off_target[:4]) or ''}"
                     f"{f' ({out.open_orders} order(s) still open)' if out.open_orders else ''}")
    if out.refused and out.orders:
        found.append(f"refused_sent: refused at {out.refused_at} ({', '.join(out.refused_by)}) "
                     f"yet {out.orders} order(s) reached the exchange")
    if out.report_error:
        found.append(f"report_not_exchange: {out.report_error}")
    return found


def explain(out: Outcome) -> str:
    return (f"{out.pair.describe()} -> {out.kind} (exit {out.exit_code}, {out.outcome}); "
            f"{'; '.join(check(out)) or 'ok'}; message: {out.message[:400]}")
