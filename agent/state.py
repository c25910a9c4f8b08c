"""The run state the graph checkpoints, typed.

LangGraph validates every node's input into ``RunState``, so nodes read models (``state.proposal``,
``state.account.snapshot``), never dicts. Nodes write ``model_dump(mode="json")`` back: the
checkpoint holds plain JSON values, restores in any process without custom serialisers and can be
listed without loading LangGraph (``agent.commands.runs_listing``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from agent.approval import Approval, Edit
from agent.journal import JournalEntry
from agent.planner.models import LlmCall
from guardrails.models import GuardrailReport
from tools.drift import DriftReport, TriggerVerdict
from tools.kis.models import Holding, OrderRecord
from tools.market import InstrumentKind
from tools.netting import NettingResult
from tools.plan import Quote
from tools.portfolio import AccountSnapshot
from tools.proposal import Proposal
from tools.targets import Targets, load_payload


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RunInputs(_Part):
    """What the run started with (``agent.run_config.run_inputs``). The configuration stays in its
    serialised form: ``agent.run_config.stored_config`` validates it, with a clear message when a
    newer Rebal cannot read it."""

    config: dict[str, Any]
    config_path: str | None = None
    config_sha256: str | None = None
    targets_file: str | None = None
    targets_version: str | None = None


class AccountReading(_Part):
    """The account as the broker reported it; ``snapshot`` values it at the run's quotes."""

    holdings: tuple[Holding, ...]
    cash_d0: int
    cash_d2: int
    securities_value: int
    total_value: int
    costs_today: int
    names: dict[str, str]
    snapshot: AccountSnapshot | None = None


class TargetsReading(_Part):
    payload: dict[str, Any]  # ``Targets.to_payload()``: the model portfolio as loaded
    flat: dict[str, float]
    cash_weight: float
    version: str | None
    source: str
    names: dict[str, str]

    @property
    def targets(self) -> Targets:
        return load_payload(self.payload, source=self.source)


class QuoteReading(_Part):
    """One instrument's book at the moment the run read it."""

    ticker: str
    bid: int
    ask: int
    price: int
    base_price: int
    kind: InstrumentKind
    name: str
    depth_bid: int
    depth_ask: int
    captured_at: str

    @property
    def quote(self) -> Quote:
        return Quote(ticker=self.ticker, bid=self.bid, ask=self.ask, base_price=self.base_price, kind=self.kind)


class DriftReading(_Part):
    report: DriftReport
    verdict: TriggerVerdict


class PlannerRecord(_Part):
    """Who planned the execution and why (the plan itself is in the proposal)."""

    planner: str
    reason: str
    calls: tuple[LlmCall, ...] = ()


class RestingOrder(OrderRecord):
    """An order already on the book for one of the run's tickers, and whose it is (by the journal)."""

    ours: bool = False  # placed by this run (after a resume)
    placed_by: Literal["this run", "an earlier Rebal run", "not Rebal"] = "not Rebal"


class ExecutionRecord(_Part):
    notes: tuple[str, ...] = ()
    orders: tuple[JournalEntry, ...] = ()


class RunState(BaseModel):
    model_config = ConfigDict(extra="forbid")

    run_id: str
    mode: Literal["interactive", "headless"]
    as_of: dt.date  # the session date
    inputs: RunInputs | None = None  # None: a run from before runs carried their inputs
    account: AccountReading | None = None
    targets: TargetsReading | None = None
    quotes: dict[str, QuoteReading] = Field(default_factory=dict)
    drift: DriftReading | None = None
    edits: tuple[Edit, ...] = ()  # the person's edits, applied on the next pass through netting
    netting: NettingResult | None = None
    planner: PlannerRecord | None = None
    proposal: Proposal | None = None  # what the person approves (tools.proposal)
    guardrails: GuardrailReport | None = None
    open_orders: tuple[RestingOrder, ...] = ()
    approval_requested_at: dt.datetime | None = None  # wall clock: when the plan was put to the person
    approval: Approval | None = None
    approval_problem: str = ""  # why an approval was not accepted (stale, expired, prices moved)
    execution: ExecutionRecord | None = None
    report: dict[str, Any] = Field(default_factory=dict)  # agent.executor.report.final_report, for display
    outcome: str = ""  # completed | partly done | nothing to do | rejected | blocked | failed
    message: str = ""  # one line for the person
    route: str = ""  # where verify_approval sends the run next

    @property
    def snapshot(self) -> AccountSnapshot:
        if self.account is None or self.account.snapshot is None:
            raise ValueError("the run has no account snapshot yet")
        return self.account.snapshot

    @property
    def plan_quotes(self) -> dict[str, Quote]:
        return {t: q.quote for t, q in self.quotes.items()}

    @property
    def excluded(self) -> frozenset[str]:
        return frozenset(e.ticker for e in self.edits if e.kind == "exclude" and e.ticker)
