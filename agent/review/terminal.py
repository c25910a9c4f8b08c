"""The conversational terminal session: the plan in tables, then approve, reject, edit, explain, show.

Approving binds the answer to the plan's hash; edits go back through netting and the guardrails;
free-text questions go to a read-only reviewer when an LLM is configured.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.prompt import Prompt
from rich.table import Table

from agent.approval import Approval, Edit, EditError, check_edits, check_edits_against

HELP = """[bold]approve[/]                      place these orders (sells first, then buys)
[bold]reject[/] [reason]              stop here; nothing is sent
[bold]edit qty[/] TRADE_ID N          set a trade's total quantity (0 drops it)
[bold]edit exclude[/] TICKER          leave a ticker as it is (neither bought nor sold)
[bold]edit type[/] TRADE_ID CODE      order type 00 limit, 01 market, 02 conditional, 03 최유리, 04 최우선
[bold]cancel-open[/]                  also cancel the orders already resting on these tickers
[bold]explain[/] TRADE_ID             why this trade, and why this way of executing it
[bold]show[/] drift|trades|orders|costs|guardrails|open
anything else                 a question about this run (needs an LLM; read-only)
TRADE_ID may be the whole id, its row number (1, 2, …) or a prefix such as T01"""


def _krw(value: Any) -> str:
    return f"{int(value):,}"


def _pct(value: Any) -> str:
    return f"{float(value):.2%}"


def trade_id_of(token: str, trades: list[dict[str, Any]]) -> str:
    """The trade a person means: its full id, its row number (1 = first row shown), or a prefix of one
    id only (``T01``, ``t01-069500``). Anything else comes back as typed, for the caller to refuse."""
    ids = [t["trade_id"] for t in trades]
    if token in ids:
        return token
    if token.isdigit() and 1 <= int(token) <= len(ids):
        return ids[int(token) - 1]
    matches = [i for i in ids if i.lower().startswith(token.lower())] if token else []
    return matches[0] if len(matches) == 1 else token


class TerminalApprover:
    """An ``Approver`` for ``Runner``: shows the plan and asks until it gets a valid answer."""

    def __init__(self, console: Console, reviewer: Callable[[str, dict[str, Any]], str] | None = None,
                 ask: Callable[[str], str] | None = None) -> None:
        self.console = console
        self.reviewer = reviewer
        self.ask = ask or (lambda prompt: Prompt.ask(prompt, console=console))
        self.user = f"terminal:{getpass.getuser()}"

    # --- rendering ----------------------------------------------------------------------------

    def show_drift(self, values: dict[str, Any]) -> None:
        report = values.get("drift", {}).get("report", {})
        table = Table(title="Drift (weights of equity; sub rows within their class)")
        for column in ("level", "asset", "current", "target", "deviation"):
            table.add_column(column, justify="right" if column in ("current", "target", "deviation") else "left")
        for row in (*report.get("mp", []), *report.get("sub", [])):
            deviation = row["current"] - row["target"]
            style = "red" if abs(deviation) > 0.03 else ""
            nested = row.get("class_name") and row["class_name"] != row["asset"]  # an mp row is its class
            name = f"{row['class_name']}/{row['asset']}" if nested else row["asset"]
            shown = f"{deviation:+.2%}"
            table.add_row(row["level"], name, _pct(row["current"]), _pct(row["target"]),
                          f"[{style}]{shown}[/]" if style else shown)
        self.console.print(table)
        reasons = values.get("drift", {}).get("verdict", {}).get("reasons", [])
        if reasons:
            self.console.print(f"[dim]triggered by: {escape(reasons[0])}{' …' if len(reasons) > 1 else ''}[/]")

    def show_trades(self, request: dict[str, Any]) -> None:
        table = Table(title="Trades (whole shares, sells first)")
        for column in ("id", "ticker", "side", "qty", "ref price", "notional", "est. cost", "weight → target"):
            table.add_column(column, justify="left" if column in ("id", "ticker", "side") else "right")
        for t in request["trades"]:
            table.add_row(t["trade_id"], t["ticker"], t["side"], str(t["quantity"]), _krw(t["reference_price"]),
                          _krw(t["notional"]), _krw(t["commission"] + t["tax"]),
                          f"{_pct(t['weight_before'])} → {_pct(t['weight_after'])} ({_pct(t['target_weight'])})")
        self.console.print(table)

    def show_orders(self, request: dict[str, Any]) -> None:
        table = Table(title=f"Orders — planner: {request['planner']['planner']} ({escape(request['planner']['reason'])})")
        for column in ("order", "ticker", "side", "qty", "type", "limit", "schedule"):
            table.add_column(column)
        for o in request["orders"]:
            table.add_row(o["order_id"], o["ticker"], o["side"], str(o["quantity"]), o["order_type"],
                          _krw(o["limit_price"]) if o["limit_price"] else "—", o["schedule"])
        self.console.print(table)
        path = request.get("cash_path") or []
        if path:  # what the orders do to the cash, the buys at what KIS reserves for them
            steps = " → ".join(f"{step['label']} {_krw(step['cash'])}" for step in path)
            self.console.print(f"cash (KRW): {steps} · the buys commit {_krw(request.get('committed', 0))} "
                               "at their reservation prices")

    def show_costs(self, values: dict[str, Any]) -> None:
        n = values.get("netting", {})
        self.console.print(f"turnover {_krw(n.get('turnover', 0))} KRW · commission {_krw(n.get('commission', 0))} · "
                           f"tax {_krw(n.get('tax', 0))} · cash after {_krw(n.get('cash_after', 0))} KRW · "
                           f"allocation error {n.get('error', 0):.4f} (lower bound {n.get('lower_bound', 0):.4f})")

    def show_guardrails(self, request: dict[str, Any], values: dict[str, Any]) -> None:
        results = [*values["guardrails"]["results"], *values["guardrails"]["headless_results"]]
        table = Table(title="Guardrails")
        table.add_column("rule")
        table.add_column("")
        table.add_column("detail")
        for r in results:
            mark = "[green]✓[/]" if r["passed"] else "[red]✗[/]"
            table.add_row(r["rule_id"] + (" (headless)" if r.get("scope") == "headless" else ""), mark,
                          escape(r["message"]))
        self.console.print(table)

    def show_open(self, request: dict[str, Any]) -> None:
        if not request["open_orders"]:
            self.console.print("no orders resting on these tickers")
            return
        table = Table(title="Orders already resting on these tickers")
        for column in ("order no", "ticker", "side", "remaining", "price", "placed by"):
            table.add_column(column)
        for o in request["open_orders"]:
            table.add_row(o["order_no"], o["ticker"], o["side"], str(o["remaining_quantity"]), _krw(o["price"]),
                          o.get("placed_by", "") if o.get("placed_by") != "not Rebal" else "[yellow]not Rebal[/]")
        self.console.print(table)

    def explain(self, trade_id: str, request: dict[str, Any], values: dict[str, Any]) -> None:
        trade = next((t for t in request["trades"] if t["trade_id"] == trade_id), None)
        if trade is None:
            self.console.print(f"[red]no trade {trade_id!r}[/] (ids: {', '.join(t['trade_id'] for t in request['trades'])})")
            return
        choice = next((c for c in values["proposal"]["plan"]["choices"] if c["trade_id"] == trade_id), {})
        self.console.print(Panel(
            f"{escape(trade['reason'])}\n\nexecution: type {choice.get('order_type')} {choice.get('price_rule') or ''} "
            f"{choice.get('offset_ticks', 0):+d} ticks, {choice.get('slices', 1)} slice(s), {choice.get('schedule')}\n"
            f"why: {escape(choice.get('rationale') or '—')}", title=trade_id))  # model-written: plain text

    # --- the conversation -------------------------------------------------------------------

    def __call__(self, request: dict[str, Any], values: dict[str, Any]) -> Approval:
        self.console.rule(f"Run {request['run_id']}")
        if request.get("problem"):
            self.console.print(f"[yellow]{request['problem']}[/]")
        self.show_drift(values)
        self.show_trades(request)
        self.show_orders(request)
        self.show_costs(values)
        self.show_guardrails(request, values)
        if request["open_orders"]:
            self.show_open(request)
        if not request["guardrails_passed"]:
            self.console.print("[red]A guardrail failed: this plan cannot be approved. Edit it or reject it.[/]")
        self.console.print(f"[dim]plan {request['plan_hash'][:12]} · type 'help' for commands[/]")
        edits: list[Edit] = []
        cancel_open = False
        while True:
            try:
                line = self.ask("[bold]approve / reject / edit / explain / show[/]").strip()
            except EOFError:  # Ctrl-D or the end of piped input: no decision, the run waits (resumable)
                self.console.print("[yellow]no answer (end of input): nothing was approved; the run waits for "
                                   f"one — `rebal runs resume {request['run_id']}`[/]")
                return None  # type: ignore[return-value]  # the runner parks the run (exit 3)
            if not line:
                continue
            word, _, rest = line.partition(" ")
            word = word.lower()
            answer = dict(plan_hash=request["plan_hash"], by=self.user, at=dt.datetime.now(dt.UTC).isoformat(),
                          cancel_open_orders=cancel_open)
            if word in ("approve", "a", "yes"):
                if edits:
                    return Approval(decision="edit", edits=edits, **answer)
                if not request["guardrails_passed"]:
                    self.console.print("[red]not possible: a guardrail failed[/]")
                    continue
                return Approval(decision="approve", **answer)
            if word in ("reject", "r", "no"):
                return Approval(decision="reject", note=rest[:500], **answer)
            if word == "edit":
                edit = self._parse_edit(rest, request, edits, values)
                if edit is not None:
                    edits.append(edit)
                    self.console.print(f"edit noted ({edit.kind}); 'approve' to recompute the plan with it")
                continue
            if word == "cancel-open":
                if not request["open_orders"]:
                    self.console.print("no orders are resting on these tickers: nothing to cancel")
                    continue
                cancel_open = True
                self.console.print(f"the {len(request['open_orders'])} resting order(s) will be cancelled before "
                                   "trading")
                continue
            if word == "explain":
                self.explain(trade_id_of(rest.strip(), request["trades"]), request, values)
                continue
            if word == "show":
                self._show(rest.strip().lower(), request, values)
                continue
            if word in ("help", "?"):
                self.console.print(HELP)
                continue
            self._question(line, request, values)

    def _show(self, what: str, request: dict[str, Any], values: dict[str, Any]) -> None:
        views = {"drift": lambda: self.show_drift(values), "trades": lambda: self.show_trades(request),
                 "orders": lambda: self.show_orders(request), "costs": lambda: self.show_costs(values),
                 "guardrails": lambda: self.show_guardrails(request, values), "open": lambda: self.show_open(request)}
        views.get(what, lambda: self.console.print(f"show what? {', '.join(views)}"))()

    def _parse_edit(self, text: str, request: dict[str, Any], edits: list[Edit] | None = None,
                    values: dict[str, Any] | None = None) -> Edit | None:
        parts = text.split()
        if len(parts) == 3 and parts[0] in ("qty", "type"):
            parts[1] = trade_id_of(parts[1], request["trades"])
        edit = None
        try:
            if len(parts) == 3 and parts[0] == "qty":
                edit = Edit(kind="quantity", trade_id=parts[1], quantity=int(parts[2]))
            elif len(parts) == 2 and parts[0] == "exclude":
                edit = Edit(kind="exclude", ticker=parts[1])
            elif len(parts) == 3 and parts[0] == "type":
                edit = Edit(kind="order_type", trade_id=parts[1], order_type=parts[2])
            if edit is not None:  # refused here already when it names no trade or ticker of this plan
                if values is not None and "account" in values:
                    check_edits_against([*(edits or []), edit], {**values, "netting": {"trades": request["trades"]}})
                else:
                    check_edits([*(edits or []), edit], request["trades"])
                return edit
        except EditError as error:
            self.console.print(f"[red]edit refused:[/] {escape(str(error))}")
            return None
        except ValueError as error:  # a pydantic error: its first problem in plain words, never the raw text
            from pydantic import ValidationError

            why = error.errors()[0]["msg"] if isinstance(error, ValidationError) and error.errors() else str(error)
            self.console.print(f"[red]edit not understood:[/] {escape(why)}")
            return None
        self.console.print("[red]edit what?[/] edit qty TRADE_ID N | edit exclude TICKER | edit type TRADE_ID CODE")
        return None

    def _question(self, question: str, request: dict[str, Any], values: dict[str, Any]) -> None:
        if self.reviewer is None:
            self.console.print("[dim]free-text questions need an LLM (set GOOGLE_API_KEY); try 'help'[/]")
            return
        data = {k: values.get(k) for k in ("drift", "netting", "planner", "guardrails", "open_orders")}
        data["orders"] = (values.get("proposal") or {}).get("orders")
        try:
            answer = self.reviewer(question, json.loads(json.dumps(data, default=str)))
            self.console.print(Panel(escape(answer), title="reviewer (read-only)"))  # model-written: plain text
        except Exception as error:  # the reviewer is a convenience: its failure never blocks the decision
            from agent.reviewer import ReviewerRefused

            why = str(error) if isinstance(error, ReviewerRefused) else type(error).__name__
            self.console.print(f"[yellow]the reviewer could not answer ({escape(why)})[/]")
