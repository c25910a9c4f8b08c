"""The run transcript: one append-only JSONL file per run, mode 0600, secrets redacted.

Every line is one ``TranscriptEvent``. The kinds, in the order a run writes them:

- ``run_started``     mode, profile, masked account, as-of date, targets version, config summary
- ``account``         holdings, cash D+0/D+2, total value (the inputs snapshot)
- ``targets``         the model portfolio used (flat weights, version, source)
- ``drift``           per-asset weights vs targets and the trigger verdict
- ``trades``          the netting result: trades, expected weights, costs, error vs lower bound
- ``planner_input``   the computed features the planner saw (trade table, quotes, depth, time to close)
- ``llm_call``        one model request: messages, raw response text, finish_reason, usage, cost, error
- ``reviewer_call``   one question to the terminal's reviewer: the same, plus the budget and any cut of the data
- ``plan``            the plan used, which planner produced it and why (fallback reason)
- ``guardrails``      every rule verdict with its figures
- ``approval_requested`` / ``approval``  what was shown (plan hash) and the answer (who, when, decision)
- ``open_orders``     orders already resting on the run's tickers before trading
- ``order_intent`` / ``order_ack`` / ``order_error``  journal of each slice sent to the broker
- ``fill``            fills as reconciled from the broker
- ``execution``       per-phase summaries (sells done, cash re-read, buys resized)
- ``report``          final reconciliation: holdings vs targets, residual drift, shortfall, fees
- ``run_finished``    outcome and exit code
- ``error``           anything that stopped the run, with the account state known at that moment

The planner's decision can be replayed offline from ``planner_input`` + ``llm_call``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from tools.kis.redact import REDACTOR
from tools.market import KST
from tools.private import private_dir

DEFAULT_DIR = Path("transcripts")
SHAPE_ERROR = "event_shape_error"  # the kind an event is recorded under when its data does not fit its model


class TranscriptEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seq: int
    at: str  # ISO time, KST
    run_id: str
    kind: str
    data: dict[str, Any]  # as stored; ``agent.events.typed(event)`` gives the kind's model
    # The exchange's clock when the event was written (KST; simulated on the embedded exchange).
    # None in transcripts written before it was recorded, or without a broker connection.
    market_at: str | None = None


def _plain(value: Any) -> Any:
    """JSON-plain copy: pydantic models dumped, dates as ISO strings, sets as sorted lists."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted(_plain(v) for v in value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return value


def redact_text(text: str) -> str:
    """Registered secrets (keys, tokens, the account number), bearer tokens and JWT-shaped strings."""
    return REDACTOR.redact(text)


def redact_values(value: Any) -> Any:
    """Redact every string inside a JSON-plain value; numbers are left alone (an 8-digit amount is not
    an account number, and masking inside a number would corrupt it)."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {redact_text(str(k)): redact_values(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_values(v) for v in value]
    return value


class Transcript:
    """Append-only writer. Several writers of one run (a resumed process) continue the sequence."""

    def __init__(self, directory: Path, run_id: str, *, clock: Callable[[], dt.datetime] | None = None) -> None:
        """``clock``: the exchange's clock (aware datetimes), recorded on every event as ``market_at``."""
        self.run_id = run_id
        self.clock = clock
        self.path = Path(directory) / f"{run_id}.jsonl"
        private_dir(self.path.parent, own=True)
        self._lock = threading.Lock()
        self._seq = sum(1 for _ in self._lines())

    def _lines(self) -> Iterator[str]:
        if self.path.exists():
            with self.path.open(encoding="utf-8") as handle:
                yield from (line for line in handle if line.strip())

    def write(self, kind: str, **data: Any) -> TranscriptEvent:
        """Append one event. ``data`` must match the kind's model in ``agent.events``. One that does
        not is still recorded, as an ``event_shape_error`` event carrying the data and the error: a
        record is never a reason to stop a run that may have orders working (the test suite fails
        on any such event, so a writer that changed its shape is caught there)."""
        from agent.events import EventShapeError, validate  # lazily: it imports the whole agent's models

        plain = _plain(data)
        try:
            validate(kind, plain)
        except EventShapeError as error:
            kind, plain = SHAPE_ERROR, {"kind": kind, "error": str(error)[:4000], "data": plain}
        market_at = self._market_now()
        with self._lock:
            self._seq += 1
            event = TranscriptEvent(seq=self._seq, at=dt.datetime.now(KST).isoformat(timespec="milliseconds"),
                                    run_id=self.run_id, kind=kind, data=redact_values(plain), market_at=market_at)
            line = event.model_dump_json() + "\n"
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line.encode("utf-8"))
                os.fsync(fd)  # a transcript line survives a kill -9 right after it
            finally:
                os.close(fd)
            return event

    def _market_now(self) -> str | None:
        if self.clock is None:
            return None
        try:
            return self.clock().astimezone(KST).isoformat(timespec="milliseconds")
        except Exception:  # a clock that cannot be read must not cost the record of what happened
            return None

    def events(self) -> list[TranscriptEvent]:
        return read_events(self.path)


def read_events(path: Path) -> list[TranscriptEvent]:
    """Every event of a transcript; a torn last line (a crash mid-write) is skipped, not fatal."""
    events: list[TranscriptEvent] = []
    with Path(path).open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                events.append(TranscriptEvent.model_validate_json(line))
            except ValueError:
                if handle.readline():  # a bad line in the middle is damage worth reporting
                    raise ValueError(f"{path}:{number}: not a transcript event") from None
    return events


def iter_transcripts(directory: Path) -> Iterator[Path]:
    yield from sorted(Path(directory).glob("*.jsonl"), key=lambda p: p.stat().st_mtime, reverse=True)


def dumps(value: Any) -> str:
    return json.dumps(_plain(value), ensure_ascii=False)
