"""The LangGraph state machine of one rebalance run.

    fetch_account → fetch_targets → assess_drift ─(no trigger)─────────────────► record → END
                                          │ trigger
                                          ▼
                                   compute_trades ─(nothing to trade)──────────► record
                                          │
                                   plan_execution → check_guardrails → approve (interrupt)
                                          ▲                                 │
                                          └──── edit ─── verify_approval ◄──┘
                                   (stale: fetch_account; reject/blocked: record)
                                                              │ approved
                                                              ▼
                                                           execute → record → END
"""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph

from agent.context import RunContext
from agent.nodes.approve import approve
from agent.nodes.assess_drift import assess_drift, route_after_drift
from agent.nodes.check_guardrails import check_guardrails
from agent.nodes.compute_trades import compute_trades, route_after_trades
from agent.nodes.execute import execute
from agent.nodes.fetch_account import fetch_account
from agent.nodes.fetch_targets import fetch_targets
from agent.nodes.plan_execution import plan_execution
from agent.nodes.record import record
from agent.nodes.verify_approval import route_after_verification, verify_approval
from agent.state import RunState


def build_graph() -> StateGraph:
    graph = StateGraph(RunState, context_schema=RunContext)
    for name, node in (("fetch_account", fetch_account), ("fetch_targets", fetch_targets),
                       ("assess_drift", assess_drift), ("compute_trades", compute_trades),
                       ("plan_execution", plan_execution), ("check_guardrails", check_guardrails),
                       ("approve", approve), ("verify_approval", verify_approval), ("execute", execute),
                       ("record", record)):
        # The input schema is named: the nodes annotate ``Runtime`` for type checkers only, so
        # LangGraph could not read it from their type hints.
        graph.add_node(name, node, input_schema=RunState)
    graph.add_edge(START, "fetch_account")
    graph.add_edge("fetch_account", "fetch_targets")
    graph.add_edge("fetch_targets", "assess_drift")
    graph.add_conditional_edges("assess_drift", route_after_drift, ["compute_trades", "record"])
    graph.add_conditional_edges("compute_trades", route_after_trades, ["plan_execution", "record"])
    graph.add_edge("plan_execution", "check_guardrails")
    graph.add_edge("check_guardrails", "approve")
    graph.add_edge("approve", "verify_approval")
    graph.add_conditional_edges("verify_approval", route_after_verification,
                                ["execute", "compute_trades", "fetch_account", "approve", "record"])
    graph.add_edge("execute", "record")
    graph.add_edge("record", END)
    return graph
