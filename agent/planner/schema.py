"""The schema the LLM fills, and the checks that turn its answer into an ExecutionPlan.

The LLM answers per trade id only: no tickers, no sides, no quantities, so it has nothing to
change about *what* is traded. The schema is narrowed per input (the trade ids, the allowed
order types and max_slices become enums and bounds) so the provider's constrained decoding
and the parser both enforce them; ``extra="forbid"`` makes an injected field such as
``"ticker"`` or ``"quantity"`` a parse failure instead of being silently dropped.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from agent.planner.models import PlannerInput
from agent.planner.policy import plan_problems
from tools.plan import (
    HARD_MAX_SLICES,
    MAX_OFFSET_TICKS,
    MAX_RATIONALE,
    PRICED_ORDER_TYPES,
    ExecutionPlan,
    PlanOrderType,
    PriceRule,
    Schedule,
)

ACCEPTED_FINISH_REASONS = frozenset({"stop", "end_turn", "tool_use", "tool_calls"})
MAX_ERROR_TEXT = 1200


class LlmChoice(BaseModel):
    """How to execute one trade (the LLM-facing twin of tools.plan.OrderChoice)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    trade_id: str = Field(description="A trade_id from the input, exactly as given.")
    order_type: PlanOrderType = Field(description="One of allowed_order_types.")
    price_rule: PriceRule | None = Field(
        description="For order types 00 and 02: the price the limit starts from. null for 01, 03, 04.")
    offset_ticks: int = Field(ge=-MAX_OFFSET_TICKS, le=MAX_OFFSET_TICKS,
                              description="Grid steps added to the price rule (+ = higher price). Usually 0.")
    slices: int = Field(ge=1, le=HARD_MAX_SLICES, description="Number of orders the quantity is split into.")
    schedule: Schedule = Field(description="now | twap (slices spread evenly from max(stage begin, twap_start) to "
                                           "twap_end) | closing_auction.")
    rationale: str = Field(max_length=MAX_RATIONALE, description="Why, in one short sentence with the numbers.")


class LlmPlan(BaseModel):
    """The whole answer: exactly one choice per input trade id."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    choices: list[LlmChoice]


def schema_for(inp: PlannerInput) -> type[LlmPlan]:
    """``LlmPlan`` narrowed to this input: trade ids, allowed order types and max_slices as enums
    and bounds, and exactly as many choices as trades. The class names stay ``LlmPlan`` /
    ``LlmChoice`` (the tool name on the function-calling path)."""
    trade_ids: Any = Literal[tuple(inp.trade_ids)]  # type: ignore[valid-type]
    order_types: Any = Literal[tuple(inp.allowed_order_types)]  # type: ignore[valid-type]
    choice = create_model(
        "LlmChoice", __base__=LlmChoice,
        trade_id=(trade_ids, Field(description="A trade_id from the input, exactly as given.")),
        order_type=(order_types, Field(description="One of allowed_order_types.")),
        slices=(int, Field(ge=1, le=inp.max_slices, description="Number of orders the quantity is split into.")))
    count = len(inp.trades)
    return create_model("LlmPlan", __base__=LlmPlan,
                        choices=(list[choice], Field(min_length=count, max_length=count)))  # type: ignore[valid-type]


def describe_error(exc: BaseException) -> str:
    """A short, model-readable account of why parsing failed (no echo of the whole answer, no
    documentation links)."""
    cause = exc.__cause__ if isinstance(exc.__cause__, ValidationError) else exc
    if isinstance(cause, ValidationError):
        parts = [f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}{_got(err.get('input'))}"
                 for err in cause.errors()[:8]]
        more = f" (+{cause.error_count() - 8} more)" if cause.error_count() > 8 else ""
        text = f"{cause.error_count()} validation error(s): " + "; ".join(parts) + more
    else:
        text = f"{type(exc).__name__}: {exc}"
        text = re.sub(r"\s+", " ", text.split(". Got:")[-1] if ". Got:" in text else text)
        text = re.sub(r"\s*For troubleshooting, visit: \S+", "", text).strip()
    return text[:MAX_ERROR_TEXT]


def _got(value: Any) -> str:
    """The offending value, when it is a short scalar (the model needs it to see its mistake)."""
    if isinstance(value, str | int | float | bool) and len(repr(value)) <= 60:
        return f" (got {value!r})"
    return ""


def finish_reason_of(raw: Any) -> str | None:
    metadata = getattr(raw, "response_metadata", None) or {}
    reason = metadata.get("finish_reason") or metadata.get("stop_reason") or metadata.get("done_reason")
    return str(reason) if reason is not None else None


def to_execution_plan(parsed: LlmPlan, inp: PlannerInput, planner: str) -> ExecutionPlan:
    """The parsed answer as an ExecutionPlan, choices in the input's trade order. Price fields of
    unpriced order types (01/03/04) are cleared: they are ignored downstream anyway."""
    order = {trade_id: i for i, trade_id in enumerate(inp.trade_ids)}
    choices = sorted(parsed.choices, key=lambda c: order.get(c.trade_id, len(order)))
    data = [c.model_dump() | ({} if c.order_type in PRICED_ORDER_TYPES else {"price_rule": None, "offset_ticks": 0})
            for c in choices]
    return ExecutionPlan.model_validate({"choices": data, "planner": planner[:64]},
                                        context={"max_slices": inp.max_slices})


def check_answer(output: dict[str, Any], inp: PlannerInput, planner: str) -> tuple[ExecutionPlan | None, str | None]:
    """(plan, None) when the structured answer is usable; (None, why not) otherwise."""
    finish = finish_reason_of(output.get("raw"))
    if finish is None or finish.lower() not in ACCEPTED_FINISH_REASONS:
        cut = " (output cut off at the token limit)" if finish and "max" in finish.lower() else ""
        return None, f"finish_reason {finish}{cut}; expected STOP"
    if output.get("parsing_error") is not None:
        return None, f"answer did not match the schema: {describe_error(output['parsing_error'])}"
    parsed = output.get("parsed")
    if not isinstance(parsed, LlmPlan):
        return None, "no structured answer (parsed is None)"
    try:
        plan = to_execution_plan(parsed, inp, planner)
    except ValidationError as exc:
        return None, f"answer is not a valid plan: {describe_error(exc)}"
    problems = plan_problems(inp, plan)
    if problems:
        return None, "plan breaks the rules: " + "; ".join(problems)[:MAX_ERROR_TEXT]
    return plan, None
