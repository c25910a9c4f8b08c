"""The plan as a person reads it at a glance: the account, the drift, the trades, the orders, the
cash and the guardrails, in plain words and in the session's language.

Everything from data (tickers, names, messages) is printed as ``rich.text.Text``, never as markup:
a ticker or a message may contain ``[``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from rich import box
from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from agent.review.session_text import Language, SessionText


def krw(value: Any) -> str:
    return f"{int(value or 0):,}"


def pct(value: Any) -> str:
    return f"{float(value or 0):.2%}"


def _policy(values: dict[str, Any]):
    """The trigger policy the run measured drift with (the configured one; the default when the
    values carry no configuration, as ``rebal status`` does)."""
    from agent.config import RebalanceSection
    from tools.drift import TriggerPolicy

    triggers = (((values.get("inputs") or {}).get("config") or {}).get("rebalance") or {}).get("triggers")
    try:
        return TriggerPolicy.model_validate(triggers) if triggers is not None else RebalanceSection().triggers
    except ValueError:
        return RebalanceSection().triggers


def row_band(row: dict[str, Any], policy) -> float | None:
    """The tightest band that applies to a drift row (as ``tools.drift`` applies them)."""
    bands = [policy.mp_band if row["level"] == "mp" else policy.sub_band]
    if row["target"] > 0:
        if policy.relative_band is not None:
            bands.append(policy.relative_band * row["target"])
        if policy.five_twenty_five:
            bands.append(min(0.05, 0.25 * row["target"]))
    known = [b for b in bands if b is not None]
    return min(known) if known else None


def short_id(trade_or_order_id: str) -> str:
    """``T01`` for ``T01-069500-SELL``, ``T01/2`` for its second slice: ticker and side have their
    own columns, and ``explain``/``edit`` accept the short form."""
    head, _, rest = trade_or_order_id.partition("-")
    slice_no = rest.rpartition("/")[2] if "/" in rest else ""
    return f"{head}/{slice_no}" if slice_no else head


class PlanScreen:
    """Renders the parts of an approval request (``request``) and the run state (``values``)."""

    def __init__(self, console: Console, language: Language = "en") -> None:
        self.console = console
        self.text = SessionText(language)

    # --- small helpers ---------------------------------------------------------------------

    def say(self, text: str, style: str = "") -> None:
        self.console.print(Text(text, style=style))

    @staticmethod
    def names(values: dict[str, Any]) -> dict[str, str]:
        """Instrument names by ticker: the targets', then the account's, then the quotes'."""
        names: dict[str, str] = {}
        for ticker, quote in (values.get("quotes") or {}).items():
            if quote.get("name"):
                names[ticker] = quote["name"]
        names.update({k: v for k, v in ((values.get("account") or {}).get("names") or {}).items() if v})
        names.update({k: v for k, v in ((values.get("targets") or {}).get("names") or {}).items() if v})
        return names

    def instrument(self, ticker: str, values: dict[str, Any]) -> str:
        name = self.names(values).get(ticker)
        return f"{ticker} {name}" if name else ticker

    def _table(self, title: str, columns: Iterable[tuple[str, ...]]) -> Table:
        # Rules under the header only, no vertical bars: more room for the numbers at 80-100 columns.
        table = Table(title=title, title_justify="left", title_style="bold", box=box.SIMPLE_HEAD, pad_edge=False)
        for header, justify, *wrap in columns:  # a third item "nowrap": the cell stays on one line
            table.add_column(header, justify=justify, no_wrap=bool(wrap), overflow="fold")  # type: ignore[arg-type]
        return table

    # --- the parts -------------------------------------------------------------------------

    def show_account(self, values: dict[str, Any]) -> None:
        account = values.get("account") or {}
        if not account:
            return
        holdings = account.get("securities_value", 0)
        snapshot = account.get("snapshot") or {}
        if snapshot:
            holdings = sum(p["quantity"] * p["price"] for p in snapshot.get("positions", []))
        self.say(self.text("account", holdings=krw(holdings), cash_d0=krw(account.get("cash_d0")),
                           cash_d2=krw(account.get("cash_d2")), total=krw(holdings + account.get("cash_d0", 0))))

    def show_market_clock(self, values: dict[str, Any]) -> None:
        """Says plainly when the plan was made outside the session, and when the next one opens."""
        from tools.market import Phase
        from tools.schedule import SessionDay

        proposal = values.get("proposal") or {}
        if not proposal.get("session") or not proposal.get("made_at"):
            return
        session = SessionDay.model_validate(proposal["session"])
        made_at = dt.datetime.fromisoformat(proposal["made_at"])
        phase = session.phase(made_at)
        if phase in (Phase.CONTINUOUS, Phase.OPENING_AUCTION, Phase.CLOSING_AUCTION):
            return
        following = session.next_session_open if phase is not Phase.PRE_OPEN else session.open
        opens = self._moment(following or session.next_open)
        key = {Phase.CLOSED_DAY: "closed_day", Phase.POST_CLOSE: "closed_after"}.get(phase, "closed_before")
        self.say(self.text(key, day=f"{session.day:%Y-%m-%d}", open=opens), "bold yellow")

    def _moment(self, moment: dt.datetime) -> str:
        from tools.market import KST

        local = moment.astimezone(KST)
        return self.text("open_at", time=f"{local:%H:%M}", date=f"{local:%Y-%m-%d (%a)}")

    def show_drift(self, values: dict[str, Any]) -> None:
        drift = values.get("drift") or {}
        report, verdict = drift.get("report") or {}, drift.get("verdict") or {}
        policy = _policy(values)
        breached = {(b["level"], b["asset"], b.get("class_name")) for b in verdict.get("breaches", [])}
        t = self.text
        table = self._table(t("drift_title"), [(t("col_asset"), "left"), (t("col_now"), "right"),
                                               (t("col_target"), "right"), (t("col_deviation"), "right"),
                                               (t("col_band"), "right")])
        subs = list(report.get("sub", []))
        for row in report.get("mp", []):
            self._drift_row(table, row, values, policy, breached, indent=False)
            for sub in (s for s in subs if s.get("class_name") == row["asset"]):
                self._drift_row(table, sub, values, policy, breached, indent=True)
        shown_classes = {r["asset"] for r in report.get("mp", [])}
        for sub in (s for s in subs if s.get("class_name") not in shown_classes):
            self._drift_row(table, sub, values, policy, breached, indent=True)
        self.console.print(table)
        self.say(t("drift_caption"), "dim")
        self.show_triggers(verdict, values)

    def _drift_row(self, table: Table, row: dict[str, Any], values: dict[str, Any], policy, breached: set,
                   *, indent: bool) -> None:
        deviation = row["current"] - row["target"]
        outside = (row["level"], row["asset"], row.get("class_name")) in breached
        band = row_band(row, policy)
        label = self.instrument(row["asset"], values) if (indent or row.get("untargeted")) else row["asset"]
        table.add_row(Text(("  " if indent else "") + label), pct(row["current"]), pct(row["target"]),
                      Text(f"{deviation:+.2%}", style="bold red" if outside else ""),
                      f"±{band:.2%}" if band is not None else "—")

    def show_triggers(self, verdict: dict[str, Any], values: dict[str, Any]) -> None:
        """One line per breached asset, its rules together; then the rules that are not bands."""
        from tools.drift import Breach

        breaches = [Breach.model_validate(b) for b in verdict.get("breaches", [])]
        described = {b.describe() for b in breaches}
        others = [r for r in verdict.get("reasons", []) if r not in described]
        if not breaches and not others:
            if verdict:
                self.say(self.text("not_triggered"), "dim")
            return
        self.say(self.text("triggered_by"))
        grouped: dict[tuple[str, str, str | None], list[Breach]] = {}
        for breach in breaches:
            grouped.setdefault((breach.level, breach.asset, breach.class_name), []).append(breach)
        for (level, asset, _), rules in grouped.items():
            first = rules[0]
            name = self.instrument(asset, values) if level == "sub" else asset
            bands = ", ".join(f"±{b.band:.2%} ({self.text('rule_' + b.rule)})" for b in rules)
            self.say("  • " + self.text("breach", asset=name, current=pct(first.current), target=pct(first.target),
                                        deviation=f"{first.deviation:+.2%}", bands=bands))
        for reason in others:
            self.say(f"  • {reason}")

    def show_trades(self, request: dict[str, Any], values: dict[str, Any] | None = None) -> None:
        values = values or {}
        t = self.text
        if not request["trades"]:
            self.say(t("no_trades"))
            return
        # Numbers never wrap; on a narrow terminal the reference price gives way (value = qty × price)
        # and the target goes under the weights.
        with_price, one_line = self.console.width >= 120, self.console.width >= 95
        table = self._table(t("trades_title"), [
            (t("col_no"), "right", "nowrap"), (t("col_id"), "left", "nowrap"), (t("col_instrument"), "left"),
            (t("col_side"), "left", "nowrap"), (t("col_qty"), "right", "nowrap"),
            *([(t("col_ref_price"), "right", "nowrap")] if with_price else []), (t("col_value"), "right", "nowrap"),
            (t("col_cost"), "right", "nowrap"), (t("col_weight"), "right", *(["nowrap"] if one_line else []))])
        for number, trade in enumerate(request["trades"], 1):
            price = [krw(trade["reference_price"])] if with_price else []
            table.add_row(str(number), Text(short_id(trade["trade_id"])), Text(self.instrument(trade["ticker"], values)),
                          Text(t.side(trade["side"]), style="red" if trade["side"] == "sell" else "blue"),
                          str(trade["quantity"]), *price, krw(trade["notional"]),
                          krw(trade["commission"] + trade["tax"]),
                          f"{pct(trade['weight_before'])} → {pct(trade['weight_after'])}"
                          f"{' ' if one_line else chr(10)}({pct(trade['target_weight'])})")
        self.console.print(table)

    def show_orders(self, request: dict[str, Any], values: dict[str, Any] | None = None) -> None:
        values = values or {}
        t = self.text
        planner = request["planner"]
        table = self._table(t("orders_title", planner=planner["planner"]), [
            (t("col_order"), "left"), (t("col_instrument"), "left"), (t("col_side"), "left"),
            (t("col_qty"), "right", "nowrap"), (t("col_type"), "left"), (t("col_limit"), "right", "nowrap"),
            (t("col_schedule"), "left")])
        for order in request["orders"]:
            table.add_row(Text(short_id(order["order_id"])), Text(self.instrument(order["ticker"], values)),
                          t.side(order["side"]), str(order["quantity"]), t.order_type(order["order_type"]),
                          krw(order["limit_price"]) if order["limit_price"] else "—", t.schedule(order["schedule"]))
        if request["orders"]:
            self.console.print(table)
        if planner.get("reason"):
            self.say(t("planner_why", reason=planner["reason"]), "dim")
        path = request.get("cash_path") or []
        if path:  # what the orders do to the cash, the buys at what KIS reserves for them
            steps = " → ".join(f"{t('step_' + step['label'])} {krw(step['cash'])}" for step in path)
            self.say(t("cash_path", steps=steps, committed=krw(request.get("committed", 0))))

    def show_costs(self, values: dict[str, Any]) -> None:
        netting = values.get("netting") or {}
        t = self.text
        self.say(t("costs", turnover=krw(netting.get("turnover")), commission=krw(netting.get("commission")),
                   tax=krw(netting.get("tax")), cash_after=krw(netting.get("cash_after"))))
        self.say(t("fit", error=pct(netting.get("error")), bound=pct(netting.get("lower_bound"))))

    def show_guardrails(self, request: dict[str, Any], values: dict[str, Any]) -> None:
        t = self.text
        guardrails = values.get("guardrails") or {}
        table = self._table(t("guardrails_title"), [(t("col_rule"), "left"), ("", "center"),
                                                    (t("col_detail"), "left")])
        for result in [*guardrails.get("results", []), *guardrails.get("headless_results", [])]:
            mark = Text("✓", style="green") if result["passed"] else Text("✗", style="bold red")
            rule = result["rule_id"] + (f" {t('headless')}" if result.get("scope") == "headless" else "")
            table.add_row(Text(rule), mark, Text(result["message"]))
        self.console.print(table)

    def show_guardrail_summary(self, values: dict[str, Any]) -> None:
        """The plan screen's part: a count when all passed, else the failures in full."""
        t = self.text
        guardrails = values.get("guardrails") or {}
        results = [*guardrails.get("results", []), *guardrails.get("headless_results", [])]
        failed = [r for r in results if not r["passed"]]
        if not failed:
            self.say(t("guardrails_passed", count=len(results)), "green")
            return
        table = self._table(t("guardrails_failed_title", failed=len(failed), count=len(results)),
                            [(t("col_rule"), "left"), ("", "center"), (t("col_detail"), "left")])
        for result in failed:
            scope = f" {t('headless')}" if result.get("scope") == "headless" else ""
            table.add_row(Text(result["rule_id"] + scope), Text("✗", style="bold red"), Text(result["message"]))
        self.console.print(table)

    def show_open(self, request: dict[str, Any], values: dict[str, Any] | None = None) -> None:
        t = self.text
        if not request["open_orders"]:
            self.say(t("no_open"))
            return
        table = self._table(t("open_title"), [(t("col_order_no"), "left"), (t("col_instrument"), "left"),
                                              (t("col_side"), "left"), (t("col_remaining"), "right"),
                                              (t("col_price"), "right"), (t("col_placed_by"), "left")])
        for order in request["open_orders"]:
            placed_by = order.get("placed_by", "")
            table.add_row(Text(order["order_no"]), Text(self.instrument(order["ticker"], values or {})),
                          t.side(order["side"]), str(order["remaining_quantity"]), krw(order["price"]),
                          Text(placed_by, style="yellow" if placed_by == "not Rebal" else ""))
        self.console.print(table)

    def show_explanation(self, trade: dict[str, Any], values: dict[str, Any]) -> None:
        t = self.text
        choice = next((c for c in (values.get("proposal") or {}).get("plan", {}).get("choices", [])
                       if c["trade_id"] == trade["trade_id"]), {})
        price = (t("price_rule", rule=choice["price_rule"], ticks=choice.get("offset_ticks", 0))
                 if choice.get("price_rule") else "—")
        body = Text(trade["reason"])  # model-written or data: plain text
        body.append("\n\n" + t("execution", type=t.order_type(choice.get("order_type", "?")), price=price,
                                slices=choice.get("slices", 1), schedule=t.schedule(choice.get("schedule", "now"))))
        body.append("\n" + t("why", why=choice.get("rationale") or "—"))
        title = Text(f"{trade['trade_id']} · {self.instrument(trade['ticker'], values)}")
        self.console.print(Panel(body, title=title))

    def show_plan(self, request: dict[str, Any], values: dict[str, Any]) -> None:
        """The whole screen, top to bottom."""
        self.console.rule(Text(self.text("run", run_id=request["run_id"])))
        if request.get("problem"):
            self.say(request["problem"], "yellow")
        self.show_market_clock(values)
        self.show_account(values)
        self.show_drift(values)
        self.show_trades(request, values)
        self.show_orders(request, values)
        self.show_costs(values)
        self.show_guardrail_summary(values)
        if request["open_orders"]:
            self.show_open(request, values)
        if not request["guardrails_passed"]:
            self.say(self.text("guardrail_failed"), "bold red")
            self.show_market_clock(values)  # the likeliest reason outside the session: said again at the end
        self.say(self.text("footer", plan=request["plan_hash"][:12]), "dim")

    def show_changes(self, before: dict[str, Any], after: dict[str, Any]) -> None:
        """One line: what a recompute changed in the trades and the order types."""
        t = self.text

        def key(trade: dict[str, Any]) -> tuple[str, str]:
            return trade["ticker"], trade["side"]

        def label(trade: dict[str, Any]) -> str:
            return f"{trade['ticker']} {t.side(trade['side'])}"

        old = {key(x): x for x in before["trades"]}
        new = {key(x): x for x in after["trades"]}
        types_old = {(o["ticker"], o["side"]): o["order_type"] for o in before["orders"]}
        types_new = {(o["ticker"], o["side"]): o["order_type"] for o in after["orders"]}
        changes = []
        for k, trade in old.items():
            if k not in new:
                changes.append(t("change_gone", trade=label(trade)))
            elif new[k]["quantity"] != trade["quantity"]:
                changes.append(t("change_qty", trade=label(trade), qty_before=trade["quantity"],
                                 qty_after=new[k]["quantity"]))
            elif k in types_old and k in types_new and types_old[k] != types_new[k]:
                changes.append(t("change_type", trade=label(trade), before=t.order_type(types_old[k]),
                                 after=t.order_type(types_new[k])))
        changes += [t("change_new", trade=label(x), qty=x["quantity"]) for k, x in new.items() if k not in old]
        self.say(t("changed", changes="; ".join(changes)) if changes else t("changed_nothing"), "bold cyan")
