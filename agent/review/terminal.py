"""The conversational terminal session: the plan on one screen, then approve, reject, edit, undo,
explain, show.

Approving binds the answer to the plan's hash. An edit (and an undo) is answered at once: the graph
recomputes netting, the execution plan and the guardrails, and the session shows the new plan with
a line on what changed. Free-text questions go to a read-only reviewer when an LLM is configured.
Every input a person can type gets a one-line answer, never a traceback.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.prompt import Prompt
from rich.table import Table
from rich.text import Text

from agent.approval import Approval, Edit, EditError, check_edits, check_edits_against
from agent.review.plan_screen import PlanScreen
from agent.review.session_text import COMMAND_ALIASES, EDITABLE_ORDER_TYPES, Language

SHOW_VIEWS = ("drift", "trades", "orders", "costs", "guardrails", "open")


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


class TerminalApprover(PlanScreen):
    """An ``Approver`` for ``Runner``: shows the plan and asks until it gets an answer. The runner
    calls it again with the recomputed plan after every edit or undo; the instance remembers the
    plan it showed last (for the "what changed" line) and the ``cancel-open`` choice."""

    def __init__(self, console: Console, reviewer: Callable[[str, dict[str, Any]], str] | None = None,
                 ask: Callable[[str], str] | None = None, language: Language = "en") -> None:
        super().__init__(console, language)
        self.reviewer = reviewer
        self.ask = ask or (lambda prompt: Prompt.ask(prompt, console=console))
        self.user = f"terminal:{getpass.getuser()}"
        self.cancel_open = False  # kept across recomputes: chosen once for the run
        self.shown: dict[str, Any] | None = None  # the last request shown, for "what changed"

    # --- the conversation -------------------------------------------------------------------

    def __call__(self, request: dict[str, Any], values: dict[str, Any]) -> Approval | None:
        self.show_plan(request, values)
        if self.shown is not None and self.shown.get("run_id") == request["run_id"]:
            self.show_changes(self.shown, request)
        self.shown = request
        while True:
            try:
                line = self.ask(self.text("prompt")).strip()
            except EOFError:  # Ctrl-D or the end of piped input: no decision, the run waits (resumable)
                self.console.print()
                self.say(self.text("eof", run_id=request["run_id"]), "yellow")
                return None  # the runner parks the run (exit 3)
            if not line:
                continue
            answer = self._answer(line, request, values)
            if answer is not None:
                return answer

    def _answer(self, line: str, request: dict[str, Any], values: dict[str, Any]) -> Approval | None:
        """The approval a typed line gives, or None after printing what it asked for (or why not)."""
        word, _, rest = line.partition(" ")
        word = COMMAND_ALIASES.get(word.lower(), word.lower())
        rest = rest.strip()
        answer = dict(plan_hash=request["plan_hash"], by=self.user, at=dt.datetime.now(dt.UTC).isoformat(),
                      cancel_open_orders=self.cancel_open)
        if word == "approve":
            if not request["guardrails_passed"]:
                self.say(self.text("cannot_approve"), "red")
                return None
            return Approval(decision="approve", **answer)
        if word == "reject":
            return Approval(decision="reject", note=rest[:500], **answer)
        if word == "edit":
            edit = self._parse_edit(rest, request, None, values)
            if edit is None:
                return None
            self.say(self.text("edit_applying", edit=self._describe_edit(edit)), "cyan")
            return Approval(decision="edit", edits=[edit], **answer)
        if word == "undo":
            if not values.get("edits"):
                self.say(self.text("nothing_to_undo"), "yellow")
                return None
            self.say(self.text("undo_applying"), "cyan")
            return Approval(decision="undo", **answer)
        if word == "cancel-open":
            if not request["open_orders"]:
                self.say(self.text("cancel_open_none"))
            else:
                self.cancel_open = True
                self.say(self.text("cancel_open_set", count=len(request["open_orders"])))
            return None
        if word == "explain":
            self.explain(rest, request, values)
        elif word == "show":
            self._show(rest.lower(), request, values)
        elif word == "help":
            self.show_help()
        else:
            self._question(line, request, values)
        return None

    @staticmethod
    def _describe_edit(edit: Edit) -> str:
        if edit.kind == "exclude":
            return f"exclude {edit.ticker}"
        if edit.kind == "quantity":
            return f"qty {edit.trade_id} {edit.quantity}"
        return f"type {edit.trade_id} {edit.order_type}"

    def show_help(self) -> None:
        t = self.text
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold")
        grid.add_column()
        rows = [("approve", t("help_approve")), ("reject [reason]", t("help_reject")),
                ("edit qty TRADE_ID N", t("help_edit_qty")), ("edit exclude TICKER", t("help_edit_exclude")),
                ("edit type TRADE_ID CODE", t("help_edit_type", types=t.order_types_listing())),
                ("undo", t("help_undo")), ("cancel-open", t("help_cancel_open")),
                ("explain TRADE_ID", t("help_explain")), ("show " + "|".join(SHOW_VIEWS), t("help_show")),
                (t("help_other"), t("help_question"))]
        for command, meaning in rows:
            grid.add_row(Text(command), Text(meaning))
        self.console.print(Panel(grid, title=t("help"), title_align="left"))
        self.say(t("help_ids"), "dim")

    def explain(self, typed: str, request: dict[str, Any], values: dict[str, Any]) -> None:
        if not typed:
            self.say(self.text("explain_usage"), "red")
            return
        trade = self._trade(typed, request)
        if trade is not None:
            self.show_explanation(trade, values)

    def _trade(self, typed: str, request: dict[str, Any]) -> dict[str, Any] | None:
        """The trade ``typed`` names, or None after saying which ones there are."""
        trades = request["trades"]
        trade_id = trade_id_of(typed, trades)
        trade = next((t for t in trades if t["trade_id"] == trade_id), None)
        if trade is None:
            if not trades:
                self.say(self.text("no_trades_here"), "red")
            else:
                self.say(self.text("no_trade", typed=typed, count=len(trades),
                                   ids=", ".join(t["trade_id"] for t in trades)), "red")
        return trade

    def _show(self, what: str, request: dict[str, Any], values: dict[str, Any]) -> None:
        views = {"drift": lambda: self.show_drift(values), "trades": lambda: self.show_trades(request, values),
                 "orders": lambda: self.show_orders(request, values), "costs": lambda: self.show_costs(values),
                 "guardrails": lambda: self.show_guardrails(request, values),
                 "open": lambda: self.show_open(request, values)}
        view = views.get(what)
        if view is None:
            self.say(self.text("show_usage", views=", ".join(SHOW_VIEWS)), "red")
            return
        view()

    def _parse_edit(self, text: str, request: dict[str, Any], edits: list[Edit] | None = None,
                    values: dict[str, Any] | None = None) -> Edit | None:
        """The edit typed, checked against the plan shown; None after a one-line reason."""
        parts = text.split()
        kind = parts[0].lower() if parts else ""
        shape = {"qty": 3, "exclude": 2, "type": 3}
        if kind not in shape or len(parts) != shape[kind]:
            self.say(self.text("edit_usage"), "red")
            return None
        try:
            if kind == "exclude":
                edit = Edit(kind="exclude", ticker=parts[1])
            else:
                trade_id = trade_id_of(parts[1], request["trades"])
                if kind == "qty":
                    if not parts[2].isdigit():  # "-5", "abc", "1.5": not a share count
                        self.say(self.text("bad_quantity", typed=parts[2]), "red")
                        return None
                    edit = Edit(kind="quantity", trade_id=trade_id, quantity=int(parts[2]))
                else:
                    code = parts[2].zfill(2) if parts[2].isdigit() else parts[2]
                    if code not in EDITABLE_ORDER_TYPES:
                        self.say(self.text("bad_type", typed=parts[2], types=self.text.order_types_listing()), "red")
                        return None
                    edit = Edit(kind="order_type", trade_id=trade_id, order_type=code)  # type: ignore[arg-type]
            # Refused here already when it names no trade or ticker of this plan.
            if values is not None and values.get("account"):
                check_edits_against([*(edits or []), edit], {**values, "netting": {"trades": request["trades"]}})
            else:
                check_edits([*(edits or []), edit], request["trades"])
            return edit
        except EditError as error:
            self.say(self.text("edit_refused", why=str(error)), "red")
        except ValueError as error:  # a pydantic error: its first problem in plain words, never the raw text
            from pydantic import ValidationError

            why = error.errors()[0]["msg"] if isinstance(error, ValidationError) and error.errors() else str(error)
            self.say(self.text("edit_refused", why=why), "red")
        return None

    def _question(self, question: str, request: dict[str, Any], values: dict[str, Any]) -> None:
        if self.reviewer is None:
            self.say(self.text("no_llm"), "dim")
            return
        data = {k: values.get(k) for k in ("drift", "netting", "planner", "guardrails", "open_orders")}
        data["orders"] = (values.get("proposal") or {}).get("orders")
        try:
            answer = self.reviewer(question, json.loads(json.dumps(data, default=str)))
            self.console.print(Panel(Text(answer), title=self.text("reviewer_title")))  # model-written: plain
        except Exception as error:  # the reviewer is a convenience: its failure never blocks the decision
            from agent.reviewer import ReviewerRefused

            why = str(error) if isinstance(error, ReviewerRefused) else type(error).__name__
            self.say(self.text("reviewer_failed", why=why), "yellow")
