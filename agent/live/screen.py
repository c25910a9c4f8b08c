"""The live execution view: the board of slices in a terminal, one line per event headless, or the
events as JSON lines for machines — all read from the run's transcript as it is written.

``LiveExecution`` wraps ``runner.start``/``runner.resume``. Events written before this process
took the run up (a resumed run's history) rebuild the board but are not shown as news. In a
terminal, once execution starts, ``c`` then ``y`` asks the executor to cancel the remaining slices:
it journals the request, sends nothing more and cancels what is working.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import select
import sys
import threading
from typing import IO, TYPE_CHECKING

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from agent.live.board import ExecutionBoard, SliceView
from agent.live.follow import Follower
from agent.live.lines import EXECUTION_KINDS, describe
from agent.review.session_text import SessionText
from agent.transcript import TranscriptEvent

if TYPE_CHECKING:
    from agent.runner import Runner

STATE_STYLES = {"filled": "green", "partly filled": "yellow", "working": "cyan", "sent": "cyan",
                "re-priced": "yellow", "cancelled": "red", "not sent": "red", "rejected": "red",
                "not placed": "red", "answer lost": "magenta"}
LIVE_STARTS = frozenset({"execution", "order_intent"})


def _span(seconds: float) -> str:
    seconds = max(int(seconds), 0)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}h {rest // 60:02d}m" if hours else f"{rest // 60}m {rest % 60:02d}s"


def board_table(board: ExecutionBoard, now: dt.datetime | None, text: SessionText | None = None) -> Table:
    text = text or SessionText()
    table = Table(title=text("live_title"), title_justify="left")
    for column in ("slice", "instrument", "side", "qty", "type", "price", "at", "state", "filled", "average"):
        table.add_column(text(f"live_col_{column}"),
                         justify="right" if column in ("qty", "price", "filled", "average") else "left")
    for view in board.ordered():
        table.add_row(*_row(view, board, now, text))
    return table


def _row(view: SliceView, board: ExecutionBoard, now: dt.datetime | None, text: SessionText) -> list[Text | str]:
    name = board.names.get(view.ticker, "")
    state = text(f"state_{view.state}")
    if view.state == "waiting" and view.send_at is not None and now is not None:
        state = text("state_waiting_in", span=_span((view.send_at - now).total_seconds())) \
            if view.send_at > now else text("state_due")
    if view.note and view.state in ("not sent", "rejected", "not placed", "cancelled"):
        state = f"{state}: {view.note}"  # the executor's reason, as journaled
    average = f"{view.average_price:,.0f}" if view.average_price else "—"
    return [view.order_id, Text(f"{view.ticker} {name}".strip()), text.side(view.side), f"{view.quantity:,}",
            Text(text.order_type(view.order_type)), f"{view.price:,}" if view.price else "—",
            f"{view.send_at:%H:%M:%S}" if view.send_at else "—", Text(state, style=STATE_STYLES.get(view.state, "")),
            f"{view.filled:,}/{view.quantity:,}", average]


def board_footer(board: ExecutionBoard, now: dt.datetime | None, *, keys: bool, confirming: bool,
                 text: SessionText | None = None) -> Text:
    text = text or SessionText()
    parts = []
    if now is not None:
        parts.append(text("live_clock", time=f"{now:%H:%M:%S}"))
        following = board.next_slice(now)
        if following is not None and following.send_at is not None:
            parts.append(text("live_next", order=following.order_id, time=f"{following.send_at:%H:%M:%S}",
                              span=_span((following.send_at - now).total_seconds())))
    done, total = board.totals()
    parts.append(text("live_settled", done=done, total=total))
    if board.done_by is not None:
        parts.append(text("live_done_by", time=f"{board.done_by:%H:%M}"))
    if board.cash is not None:
        parts.append(text("live_cash", label=text(board.cash_label), cash=f"{board.cash:,}"))
    footer = Text(" · ".join(parts))
    if board.cancel_requested and board.finished:
        footer.append("\n" + text("live_cancelled", by=board.cancel_requested), style="yellow")
    elif board.cancel_requested:
        footer.append("\n" + text("live_cancelling", by=board.cancel_requested), style="yellow")
    elif confirming:
        footer.append("\n" + text("live_confirm"), style="bold yellow")
    elif keys and not board.finished:
        footer.append("\n" + text("live_keys"), style="dim")
    return footer


class _Keys:
    """Single key presses from the terminal (cbreak: Ctrl-C still interrupts), in a thread."""

    def __init__(self, on_key) -> None:
        self._on_key = on_key
        self._done = threading.Event()
        self._saved = None
        self._thread = threading.Thread(target=self._loop, name="live-keys", daemon=True)

    def start(self) -> None:
        import termios
        import tty

        fd = sys.stdin.fileno()
        self._saved = termios.tcgetattr(fd)
        tty.setcbreak(fd)
        self._thread.start()

    def _loop(self) -> None:
        fd = sys.stdin.fileno()
        while not self._done.is_set():
            ready, _, _ = select.select([fd], [], [], 0.1)
            if ready:
                key = os.read(fd, 1).decode(errors="replace")
                if not key:
                    return  # end of input
                self._on_key(key)

    def stop(self) -> None:
        import termios

        self._done.set()
        if self._thread.is_alive():
            self._thread.join(timeout=1)
        if self._saved is not None:
            termios.tcsetattr(sys.stdin.fileno(), termios.TCSADRAIN, self._saved)
            self._saved = None


class LiveExecution:
    """Follow the run ``runner`` starts or resumes inside this ``with`` block.

    ``mode``: ``"live"`` (a terminal: the board, and the cancel key), ``"lines"`` (one line per
    execution event on ``console``) or ``"json"`` (every event as a JSON line on ``stream``)."""

    def __init__(self, runner: Runner, console: Console, *, mode: str, by: str = "",
                 stream: IO[str] | None = None, language: str = "en") -> None:
        self.runner, self.console, self.mode, self.by = runner, console, mode, by
        self.text = SessionText("ko" if language == "ko" else "en")
        self.stream = stream or sys.stdout
        self.board = ExecutionBoard()
        self._lock = threading.RLock()
        self._history_until: int | None = None  # events up to this seq were written before this process
        self._live: Live | None = None
        self._keys: _Keys | None = None
        self._confirming = False
        self._follower = Follower(self._path, self._on_events)

    def _path(self):
        transcript = self.runner.active_transcript
        return transcript.path if transcript is not None else None

    def __enter__(self) -> LiveExecution:
        self._progress = self.runner.progress
        if self._progress is not None:  # progress lines come after the events written before them
            self.runner.progress = self._say
        self._follower.start()
        return self

    def _say(self, message: str) -> None:
        self._follower.drain()
        self._progress(message)

    def __exit__(self, *exc: object) -> None:
        self.runner.progress = self._progress
        self._follower.stop()
        # Not under our lock: Live's refresh thread holds its own lock while it asks for _render.
        if self._keys is not None:
            self._keys.stop()
        if self._live is not None:
            self._live.stop()  # a last refresh: the board as the transcript ends

    # --- events -------------------------------------------------------------------------------

    def _on_events(self, events: list[TranscriptEvent]) -> None:
        with self._lock:
            if self._history_until is None:
                # The first read has the whole file: up to this process's run_started/run_resumed
                # (written before the runner names the transcript) it is history.
                self._history_until = max((e.seq for e in events if e.kind in ("run_started", "run_resumed")),
                                          default=1) - 1
            for event in events:
                self.board.apply(event)
                if event.seq > self._history_until:
                    self._show(event)

    def _show(self, event: TranscriptEvent) -> None:
        if self.mode == "json":
            self.stream.write(event.model_dump_json() + "\n")
            self.stream.flush()
        elif self.mode == "lines":
            if event.kind in EXECUTION_KINDS and (line := describe(event, self.board)):
                self.console.print(Text(f"{_stamp(event)} {line}"), soft_wrap=True)  # one line, also in a log file
        elif self._live is None and event.kind in LIVE_STARTS:
            self._start_live()

    def _start_live(self) -> None:
        self._live = Live(get_renderable=self._render, console=self.console, refresh_per_second=4,
                          transient=False)
        self._live.start()
        if sys.stdin.isatty():
            self._keys = _Keys(self._on_key)
            with contextlib.suppress(Exception):  # no key control is no reason to stop the run
                self._keys.start()

    def _on_key(self, key: str) -> None:
        with self._lock:
            if self.board.finished or self.board.cancel_requested or self.runner.stop.requested:
                return
            if self._confirming and key.lower() == "y":
                self.runner.stop.request(self.by or "a person")
                self.board.cancel_requested = f"{self.by or 'a person'} (being recorded)"
                self._confirming = False
            else:
                self._confirming = key.lower() == "c" and not self._confirming

    def _render(self) -> Group:
        with self._lock:
            now = None
            with contextlib.suppress(Exception):  # the clock of a remote exchange may be unreachable
                now = self.runner.broker.clock.now()
            return Group(board_table(self.board, now, self.text),
                         board_footer(self.board, now, keys=self._keys is not None, confirming=self._confirming,
                                      text=self.text))


def _stamp(event: TranscriptEvent) -> str:
    stamp = getattr(event, "market_at", None) or event.at
    with contextlib.suppress(ValueError):
        return dt.datetime.fromisoformat(stamp).strftime("%H:%M:%S")
    return stamp
