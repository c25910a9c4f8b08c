"""Execution planning: how to carry out each trade, never what to trade.

``plan_execution`` runs the LLM planner when a chat model is configured and the rules planner
otherwise; the LLM planner itself falls back to the rules on any failure. The result says which
planner ran and why, and carries every LLM call for the transcript (``record_planning``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from agent.planner.features import compute_features
from agent.planner.models import LlmCall, PlannerInput, PlannerResult, PlannerSettings, TradeFeatures
from agent.planner.policy import plan_timetable
from agent.planner.rules import rules_plan

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

NO_MODEL_REASON = "no LLM configured (set GOOGLE_API_KEY to use Gemini)"

__all__ = [
    "NO_MODEL_REASON",
    "LlmCall",
    "PlannerInput",
    "PlannerResult",
    "PlannerSettings",
    "TradeFeatures",
    "compute_features",
    "plan_execution",
    "record_planning",
    "rules_plan",
]


def plan_execution(inp: PlannerInput, settings: PlannerSettings, *, model: BaseChatModel | None) -> PlannerResult:
    """The plan for ``inp``: from ``model`` when given (falling back to the rules on any failure),
    else from the rules with the reason that no LLM is configured."""
    if model is None:
        return PlannerResult(plan=rules_plan(inp), planner="rules", reason=NO_MODEL_REASON)
    if inp.trades:
        # The rules plan fits whenever any plan does: when it does not, no answer could, so no call.
        plan = rules_plan(inp)
        table = plan_timetable(inp, plan)
        if table is not None and not table.feasible:
            return PlannerResult(plan=plan, planner="rules", reason=(
                f"no plan can finish today ({table.problems[0]}; {table.advice}): rules plan, no LLM call"))
    from agent.planner.llm import llm_plan  # langchain imports only when an LLM is used

    return llm_plan(inp, model, settings)


class _Writer(Protocol):
    def write(self, kind: str, **data: Any) -> Any: ...


def record_planning(transcript: _Writer, inp: PlannerInput, result: PlannerResult) -> None:
    """Transcript events ``planner_input``, one ``llm_call`` per attempt, and ``plan``: enough
    to replay the planner's decision offline."""
    transcript.write("planner_input", **inp.model_dump(mode="json"))
    for call in result.calls:
        transcript.write("llm_call", **call.model_dump(mode="json"))
    transcript.write("plan", plan=result.plan.model_dump(mode="json"), planner=result.planner,
                     reason=result.reason, total_tokens=result.total_tokens, cost_usd=result.cost_usd)
