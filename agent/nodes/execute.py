"""execute: place the approved orders (see agent/executor). Re-entrant: safe to replay after a crash."""

from __future__ import annotations

from langgraph.runtime import Runtime

from agent.context import RunContext
from agent.executor.run import Executor
from agent.state import RunState


def execute(state: RunState, runtime: Runtime[RunContext]) -> dict:
    return Executor(runtime.context, dict(state)).run()
