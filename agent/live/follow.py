"""Reading a run's transcript while the run writes it, in a background thread.

The view shows what the transcript says and nothing else: every line on the screen was first
written (and fsync'ed) to the run's record. The runner says which transcript is active; the
follower waits for it, then reads new complete lines as they appear.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from agent.transcript import TranscriptEvent

POLL_SECONDS = 0.1


class TranscriptTail:
    """The complete lines appended to a transcript since the last read (a torn last line waits)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0
        self._partial = b""

    def read(self) -> list[TranscriptEvent]:
        if not self.path.exists():
            return []
        with self.path.open("rb") as handle:
            handle.seek(self._offset)
            chunk = handle.read()
        self._offset += len(chunk)
        data = self._partial + chunk
        lines = data.split(b"\n")
        self._partial = lines.pop()  # b"" after a complete line
        events = []
        for line in lines:
            if line.strip():
                events.append(TranscriptEvent.model_validate_json(line))
        return events


class Follower:
    """Calls ``on_events`` with the new events of the run ``path_of()`` names, from the start of the
    file (a resumed run's earlier events rebuild the board), until ``stop()``; it runs in the
    follower's thread."""

    def __init__(self, path_of: Callable[[], Path | None],
                 on_events: Callable[[list[TranscriptEvent]], None]) -> None:
        self._path_of = path_of
        self._on_events = on_events
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="transcript-follower", daemon=True)
        self._tail: TranscriptTail | None = None
        self._reading = threading.Lock()  # the thread and ``drain`` callers take turns

    def start(self) -> Follower:
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._done.is_set():
            self.drain()
            self._done.wait(POLL_SECONDS)

    def drain(self) -> None:
        """Deliver what is new (also called once more after ``stop`` so nothing written is missed)."""
        with self._reading:
            if self._tail is None:
                path = self._path_of()
                if path is None:
                    return
                self._tail = TranscriptTail(path)
            events = self._tail.read()
            if events:
                self._on_events(events)

    def stop(self) -> None:
        self._done.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2)
        self.drain()
