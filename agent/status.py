"""``rebal status``: the account against its targets, and whether a rebalance would trigger — no trading."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from agent.context import RunContext
from agent.nodes.assess_drift import assess_drift
from agent.nodes.fetch_account import fetch_account
from agent.nodes.fetch_targets import fetch_targets


def current_status(ctx: RunContext, as_of: str) -> dict[str, Any]:
    """The first three nodes of a run, without the graph or a checkpoint: nothing is sent. The
    state's values as the graph would checkpoint them (JSON)."""
    from agent.state import RunState

    runtime = SimpleNamespace(context=ctx)
    values: dict[str, Any] = {"run_id": "status", "mode": "interactive", "as_of": as_of}
    for node in (fetch_account, fetch_targets, assess_drift):
        values.update(node(RunState.model_validate(values), runtime))  # as LangGraph hands state to a node
    return values
