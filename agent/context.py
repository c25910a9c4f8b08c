"""What the graph's nodes depend on, passed as LangGraph runtime context (never in the state)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agent.broker import BrokerConnection
from agent.config import RebalConfig
from agent.journal import Journal
from agent.transcript import Transcript
from tools.market import KrxCalendar


@dataclass
class RunContext:
    config: RebalConfig
    broker: BrokerConnection
    journal: Journal
    transcript: Transcript
    calendar: KrxCalendar
    planner_model: Any | None = None  # a LangChain chat model, or None for the rules planner
    planner_note: str = ""  # why there is no LLM, when there is none
    headless: bool = False
    progress: Any = None  # callable(str) for one-line progress messages
    extras: dict[str, Any] = field(default_factory=dict)

    def say(self, message: str) -> None:
        if self.progress is not None:
            self.progress(message)
