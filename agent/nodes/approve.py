"""approve: nothing but the interrupt. The answer is validated against ``Approval`` by LangGraph.

This node re-runs from its first line on resume, so it must not do anything else (llm-agent-notes
§2.2): the checks of the answer are in ``verify_approval``.
"""

from __future__ import annotations

from agent.approval import Approval
from agent.state import RunState


def approval_request(state: RunState) -> dict:
    """What the person is shown (also what the headless auto-approver decides on)."""
    return {
        "run_id": state["run_id"], "plan_hash": state["plan_hash"], "requested_at": state["approval_requested_at"],
        "guardrails_passed": state["guardrails"]["passed"],
        "auto_approvable": state["guardrails"]["auto_approvable"],
        "failures": [r for r in (*state["guardrails"]["results"], *state["guardrails"]["headless_results"])
                     if not r["passed"]],
        "trades": state["netting"]["trades"], "orders": state["orders"], "open_orders": state.get("open_orders", []),
        "planner": {k: state["planner"][k] for k in ("planner", "reason")},
        "problem": state.get("approval_problem", ""),
    }


def approve(state: RunState) -> dict:
    from langgraph.types import interrupt  # loaded with the graph already

    answer = interrupt(approval_request(state), response_schema=Approval)
    approval = answer if isinstance(answer, Approval) else Approval.model_validate(answer)
    return {"approval": approval.model_dump(mode="json")}
