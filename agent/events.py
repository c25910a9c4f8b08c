"""The ``data`` of every transcript kind, as the writers write it today.

``Transcript.write`` validates each event with its kind's model, so a writer that changes a shape
fails in the tests instead of leaving the review to guess. Readers call ``typed(event)``: the
model, or None for a kind this Rebal does not know (a newer writer) or a line that no longer
validates (an older one); the raw ``data`` dict stays on the event for those.

Where a writer dumps an existing model, that model is used as-is (``NettingResult``, ``Approval``,
``RuleResult``, ``LlmCall``, ``JournalEntry`` …), so the transcript and the code cannot drift apart.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from agent.approval import Approval, Edit
from agent.journal import JournalEntry
from agent.planner.models import LlmCall, ModelCall, PlannerInput
from agent.state import AccountReading, DriftReading, RestingOrder, TargetsReading
from guardrails.models import RuleResult
from tools.netting.models import NettingResult
from tools.plan import HARD_MAX_SLICES, ExecutionPlan, Order
from tools.proposal import CashStep
from tools.schedule import SliceTime

if TYPE_CHECKING:
    from agent.transcript import TranscriptEvent

Mode = Literal["headless", "interactive"]
Side = Literal["buy", "sell"]


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- the run ---------------------------------------------------------------------------------------


class RunStarted(_Event):
    mode: Mode
    profile: str
    broker: str  # description of the connection, with the exchange clock when simulated
    account: str  # masked
    as_of: str  # ISO date of the session
    notes: list[str] = Field(default_factory=list)
    planner: str
    config: dict[str, Any]  # ``RebalConfig`` as stored (validated by ``agent.run_config`` on resume)


class RunResumed(_Event):
    waiting_for: list[str]  # graph nodes the run waited at
    mode: Mode
    config_path: str | None = None


class AccountEvent(AccountReading):
    account: str  # masked


class TargetsEvent(TargetsReading):
    units: str = "fraction"  # how the file's weights were read
    notes: list[str] = Field(default_factory=list)  # e.g. why they were read as percent


class TradesEvent(_Event):
    netting: NettingResult
    edits: list[Edit] = Field(default_factory=list)
    edit_notes: list[str] = Field(default_factory=list)


class ReviewerCall(ModelCall):
    """One question to the terminal's read-only reviewer, with its budget and any cut of the data."""

    question: str
    data_chars: int = 0
    data_cut_to: int | None = None
    tokens_used: int = 0
    token_budget: int = 0


class PlanEvent(_Event):
    """The plan used. The graph writes the orders and cash path too; ``record_planning`` (the
    planner on its own) writes the token count and cost instead."""

    planner: str  # "llm" | "rules"
    reason: str
    plan: ExecutionPlan
    orders: list[Order] = Field(default_factory=list)
    committed: dict[str, int] = Field(default_factory=dict)  # order id → KRW reserved by a buy
    proceeds: dict[str, int] = Field(default_factory=dict)  # order id → KRW expected from a sell
    cash_path: list[CashStep] = Field(default_factory=list)
    digest: str | None = None  # the plan hash
    total_tokens: int | None = None
    cost_usd: float | None = None

    @field_validator("plan", mode="before")
    @classmethod
    def _any_slices(cls, value: Any) -> Any:
        # The configured slice cap was checked when the plan was made; here only the hard cap applies.
        return ExecutionPlan.model_validate(value, context={"max_slices": HARD_MAX_SLICES}) \
            if isinstance(value, dict) else value


GuardrailStage = Literal["approval", "execution start", "buys"]


class GuardrailsEvent(_Event):
    stage: GuardrailStage | None = None  # None: the plan as proposed (headless rules included)
    plan_hash: str | None = None
    passed: bool
    auto_approvable: bool | None = None
    results: list[RuleResult]


class ApprovalRequested(_Event):
    plan_hash: str
    auto_approvable: bool
    waiting: bool | None = None  # True: parked for a person (headless, not auto-approvable)
    blocked: bool | None = None  # True: a guardrail failed, the run ends without asking
    failures: list[str] = Field(default_factory=list)  # rule ids


class ApprovalEvent(Approval):
    plan_hash_shown: str


class OpenOrders(_Event):
    orders: list[RestingOrder]


# --- orders ----------------------------------------------------------------------------------------


class OrderIntent(_Event):
    """A slice about to be sent (``action`` None), or a re-price of one (``action`` "revise")."""

    key: str  # journal key: run_id/trade_id/slice[/attempt]
    action: Literal["revise"] | None = None
    attempt: int | None = None
    ticker: str | None = None  # new orders only
    side: Side | None = None
    quantity: int
    order_type: str | None = None  # ORD_DVSN code; a re-price is a limit order
    price: int
    original_order_no: str | None = None  # revise: the order re-priced


class OrderAck(_Event):
    key: str
    order_no: str
    message: str | None = None
    action: Literal["new", "revise", "cancel"] | None = None
    reconciled: bool | None = None  # True: found on the broker's order list after a lost answer


class OrderError(_Event):
    key: str
    error: str
    msg_cd: str | None = None  # the broker's refusal code
    ambiguous: bool | None = None  # the answer was lost: the order may or may not be on the book
    not_placed: bool | None = None  # certainly not on the book
    unsettled: bool | None = None  # still not known after reconciling


class FillEvent(_Event):
    key: str
    order_no: str
    ticker: str
    side: Side
    filled: int  # cumulative shares filled on this order
    average_price: float
    remaining: int


# --- execution steps -------------------------------------------------------------------------------


class TimetableStep(_Event):
    step: Literal["timetable"]
    start: str
    slices: list[SliceTime]
    done_by: str
    orders: list[Order] = Field(default_factory=list)  # the slices' orders (older transcripts: none)


class BuyTimetableStep(_Event):
    step: Literal["buy timetable"]
    start: str
    slices: list[SliceTime]
    orders: list[Order] = Field(default_factory=list)


class CancelRequestedStep(_Event):
    """A person asked (the live view's key) to cancel the remaining slices."""

    step: Literal["cancel requested"]
    by: str
    at: str  # exchange clock


class RefusedStep(_Event):
    step: Literal["refused before the first order"]
    problems: list[str]


class CancelledRestingStep(_Event):
    step: Literal["cancelled a resting order"]
    order_no: str
    placed_by: str
    status: str  # the cancel's journal status


class StageDoneStep(_Event):
    step: Literal["sells done", "buys done"]
    orders: list[JournalEntry]  # this run's journal rows of the side, as they stood


class ReadRetryStep(_Event):
    step: Literal["broker read failed, retrying"]
    what: str
    error: str
    attempt: int


class RepricedStep(_Event):
    step: Literal["re-priced an unfilled remainder"]
    key: str  # the order re-priced
    new_order_no: str | None
    price: int
    quantity: int


class BuysSizedStep(_Event):
    step: Literal["buys sized after the sells"]
    orderable_cash: int
    kept: int
    buys: list[Order]
    committed: dict[str, int]
    notes: list[str] = Field(default_factory=list)


class SliceNotSentStep(_Event):
    step: Literal["slice not sent"]
    key: str
    ticker: str
    side: Side
    quantity: int
    reason: str


class CancelledRemainderStep(_Event):
    step: Literal["cancelled a remainder"]
    key: str | None  # the order whose remainder was cancelled
    order_no: str | None
    reason: str
    reconciled: bool = False


ExecutionStep = Annotated[
    TimetableStep | BuyTimetableStep | CancelRequestedStep | RefusedStep | CancelledRestingStep | StageDoneStep
    | ReadRetryStep | RepricedStep | BuysSizedStep | SliceNotSentStep | CancelledRemainderStep,
    Field(discriminator="step")]


# --- the end ---------------------------------------------------------------------------------------


class ReportHolding(_Event):
    ticker: str
    weight: float  # of total value, after the run
    target: float
    deviation: float  # weight − target
    quantity: int


class ReportTrade(_Event):
    trade_id: str
    ticker: str
    side: Side
    planned: int
    placed: int
    filled: int
    average_price: float
    arrival_mid: float
    shortfall_bp: float
    not_done: int
    why_not: str


class SideFills(_Event):
    buy: int = 0
    sell: int = 0


class RunReport(_Event):
    """``agent.executor.report.final_report``."""

    outcome: str  # completed | partly done
    summary: str
    total_value: int
    cash_d2: int
    cash_weight: float
    target_cash_weight: float
    holdings: list[ReportHolding]
    max_drift: float
    trades: list[ReportTrade]
    filled_by_ticker: dict[str, SideFills]
    filled_orders: int
    unfilled_quantity: int
    shortfall_bp: float
    fees_and_taxes: int


class RunFinished(_Event):
    outcome: str
    message: str
    report: RunReport | None = None

    @field_validator("report", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if value == {} else value  # a run that never executed carries an empty report


class ErrorEvent(_Event):
    stage: str  # what failed ("run", "resume", …)
    error: str
    account: str  # the account state known at that moment, in words
    exit_code: int


class StrategyState(_Event):
    ticker: str
    state: str
    reason: str


class StrategyStates(_Event):
    strategy: str  # the strategy file
    states: list[StrategyState]


MODELS: dict[str, Any] = {
    "run_started": RunStarted, "run_resumed": RunResumed, "account": AccountEvent, "targets": TargetsEvent,
    "drift": DriftReading, "trades": TradesEvent, "planner_input": PlannerInput, "llm_call": LlmCall,
    "reviewer_call": ReviewerCall, "plan": PlanEvent, "guardrails": GuardrailsEvent,
    "approval_requested": ApprovalRequested, "approval": ApprovalEvent, "open_orders": OpenOrders,
    "order_intent": OrderIntent, "order_ack": OrderAck, "order_error": OrderError, "fill": FillEvent,
    "execution": ExecutionStep, "report": RunReport, "run_finished": RunFinished, "error": ErrorEvent,
    "strategy_states": StrategyStates,
}
KNOWN_KINDS = frozenset(MODELS)
_ADAPTERS = {kind: TypeAdapter(model) for kind, model in MODELS.items()}


class EventShapeError(ValueError):
    """A writer wrote a shape its kind's model does not accept."""


def validate(kind: str, data: dict[str, Any]) -> BaseModel | None:
    """``data`` as its kind's model; None for an unknown kind; EventShapeError for a wrong shape."""
    adapter = _ADAPTERS.get(kind)
    if adapter is None:
        return None
    try:
        return adapter.validate_python(data)
    except ValidationError as error:
        raise EventShapeError(f"transcript event {kind!r} does not match its model: {error}") from None


def typed(event: TranscriptEvent) -> BaseModel | None:
    """The event's data as its kind's model; None when the kind is unknown or the stored data no
    longer validates (a transcript from another Rebal): the reader then shows the raw data."""
    try:
        return validate(event.kind, event.data)
    except EventShapeError:
        return None

