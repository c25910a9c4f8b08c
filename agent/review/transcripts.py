"""Transcript review: one-line summaries, a listing, and a readable rendering (rich or Markdown).

Reading is forgiving where the writer's own ``read_events`` is strict: a torn last line (a crash
mid-write) is noted and skipped, a damaged line in the middle makes the summary say
"unreadable: …" while ``render`` still shows every event it can read, with the damage listed
under Errors. Nothing here writes to a transcript.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel

from agent.review import _doc, _execution, _sections
from agent.review._format import num, pick, records, text, when
from agent.transcript import TranscriptEvent, iter_transcripts

if TYPE_CHECKING:
    from rich.console import Console


class TranscriptSummary(BaseModel):
    """One run in a line. Money as KRW integers; ``None`` where the transcript does not say."""

    run_id: str
    path: Path
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    mode: str | None = None  # interactive | headless
    profile: str | None = None
    account: str | None = None  # masked in the file already
    outcome: str
    planner: str | None = None  # "llm:<model>" | "rules"
    trades: int | None = None
    orders_placed: int = 0  # slices the broker acknowledged
    fills: int = 0
    turnover_krw: int | None = None  # executed (report) if reported, else planned (trades)
    costs_krw: int | None = None  # actual fees + taxes (report) if reported, else estimated (trades)
    shortfall_bp: float | None = None
    torn_tail: bool = False  # the last line was cut off (crash mid-write) and skipped


@dataclass
class _Loaded:
    events: list[TranscriptEvent] = field(default_factory=list)
    damage: list[str] = field(default_factory=list)  # bad lines before the last one
    torn: bool = False


def _load(path: Path) -> _Loaded:
    """Every readable event. Decoded per line so a multi-byte character cut by a crash only
    spoils its own (last) line, not the whole file."""
    loaded = _Loaded()
    numbered = [(n, raw) for n, raw in enumerate(Path(path).read_bytes().split(b"\n"), start=1) if raw.strip()]
    for index, (number, raw) in enumerate(numbered):
        try:
            loaded.events.append(TranscriptEvent.model_validate_json(raw.decode("utf-8", errors="replace")))
        except ValueError:
            if index == len(numbered) - 1:
                loaded.torn = True
            else:
                loaded.damage.append(f"line {number}: not a transcript event")
    return loaded


def _notes(loaded: _Loaded) -> list[str]:
    notes = [f"damaged transcript, {d}" for d in loaded.damage]
    if loaded.torn:
        notes.append("the last line is cut off (the run stopped mid-write); it was skipped")
    return notes


def _int(value: object) -> int | None:
    number = num(value)
    return None if number is None else round(number)


def _summary(path: Path, events: Sequence[TranscriptEvent], torn: bool) -> TranscriptSummary:
    of, last = _sections.of, _sections.last
    started, finished = last(events, "run_started"), last(events, "run_finished")
    trades, report = last(events, "trades"), last(events, "report")
    turnover = costs = shortfall = None
    if trades is not None:
        turnover = pick(trades.data, "turnover")
        if turnover is None and records(pick(trades.data, "trades")):
            turnover = sum(num(pick(t, "notional")) or 0 for t in records(pick(trades.data, "trades")))
        costs = _sections.estimated_costs(trades.data)
    if report is not None:
        r = report.data
        executed = pick(r, "turnover", "executed_turnover")
        turnover = executed if executed is not None else turnover
        fees, taxes = num(pick(r, "fees", "commission")), num(pick(r, "taxes", "tax"))
        if fees is not None or taxes is not None:
            costs = (fees or 0) + (taxes or 0)
        shortfall = num(pick(r, "shortfall_bp", "implementation_shortfall_bp"))
    acked = {text(pick(e.data, "key", "order_id", "client_order_id", "id")) for e in of(events, "order_ack")}
    return TranscriptSummary(
        run_id=path.stem, path=path, started_at=when(events[0].at), torn_tail=torn,
        finished_at=when(finished.at) if finished is not None else None,
        mode=_sections.mode(events), outcome=_sections.outcome(events), planner=_sections.planner(events),
        profile=_str(pick(started.data, "profile")) if started is not None else None,
        account=_str(pick(started.data, "account")) if started is not None else None,
        trades=len(records(pick(trades.data, "trades"))) if trades is not None else None,
        orders_placed=len(acked), fills=len(of(events, "fill")), turnover_krw=_int(turnover),
        costs_krw=_int(costs), shortfall_bp=shortfall)


def _str(value: object) -> str | None:
    return None if value is None else str(value)


def summarize(path: Path) -> TranscriptSummary:
    """The run in one line; a file that cannot be read gives outcome "unreadable: …", never raises."""
    path = Path(path)
    try:
        loaded = _load(path)
    except OSError as error:
        return TranscriptSummary(run_id=path.stem, path=path, outcome=f"unreadable: {error.strerror or error}")
    if loaded.damage:
        more = f" (+{len(loaded.damage) - 1} more)" if len(loaded.damage) > 1 else ""
        return TranscriptSummary(run_id=path.stem, path=path, outcome=f"unreadable: {loaded.damage[0]}{more}")
    if not loaded.events:
        return TranscriptSummary(run_id=path.stem, path=path, outcome="unreadable: no events", torn_tail=loaded.torn)
    return _summary(path, loaded.events, loaded.torn)


def list_runs(directory: Path) -> list[TranscriptSummary]:
    """Every transcript of ``directory``, newest run first (by start time, else file time)."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    rows: list[tuple[dt.datetime, TranscriptSummary]] = []
    for path in iter_transcripts(directory):
        summary = summarize(path)
        try:
            modified = dt.datetime.fromtimestamp(path.stat().st_mtime, tz=dt.UTC)
        except OSError:
            modified = dt.datetime.min.replace(tzinfo=dt.UTC)
        started = summary.started_at
        rows.append((started if started is not None and started.tzinfo else modified, summary))
    rows.sort(key=lambda row: row[0], reverse=True)
    return [summary for _, summary in rows]


def _document(path: Path) -> _doc.Document:
    loaded = _load(Path(path))
    events = loaded.events
    started = _sections.last(events, "run_started")
    finished = _sections.last(events, "run_finished")
    s = started.data if started is not None else {}
    header = [
        ("mode", text(_sections.mode(events))), ("profile", text(pick(s, "profile"))),
        ("account", text(pick(s, "account"))), ("as of", text(pick(s, "as_of", "as_of_date"))),
        ("targets version", text(_sections.targets_version(events))),
        ("outcome", _sections.outcome(events) if events else "unreadable: no events"),
        ("planner", text(_sections.planner(events))),
        ("started", text(events[0].at if events else None)),
        ("finished", text(finished.at if finished is not None else None)
         + (f" (exit {text(pick(finished.data, 'exit_code'))})"
            if finished is not None and pick(finished.data, "exit_code") is not None else "")),
    ]
    notes = _notes(loaded)
    if events and finished is None:
        notes.append("no run_finished event: the run is still going, or stopped without finishing")
    sections = [_sections.account_section(events), _sections.drift_section(events), _sections.trades_section(events),
                _sections.planner_section(events), _sections.guardrails_section(events), _sections.approval_section(events),
                _execution.execution(events), _execution.report(events), _execution.errors(events, notes),
                _execution.others(events)]
    return _doc.Document(title=f"Run {Path(path).stem}", header=header, sections=sections)


def render(path: Path, console: Console) -> None:
    """Print a readable review of the run to ``console`` (rich)."""
    _doc.to_rich(_document(path), console)


def to_markdown(path: Path) -> str:
    """The same review as GitHub-flavoured Markdown."""
    return _doc.to_markdown(_document(path))


__all__ = ["TranscriptSummary", "list_runs", "render", "summarize", "to_markdown"]
