"""A transcript's events with their typed data, and the facts several sections share.

Each event is validated once (``agent.events.typed``); sections ask for a kind and get
``(event, model)`` pairs, never raw dicts. An event whose data does not validate (a transcript
from another Rebal) is kept aside and shown raw under "Other events".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from pydantic import BaseModel

from agent.events import (
    KNOWN_KINDS,
    AccountEvent,
    ApprovalEvent,
    ApprovalRequested,
    PlanEvent,
    RunFinished,
    RunStarted,
    typed,
)
from agent.planner.models import LlmCall
from agent.review._format import hms, parse_time
from agent.review._labels import Language, Words, words
from agent.state import TargetsReading
from agent.transcript import TranscriptEvent

M = TypeVar("M", bound=BaseModel)


@dataclass
class RunView:
    events: list[TranscriptEvent]
    language: Language = "en"
    models: list[BaseModel | None] = field(init=False)

    def __post_init__(self) -> None:
        self.models = [typed(e) for e in self.events]
        self.w: Words = words(self.language)
        self._names = self._read_names()

    def of(self, model: type[M]) -> list[tuple[TranscriptEvent, M]]:
        return [(e, m) for e, m in zip(self.events, self.models, strict=True) if isinstance(m, model)]

    def of_execution(self) -> list[tuple[TranscriptEvent, BaseModel]]:
        """The ``execution`` steps (each its own model, by ``step``)."""
        return [(e, m) for e, m in zip(self.events, self.models, strict=True) if e.kind == "execution" and m is not None]

    def last(self, model: type[M]) -> tuple[TranscriptEvent, M] | None:
        found = self.of(model)
        return found[-1] if found else None

    def unreadable(self) -> list[TranscriptEvent]:
        """Events of a known kind whose data does not validate, and events of unknown kinds."""
        return [e for e, m in zip(self.events, self.models, strict=True) if m is None]

    def unknown_kind(self, event: TranscriptEvent) -> bool:
        return event.kind not in KNOWN_KINDS

    # --- time: the exchange clock when the transcript has it ---------------------------------------

    @property
    def exchange_clock(self) -> bool:
        return any(e.market_at for e in self.events)

    def when(self, event: TranscriptEvent) -> str:
        """``HH:MM:SS`` KST of the event, on the exchange clock when it was recorded."""
        return hms(event.market_at or event.at)

    def moment(self, event: TranscriptEvent) -> str:
        moment = parse_time(event.market_at or event.at)
        return moment.strftime("%Y-%m-%d %H:%M:%S KST") if moment else "—"

    # --- shared facts ------------------------------------------------------------------------------

    def _read_names(self) -> dict[str, str]:
        """Instrument names by ticker, from the targets and the account."""
        names: dict[str, str] = {}
        for _, targets in self.of(TargetsReading):
            names.update({t: n for t, n in targets.names.items() if n})
        for _, account in self.of(AccountEvent):
            names.update({t: n for t, n in account.names.items() if n})
        return names

    def instrument(self, ticker: str | None) -> str:
        if not ticker:
            return "—"
        name = self._names.get(ticker)
        return f"{ticker} {name}" if name else ticker

    def side(self, side: str | None) -> str:
        return self.w(side) if side in ("buy", "sell") else (side or "—")

    def started(self) -> RunStarted | None:
        found = self.last(RunStarted)
        return found[1] if found else None

    def mode(self) -> str | None:
        started = self.started()
        return None if started is None else started.mode

    def targets_version(self) -> str | None:
        found = self.last(TargetsReading)
        return found[1].version if found else None

    def outcome(self) -> str:
        finished = self.last(RunFinished)
        if finished is not None:
            return finished[1].outcome.replace("_", " ")
        errors = [e for e in self.events if e.kind == "error"]
        if errors:  # the last stop of an unfinished run: resumable either way (`rebal runs resume`)
            last = errors[-1]
            resumed = any(e.kind == "run_resumed" and e.seq > last.seq for e in self.events)
            if not resumed:
                return "interrupted, resumable" if last.data.get("stage") == "interrupted" else "stopped, resumable"
        answer, asked = self.last(ApprovalEvent), self.last(ApprovalRequested)
        if answer is not None and answer[1].decision == "reject":
            return "rejected"
        if asked is not None and (answer is None or answer[0].seq < asked[0].seq):
            return "awaiting approval"
        return "in progress"

    def planner(self) -> str | None:
        plan = self.last(PlanEvent)
        calls = self.of(LlmCall)
        if plan is not None:
            model = calls[-1][1].model if calls else None
            return f"llm:{model}" if plan[1].planner == "llm" and model else plan[1].planner
        return f"llm:{calls[-1][1].model}" if calls else None


def view(events: Sequence[TranscriptEvent], language: Language = "en") -> RunView:
    return RunView(list(events), language)
