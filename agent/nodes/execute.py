"""execute: place the approved orders (see agent/executor). Re-entrant: safe to replay after a crash."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agent.context import RunContext
from agent.executor.run import Executor
from agent.state import RunState

if TYPE_CHECKING:
    from langgraph.runtime import Runtime  # annotations only: langgraph loads with the graph


def execute(state: RunState, runtime: Runtime[RunContext]) -> dict:
    return Executor(runtime.context, state).run()
