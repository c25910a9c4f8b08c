"""record: the run's last word in the transcript, whatever the outcome."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agent.context import RunContext
from agent.state import RunState

if TYPE_CHECKING:
    from langgraph.runtime import Runtime  # annotations only: langgraph loads with the graph


def record(state: RunState, runtime: Runtime[RunContext]) -> dict:
    ctx = runtime.context
    outcome = state.outcome or "completed"
    message = state.message
    ctx.transcript.write("run_finished", outcome=outcome, message=message, report=state.report)
    return {"outcome": outcome, "message": message}
