"""``rebal status``: the account against its targets, and whether a rebalance would trigger — no trading."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from agent.context import RunContext
from agent.nodes.assess_drift import assess_drift
from agent.nodes.fetch_account import fetch_account
from agent.nodes.fetch_targets import fetch_targets


def current_status(ctx: RunContext, as_of: str) -> dict[str, Any]:
    """The first three nodes of a run, without the graph or a checkpoint: nothing is sent."""
    runtime = SimpleNamespace(context=ctx)
    state: dict[str, Any] = {"run_id": "status", "as_of": as_of}
    state.update(fetch_account(state, runtime))
    state.update(fetch_targets(state, runtime))
    state.update(assess_drift(state, runtime))
    return state
