"""The run state the graph checkpoints: JSON-plain values only (dicts, lists, str, numbers).

Nodes read it into the pydantic models of ``tools``/``guardrails`` and write ``model_dump(mode="json")``
back, so a checkpoint restores in any process without custom serialisers.
"""

from __future__ import annotations

from typing import Any, TypedDict


class RunState(TypedDict, total=False):
    run_id: str
    mode: str  # "interactive" | "headless"
    as_of: str  # session date, ISO
    inputs: dict[str, Any]  # what the run started with: config (absolute paths), its file, targets file + version
    account: dict[str, Any]  # snapshot: cash, positions, prices, kinds; plus names and cash figures
    targets: dict[str, Any]  # payload, flat weights, cash weight, version, source
    quotes: dict[str, dict[str, Any]]  # ticker -> bid, ask, base_price, kind, price, name, captured_at
    drift: dict[str, Any]  # report + verdict
    edits: list[dict[str, Any]]  # the person's edits, applied on the next pass through netting
    netting: dict[str, Any]  # NettingResult
    planner: dict[str, Any]  # PlannerResult (plan, planner, reason, calls)
    orders: list[dict[str, Any]]  # tools.plan.Order, rebuilt from trades + plan
    guardrails: dict[str, Any]  # GuardrailReport
    open_orders: list[dict[str, Any]]  # orders already resting on the run's tickers
    plan_hash: str
    approval_requested_at: str  # wall-clock ISO time the plan was put to the person
    planned_at_market: str  # market-clock ISO time of the quotes the plan was made on
    approval: dict[str, Any]  # the answer: decision, by, at, plan_hash, edits
    approval_problem: str  # why an approval was not accepted (stale, expired, prices moved)
    execution: dict[str, Any]
    report: dict[str, Any]
    outcome: str  # completed | nothing to do | rejected | blocked | failed
    message: str  # one line for the person
    route: str  # where verify_approval sends the run next
