"""What the graph's nodes depend on, passed as LangGraph runtime context (never in the state)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from agent.broker import BrokerConnection
from agent.config import RebalConfig
from agent.journal import Journal
from agent.transcript import Transcript
from tools.market import KrxCalendar


class StopRequest:
    """A person's request to cancel a run's remaining slices, set from another thread (the live
    view's key) and read by the executor at its next step; the executor journals it."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.by = ""

    def request(self, by: str) -> None:
        self.by = by
        self._event.set()

    @property
    def requested(self) -> bool:
        return self._event.is_set()


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
    stop: StopRequest = field(default_factory=StopRequest)  # cancel the remaining slices (a person asked)
    extras: dict[str, Any] = field(default_factory=dict)

    def say(self, message: str) -> None:
        if self.progress is not None:
            self.progress(message)
