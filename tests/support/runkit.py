"""Running the assistant end to end in-process against the embedded paper exchange."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent.approval import Approval, Edit
from agent.config import RebalConfig
from agent.runner import Runner


def make_config(home: Path, **sections: Any) -> RebalConfig:
    values: dict[str, Any] = {"broker": {"mode": "embedded"},
                              "paths": {"home": str(home), "transcripts": str(home / "transcripts")}}
    for name, section in sections.items():
        values[name] = {**values.get(name, {}), **section}
    return RebalConfig.model_validate(values)


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


class ScriptedApprover:
    """Answers approval requests from a script of functions (request, state) -> Approval."""

    def __init__(self, *steps: Callable[[dict, dict], Approval]) -> None:
        self.steps = list(steps)
        self.requests: list[dict] = []

    def __call__(self, request: dict, state: dict) -> Approval:
        self.requests.append(request)
        return self.steps.pop(0)(request, state)


def approve(request: dict, state: dict) -> Approval:
    return Approval(decision="approve", plan_hash=request["plan_hash"], by="test", at=now_iso())


def reject(request: dict, state: dict) -> Approval:
    return Approval(decision="reject", plan_hash=request["plan_hash"], by="test", at=now_iso(), note="not today")


def edit(*edits: Edit, cancel_open_orders: bool = False) -> Callable[[dict, dict], Approval]:
    def answer(request: dict, state: dict) -> Approval:
        return Approval(decision="edit", plan_hash=request["plan_hash"], by="test", at=now_iso(), edits=list(edits),
                        cancel_open_orders=cancel_open_orders)

    return answer


def runner(config: RebalConfig, *, headless: bool = False) -> Runner:
    return Runner(config, headless=headless)


def exchange_orders(runner: Runner) -> list:
    """Every order the exchange holds for the run's account (the ground truth)."""
    exchange = runner.broker.embedded.exchange
    return [o for o in exchange.orders.values() if o.account == runner.broker.account]
