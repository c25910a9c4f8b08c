"""Planner inputs and outputs: the computed features the planner sees, one record per LLM call,
the result (which planner ran and why), and the settings.

Every model is frozen and forbids unknown fields. ``TradeFeatures.name`` is the only free text
that reaches the LLM; it is untrusted and shown to the model as data only.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tools.market import InstrumentKind
from tools.netting.models import Side
from tools.plan import DEFAULT_MAX_SLICES, HARD_MAX_SLICES, ExecutionPlan
from tools.schedule import SessionDay, TimetableSettings

ALL_PLAN_ORDER_TYPES = ("00", "01", "02", "03", "04")
DEFAULT_MODEL_SPEC = "google_genai:gemini-2.5-flash"


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TradeFeatures(_Frozen):
    """One trade and the market figures computed for it. ``None`` means "not known" (no book
    side, no volume history), never zero."""

    trade_id: str
    ticker: str
    name: str = Field(max_length=120)  # untrusted (broker/instrument master text): data only
    side: Side
    quantity: int = Field(gt=0)
    reference_price: int = Field(gt=0)
    notional: int
    bid: int | None  # best bid (bid1)
    ask: int | None  # best ask (ask1)
    spread_ticks: int | None  # ask1 − bid1 in grid steps
    depth_at_touch: int = Field(ge=0)  # shares at the best level on the side this trade takes from
    adv_20d: float | None  # average daily volume over up to 20 completed sessions, shares
    participation: float | None  # quantity / adv_20d
    volatility_20d: float | None  # annualised stdev of daily log returns
    kind: InstrumentKind


class PlannerInput(_Frozen):
    """Everything the planner may look at, computed by code (``features.compute_features``)."""

    run_id: str
    as_of: str  # ISO datetime
    phase: str  # tools.market.Phase value
    minutes_to_close: float = Field(ge=0)  # to the end of the closing auction; 0 when no session is left today
    max_slices: int = Field(ge=1, le=HARD_MAX_SLICES)
    allowed_order_types: list[str] = Field(min_length=1)
    # The session's times and the [execution] settings: the policy computes the same worst-case
    # timetable as the guardrails (tools.schedule). None (an old transcript): plans fail the policy.
    session: SessionDay | None = None
    timetable: TimetableSettings = Field(default_factory=TimetableSettings)
    trades: list[TradeFeatures]

    @field_validator("allowed_order_types")
    @classmethod
    def _known_order_types(cls, types: list[str]) -> list[str]:
        unknown = sorted(set(types) - set(ALL_PLAN_ORDER_TYPES))
        if unknown:
            raise ValueError(f"order types {unknown} are not plan order types {ALL_PLAN_ORDER_TYPES}")
        return list(dict.fromkeys(types))  # de-duplicated, order kept

    @property
    def trade_ids(self) -> list[str]:
        return [t.trade_id for t in self.trades]

    @property
    def start(self) -> dt.datetime:
        """``as_of`` as a moment: where the timetable starts."""
        return dt.datetime.fromisoformat(self.as_of)


class ModelCall(_Frozen):
    """One request to a language model as a transcript records it: what was sent, the raw answer,
    usage, cost, latency and why it failed (the planner's ``llm_call``, the reviewer's ``reviewer_call``)."""

    model: str
    messages: list[dict[str, str]]  # {"role": "system"|"user"|"assistant", "content": ...}
    raw_text: str | None
    finish_reason: str | None
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    cost_usd: float = 0.0
    cost_note: str | None = None  # e.g. "no price for model X: cost counted as 0"
    latency_s: float = 0.0
    error: str | None = None  # why this attempt was rejected or failed; None when accepted


class LlmCall(ModelCall):
    """One planner request (event kind ``llm_call``)."""

    prompt_version: str
    attempt: Literal[1, 2]


class PlannerResult(_Frozen):
    """The plan used, which planner produced it, why, and every LLM call made on the way."""

    plan: ExecutionPlan
    planner: Literal["llm", "rules"]
    reason: str
    calls: list[LlmCall] = Field(default_factory=list)

    @property
    def total_tokens(self) -> int:
        return sum(c.total_tokens for c in self.calls)

    @property
    def cost_usd(self) -> float:
        return sum(c.cost_usd for c in self.calls)


class PlannerSettings(_Frozen):
    model: str = DEFAULT_MODEL_SPEC  # "provider:model"
    # The provider's endpoint; None means its own (for Gemini, Google's). Set it to reach the API
    # through a gateway or proxy that speaks the same REST API, e.g. "https://llm-gw.example.com/gemini".
    base_url: str | None = Field(default=None, pattern=r"^https?://\S+$")
    timeout: float = Field(default=20.0, gt=0)  # seconds per HTTP request
    # Passed to the client as is. langchain-google-genai 4.4 hands it to google-genai as the total
    # number of HTTP attempts, so 1 means no client-side retry on 429/5xx (its default, 6, means
    # minutes of retrying). Token use is bounded by the repair retry and token_budget regardless.
    max_retries: int = Field(default=1, ge=0, le=3)
    max_output_tokens: int = Field(default=2048, ge=256)
    temperature: float = Field(default=0.0, ge=0, le=2)
    # Gemini 2.5 Flash counts thinking tokens as output: 0 switches thinking off so the plan fits
    # max_output_tokens. Set None for models that cannot disable thinking (2.5 Pro, 3.x).
    thinking_budget: int | None = 0
    token_budget: int = Field(default=20_000, ge=0)  # per run, all attempts; fail closed to rules
    # For callers to pass to compute_features; the planners obey PlannerInput.max_slices.
    max_slices: int = Field(default=DEFAULT_MAX_SLICES, ge=1, le=HARD_MAX_SLICES)
