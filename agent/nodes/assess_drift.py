"""assess_drift: current weights against the targets, and whether any trigger fires."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agent.context import RunContext
from agent.state import RunState
from tools.drift import evaluate_triggers, measure_drift

if TYPE_CHECKING:
    from langgraph.runtime import Runtime  # annotations only: langgraph loads with the graph


def assess_drift(state: RunState, runtime: Runtime[RunContext]) -> dict:
    ctx = runtime.context
    assert state.targets is not None  # fetch_targets ran first
    report = measure_drift(state.targets.targets, state.snapshot)
    verdict = evaluate_triggers(report, ctx.config.rebalance.triggers, as_of=state.as_of, calendar=ctx.calendar)
    drift = {"report": report.model_dump(mode="json"), "verdict": verdict.model_dump(mode="json")}
    ctx.transcript.write("drift", **drift)
    if not verdict.triggered:
        ctx.say("no trigger fired: the portfolio is within its bands")
        return {"drift": drift, "outcome": "nothing to do", "message": "within the bands: nothing to trade"}
    reasons = verdict.reasons or verdict.fired
    more = f"; … {len(reasons) - 3} more" if len(reasons) > 3 else ""
    ctx.say("trigger: " + "; ".join(reasons[:3]) + more)
    return {"drift": drift}


def route_after_drift(state: RunState) -> str:
    return "record" if state.outcome == "nothing to do" else "compute_trades"
