"""Starting, driving and resuming runs: the checkpointed graph plus whoever answers the approval.

A run's id is random (``YYYY-MM-DD-`` and 8 hex digits): it reveals nothing about the account.
The same rebalance (account, as-of date, targets version) cannot be started twice by accident:
its intent is kept as a keyed hash in the private journal (``Journal.intent_key``), so a second
``rebal run`` finds the first run and says so.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import sqlite3
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.approval import Approval
from agent.broker import BrokerConnection, connect
from agent.config import RebalConfig
from agent.context import RunContext, StopRequest
from agent.journal import Journal
from agent.transcript import Transcript
from tools.private import private_db, private_dir

EXIT_OK = 0  # every approved trade done (or nothing to do)
EXIT_FAILED = 1  # an error stopped the run; the message says what the journal shows, and how to resume
EXIT_USAGE = 2  # usage, configuration or targets error: nothing was sent
EXIT_NEEDS_APPROVAL = 3  # headless: a person must look (the run is resumable)
EXIT_REJECTED = 4
EXIT_BLOCKED = 5  # stopped before any order: a guardrail, a plan that cannot finish today, or resting
#                   orders on the run's tickers that Rebal did not place
EXIT_PARTIAL = 6  # partly done: the account is off target (what was done and what not is reported)
EXIT_INTERRUPTED = 130  # Ctrl-C: the run's state (from the journal) and how to resume are printed
OUTCOME_EXIT = {"completed": EXIT_OK, "nothing to do": EXIT_OK, "rejected": EXIT_REJECTED,
                "blocked": EXIT_BLOCKED, "partly done": EXIT_PARTIAL}
RECURSION_LIMIT = 80

Approver = Callable[[dict[str, Any], dict[str, Any]], Approval]  # (request, state values) -> answer


@dataclass
class RunResult:
    run_id: str
    outcome: str
    message: str
    exit_code: int
    transcript: Path
    report: dict[str, Any]
    awaiting_approval: bool = False


def random_run_id(as_of: str) -> str:
    return f"{as_of}-{secrets.token_hex(4)}"


def auto_approver(request: dict[str, Any], state: dict[str, Any]) -> Approval | None:
    """Headless: approve only a plan that passes every guardrail and every headless cap."""
    if not (request["guardrails_passed"] and request["auto_approvable"]):
        return None
    return Approval(decision="approve", plan_hash=request["plan_hash"], by="auto-approve",
                    at=dt.datetime.now(dt.UTC).isoformat())


class Runner:
    """Everything one process needs to start or resume runs; close it (or use ``with``)."""

    def __init__(self, config: RebalConfig, *, headless: bool, progress: Callable[[str], None] | None = None,
                 confirm_real: Callable[[str], bool] | None = None, broker: BrokerConnection | None = None,
                 config_path: Path | None = None) -> None:
        from langgraph.checkpoint.sqlite import SqliteSaver

        from agent.graph import build_graph
        from agent.run_config import absolute_config
        from tools.market import krx_calendar

        # Relative paths fixed against today's working directory: a run records this config and is
        # resumed with it from anywhere. ``config_path``: the file it was loaded from, if any.
        config = absolute_config(config)
        self.config = config
        self.config_path = config_path
        self.headless = headless
        self.progress = progress
        self._stack = ExitStack()
        private_dir(config.paths.home, own=True)
        self.broker = broker or connect(config, confirm_real=None if headless else confirm_real)
        self._stack.callback(self.broker.close)
        self.journal = Journal(config.journal_db)
        self._stack.callback(self.journal.close)
        # Checkpoints hold holdings, cash and LLM messages: 0600, with their -wal/-shm.
        conn = sqlite3.connect(private_db(config.runs_db), check_same_thread=False)
        self._stack.callback(conn.close)
        self.saver = SqliteSaver(conn)
        self.graph = build_graph().compile(checkpointer=self.saver)
        self.calendar = krx_calendar()
        self.planner_model, self.planner_note = self._planner_model()
        self.active_run: str | None = None  # the run being started or resumed (for error messages)
        self.active_transcript: Transcript | None = None  # its transcript (the reviewer writes there too)
        self.stop = StopRequest()  # the live view's "cancel the remaining slices"

    def close(self) -> None:
        self._stack.close()

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- pieces ---------------------------------------------------------------------------

    def _planner_model(self) -> tuple[Any | None, str]:
        section = self.config.planner
        key = os.environ.get("GOOGLE_API_KEY") or os.environ.get("GEMINI_API_KEY")
        if not section.use_llm:
            return None, "rules planner (planner.use_llm = false)"
        if not key:
            return None, "rules planner: no LLM configured (set GOOGLE_API_KEY to use Gemini)"
        from agent.planner import PlannerSettings
        from agent.planner.llm import make_chat_model
        from tools.kis.redact import REDACTOR

        REDACTOR.add_secret(key)
        settings = PlannerSettings(model=section.model, base_url=section.base_url, timeout=section.timeout,
                                   max_retries=section.max_retries, max_output_tokens=section.max_output_tokens,
                                   token_budget=section.token_budget, max_slices=section.max_slices)
        try:
            return make_chat_model(section.model, key, settings), ""
        except Exception as error:  # a broken model spec must not stop a rebalance: rules take over
            return None, f"rules planner: the LLM could not be set up ({type(error).__name__}: {error})"

    def _context(self, run_id: str) -> RunContext:
        return RunContext(config=self.config, broker=self.broker, journal=self.journal,
                          transcript=Transcript(self.config.paths.transcripts, run_id, clock=self.broker.clock.now), calendar=self.calendar,
                          planner_model=self.planner_model, planner_note=self.planner_note,
                          headless=self.headless, progress=self.progress, stop=self.stop)

    @staticmethod
    def _config(run_id: str) -> dict[str, Any]:
        return {"configurable": {"thread_id": run_id}, "recursion_limit": RECURSION_LIMIT}

    def state(self, run_id: str):
        return self.graph.get_state(self._config(run_id))

    # --- starting and resuming ----------------------------------------------------------

    def new_run_id(self, *, again: bool = False) -> tuple[str, str, str]:
        """(run id, as-of date, intent key) of the rebalance intended now: the run already started
        for that intent (the latest), or a new random id when there is none or ``again``."""
        from agent.nodes.fetch_targets import load_configured_targets

        as_of = self.broker.clock.now().date().isoformat()
        context = self._context("probe")
        targets, _ = load_configured_targets(context, as_of)
        intent = self.journal.intent_key(self.broker.account, as_of, targets.version)
        earlier = self.journal.runs_for_intent(intent)
        if earlier and not again:
            return earlier[-1], as_of, intent
        run_id = random_run_id(as_of)
        while self.state(run_id).values:  # 2³² ids a day: a repeat is all but impossible, still never reused
            run_id = random_run_id(as_of)
        return run_id, as_of, intent

    def start(self, approver: Approver | None, *, again: bool = False) -> RunResult:
        run_id, as_of, intent = self.new_run_id(again=again)
        existing = self.state(run_id)
        if existing.values:
            finished = not existing.next
            raise RunExists(run_id, finished, existing.values.get("outcome", ""))
        self.journal.claim_intent(intent, run_id)
        context = self._context(run_id)
        self.active_run = run_id
        context.transcript.write("run_started", mode="headless" if self.headless else "interactive",
                                 profile=self.broker.profile, broker=self.broker.description,
                                 account=self.broker.masked_account, as_of=as_of, notes=self.broker.notes,
                                 planner=self.planner_note or self.config.planner.model,
                                 config=self.config.model_dump(mode="json", exclude={"paths"}))
        from agent.run_config import run_inputs

        initial = {"run_id": run_id, "mode": "headless" if self.headless else "interactive", "as_of": as_of,
                   "edits": [], "inputs": run_inputs(self.config, self.config_path)}
        return self._drive(run_id, initial, approver, context)

    def resume(self, run_id: str, approver: Approver | None) -> RunResult:
        from agent.run_config import check_resume

        snapshot = self.state(run_id)
        if not snapshot.values:
            raise KeyError(run_id)
        # Only with the configuration it started with (``agent.run_config.resume_config`` finds it).
        check_resume(run_id, snapshot.values.get("inputs"), self.config)
        context = self._context(run_id)
        if not snapshot.next:
            values = snapshot.values
            return RunResult(run_id, values.get("outcome", ""), "this run has finished already: "
                             + (values.get("message") or ""), OUTCOME_EXIT.get(values.get("outcome") or "", EXIT_OK),
                             context.transcript.path, values.get("report") or {})
        today = self.broker.clock.now().date().isoformat()
        if snapshot.values.get("as_of") != today and set(snapshot.next) & {"execute", "approve"}:
            # Day orders lapse at the close and yesterday's prices are not today's: a plan is only
            # ever executed on the session it was made for.
            raise StaleRun(f"run {run_id} was planned for {snapshot.values.get('as_of')}; it is {today} now. Its "
                           "orders of that day have lapsed; start a new run (rebal run) for today")
        self.active_run = run_id
        context.transcript.write("run_resumed", waiting_for=list(snapshot.next),
                                 mode="headless" if self.headless else "interactive",
                                 config_path=(snapshot.values.get("inputs") or {}).get("config_path"))
        return self._drive(run_id, None, approver, context)

    def discard(self, run_id: str, by: str) -> RunResult:
        """End a run that waits for approval without trading: it is recorded as rejected ("discarded
        by …"). A run that is executing (orders may be working) is not discarded: resume it instead.
        KeyError: no such run; ValueError: it cannot be discarded (the message says why)."""
        snapshot = self.state(run_id)
        if not snapshot.values:
            raise KeyError(run_id)
        if not snapshot.next:
            raise ValueError(f"run {run_id} has finished already ({snapshot.values.get('outcome') or 'done'})")
        if set(snapshot.next) - {"approve"}:
            raise ValueError(f"run {run_id} is at {', '.join(snapshot.next)}, not waiting for approval: orders may "
                             f"be working, so it is not discarded; continue it with `rebal runs resume {run_id}`")
        context = self._context(run_id)
        self.active_run = run_id
        config = self._config(run_id)
        message = f"discarded by {by} while waiting for approval; no order was sent"
        self.graph.update_state(config, {"route": "record", "outcome": "rejected", "message": message},
                                as_node="verify_approval")
        self.graph.invoke(None, config, context=context, durability="sync")
        return self._result(run_id, self.graph.get_state(config).values, context)

    def _drive(self, run_id: str, payload: Any, approver: Approver | None, context: RunContext) -> RunResult:
        from langgraph.types import Command

        config = self._config(run_id)
        self.active_transcript = context.transcript
        while True:
            self.graph.invoke(payload, config, context=context, durability="sync")
            snapshot = self.graph.get_state(config)
            if not snapshot.interrupts:
                return self._result(run_id, snapshot.values, context)
            request = snapshot.interrupts[0].value
            answer = approver(request, snapshot.values) if approver is not None else None
            if answer is None and self.headless and not request["guardrails_passed"]:
                # A plan that fails a guardrail can never be approved as it is: headless, the run
                # ends as blocked (a person may start a new run and edit it), it is not parked.
                why = "; ".join(f"{f['rule_id']}: {f['message']}" for f in request["failures"]
                                if f.get("scope", "plan") == "plan") or "a guardrail failed"
                context.transcript.write("approval_requested", plan_hash=request["plan_hash"],
                                         auto_approvable=False, waiting=False, blocked=True,
                                         failures=[f["rule_id"] for f in request["failures"]])
                self.graph.update_state(config, {
                    "route": "record", "outcome": "blocked",
                    "message": f"blocked by the guardrails ({why}). No order was sent; the account is as it was."},
                    as_node="verify_approval")
                payload = None
                continue
            if answer is None:
                context.transcript.write("approval_requested", plan_hash=request["plan_hash"],
                                         auto_approvable=request["auto_approvable"], waiting=True,
                                         failures=[f["rule_id"] for f in request["failures"]])
                why = "; ".join(f"{f['rule_id']}: {f['message']}" for f in request["failures"]) or "needs a person"
                said = f"not auto-approved ({why})" if self.headless else "no answer was given: nothing was sent"
                return RunResult(run_id, "awaiting approval", f"{said}; resume with `rebal runs resume {run_id}`",
                                 EXIT_NEEDS_APPROVAL, context.transcript.path, {}, awaiting_approval=True)
            context.transcript.write("approval_requested", plan_hash=request["plan_hash"],
                                     auto_approvable=request["auto_approvable"])
            payload = Command(resume=answer.model_dump(mode="json"))

    @staticmethod
    def _result(run_id: str, values: dict[str, Any], context: RunContext) -> RunResult:
        outcome = values.get("outcome") or "completed"
        code = OUTCOME_EXIT.get(outcome, EXIT_FAILED)
        return RunResult(run_id, outcome, values.get("message", ""), code, context.transcript.path,
                         values.get("report") or {})


def list_runs(graph) -> list[dict[str, Any]]:
    """Every run in a compiled graph's checkpoint store, newest first: id, outcome, what it waits for."""
    seen: dict[str, dict[str, Any]] = {}
    # Read the listing to the end first: the saver's generator holds its lock, and get_state below
    # needs that lock too (iterating and reading states at once deadlocks).
    for item in list(graph.checkpointer.list(None)):
        thread = item.config["configurable"]["thread_id"]
        if thread in seen:
            continue
        state = graph.get_state({"configurable": {"thread_id": thread}})
        seen[thread] = {"run_id": thread, "as_of": state.values.get("as_of", ""),
                        "mode": state.values.get("mode", ""),
                        "outcome": state.values.get("outcome") or ("in progress" if state.next else ""),
                        "waiting_for": list(state.next), "updated": item.checkpoint.get("ts", "")}
    return sorted(seen.values(), key=lambda r: r["updated"], reverse=True)


class StaleRun(RuntimeError):
    """A run planned for an earlier session cannot be resumed into execution."""


class RunExists(RuntimeError):
    def __init__(self, run_id: str, finished: bool, outcome: str) -> None:
        self.run_id, self.finished, self.outcome = run_id, finished, outcome
        if finished:
            text = (f"this rebalance (same account, date and targets) already ran as {run_id} ({outcome}); "
                    "`rebal run --again` starts another")
        else:
            text = f"this rebalance is already under way as {run_id}; continue it with `rebal runs resume {run_id}`"
        super().__init__(text)
