"""Review of a run: its transcripts, and the terminal approval screen (``agent.review.terminal``).

Exports are resolved lazily: ``agent.commands.cli`` imports ``agent.review.cli`` at start-up, and loading
the transcript reader (pydantic, the KIS redactor) there would slow down ``rebal --help``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["TranscriptSummary", "list_runs", "render", "summarize", "to_markdown"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from agent.review import transcripts

        return getattr(transcripts, name)
    raise AttributeError(f"module 'agent.review' has no attribute {name!r}")
