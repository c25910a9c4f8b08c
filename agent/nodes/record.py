"""record: the run's last word in the transcript, whatever the outcome."""

from __future__ import annotations

from langgraph.runtime import Runtime

from agent.context import RunContext
from agent.state import RunState


def record(state: RunState, runtime: Runtime[RunContext]) -> dict:
    ctx = runtime.context
    outcome = state.get("outcome") or "completed"
    message = state.get("message") or ""
    ctx.transcript.write("run_finished", outcome=outcome, message=message, report=state.get("report") or {})
    return {"outcome": outcome, "message": message}
