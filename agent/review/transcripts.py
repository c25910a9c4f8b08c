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

from agent.events import RunFinished, RunReport, TradesEvent
from agent.review import _doc, _execution, _sections
from agent.review._format import MISSING, parse_time, text
from agent.review._labels import Language
from agent.review._orders import order_slices, orders_sent
from agent.review._run import RunView, view
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


def _notes(loaded: _Loaded, run: RunView) -> list[str]:
    notes = [run.w("damaged", detail=d) for d in loaded.damage]
    if loaded.torn:
        notes.append(run.w("torn"))
    return notes


def _summary(path: Path, events: Sequence[TranscriptEvent], torn: bool) -> TranscriptSummary:
    run = view(events)
    started = run.started()
    finished, trades, report = run.last(RunFinished), run.last(TradesEvent), run.last(RunReport)
    slices = order_slices(run)
    turnover = costs = None
    if trades is not None:
        netting = trades[1].netting
        turnover, costs = netting.turnover, netting.commission + netting.tax
    if report is not None:  # executed figures replace the planned ones
        turnover = round(sum(s.filled_amount for s in slices))
        costs = report[1].fees_and_taxes
    return TranscriptSummary(
        run_id=path.stem, path=path, started_at=parse_time(events[0].at), torn_tail=torn,  # wall clock: when the run was run
        finished_at=parse_time(finished[0].at) if finished is not None else None,
        mode=run.mode(), outcome=run.outcome(), planner=run.planner(),
        profile=started.profile if started is not None else None,
        account=started.account if started is not None else None,
        trades=len(trades[1].netting.trades) if trades is not None else None,
        orders_placed=orders_sent(run), fills=sum(len(s.fills) for s in slices), turnover_krw=turnover,
        costs_krw=costs, shortfall_bp=report[1].shortfall_bp if report is not None else None)


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


def _header(run: RunView, events: Sequence[TranscriptEvent]) -> list[tuple[str, str]]:
    w = run.w
    started, finished = run.started(), run.last(RunFinished)
    return [
        (w("mode"), w(run.mode()) if run.mode() else MISSING),
        (w("profile"), started.profile if started is not None else MISSING),
        (w("h account"), started.account if started is not None else MISSING),
        (w("as of"), started.as_of if started is not None else MISSING),
        (w("targets version"), text(run.targets_version())),
        (w("outcome"), run.outcome() if events else "unreadable: no events"),
        (w("h planner"), text(run.planner())),
        (w("clock"), w("exchange clock") if run.exchange_clock else w("wall clock")),
        (w("started"), run.moment(events[0]) if events else MISSING),
        (w("finished"), run.moment(finished[0]) if finished is not None else MISSING),
    ]


def _document(path: Path, language: Language = "en") -> _doc.Document:
    loaded = _load(Path(path))
    events = loaded.events
    run = view(events, language)
    notes = _notes(loaded, run)
    if events and run.last(RunFinished) is None:
        notes.append(run.w("unfinished"))
    sections = [_sections.account_section(run), _sections.drift_section(run), _sections.trades_section(run),
                _sections.planner_section(run), _sections.guardrails_section(run), _sections.approval_section(run),
                _execution.execution(run), _execution.report(run), _execution.errors(run, notes),
                _execution.others(run)]
    return _doc.Document(title=f"{run.w('run')} {Path(path).stem}", header=_header(run, events), sections=sections)


def render(path: Path, console: Console, language: Language = "en") -> None:
    """Print a readable review of the run to ``console`` (rich)."""
    _doc.to_rich(_document(path, language), console)


def to_markdown(path: Path, language: Language = "en") -> str:
    """The same review as GitHub-flavoured Markdown."""
    return _doc.to_markdown(_document(path, language))


__all__ = ["TranscriptSummary", "list_runs", "render", "summarize", "to_markdown"]
