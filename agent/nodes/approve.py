"""approve: nothing but the interrupt. The answer is validated against ``Approval`` by LangGraph.

This node re-runs from its first line on resume, so it must not do anything else (llm-agent-notes
§2.2): the checks of the answer are in ``verify_approval``.
"""

from __future__ import annotations

from agent.approval import Approval
from agent.state import RunState


def approval_request(state: RunState) -> dict:
    """What the person is shown (also what the headless auto-approver decides on): JSON, for the
    interrupt payload."""
    proposal, report, planner = state.proposal, state.guardrails, state.planner
    assert proposal is not None and report is not None and planner is not None  # check_guardrails ran first
    return {
        "run_id": state.run_id, "plan_hash": proposal.digest,
        "requested_at": state.approval_requested_at.isoformat() if state.approval_requested_at else "",
        "guardrails_passed": report.passed, "auto_approvable": report.auto_approvable,
        "failures": [r.model_dump(mode="json") for r in report.failures],
        "trades": [t.model_dump(mode="json") for t in proposal.trades],
        "orders": [o.model_dump(mode="json") for o in proposal.orders],
        "committed": proposal.total_committed, "cash_path": [c.model_dump(mode="json") for c in proposal.cash_path],
        "open_orders": [o.model_dump(mode="json") for o in state.open_orders],
        "planner": {"planner": planner.planner, "reason": planner.reason},
        "problem": state.approval_problem,
    }


def approve(state: RunState) -> dict:
    from langgraph.types import interrupt  # loaded with the graph already

    answer = interrupt(approval_request(state), response_schema=Approval)
    approval = answer if isinstance(answer, Approval) else Approval.model_validate(answer)
    return {"approval": approval.model_dump(mode="json")}
