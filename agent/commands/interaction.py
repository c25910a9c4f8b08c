"""The person at the other end of a run: who answers its approval, and how its execution is followed.

The approver is the guardrails' auto-approver (headless), the terminal session, or nobody when
input is not a terminal (the run plans, then waits). The execution is followed on the live board
in a terminal, as one line per event headless, or as JSON lines (``--json``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console

from agent.runner import auto_approver

if TYPE_CHECKING:
    from agent.live.screen import LiveExecution
    from agent.runner import Runner

NO_TERMINAL = ("[yellow]no terminal to ask for approval[/] (input is not a terminal): nothing was approved and "
               "the run waits; resume it in a terminal, or use --auto-approve for a headless run inside the "
               "guardrails")


def approver_for(runner: Runner, headless: bool, console: Console, language: str | None = None):
    """Who answers the approval: the guardrails' auto-approver, or a person at this terminal (when
    input is not a terminal, nobody: the run plans, then waits for a resume). ``language``: the
    session's ("en" | "ko"; ``--lang``), else the configuration's ``ui.language``."""
    import sys

    if headless:
        return auto_approver
    if not sys.stdin.isatty():
        def no_terminal(request: dict, values: dict) -> None:
            """Nobody can be asked: the run is parked (exit 3), never approved."""
            console.print(NO_TERMINAL)
            return None

        return no_terminal
    from agent.review.terminal import TerminalApprover

    reviewer = None
    if runner.planner_model is not None:
        from agent.reviewer import make_reviewer

        reviewer = make_reviewer(runner.planner_model, token_budget=runner.config.planner.reviewer_token_budget,
                                 transcript=lambda: runner.active_transcript)
    return TerminalApprover(console, reviewer, language=language or runner.config.ui.language)  # type: ignore[arg-type]


def following(runner: Runner, headless: bool, console: Console, *, json_events: bool = False,
              language: str | None = None) -> LiveExecution:
    """The live board in a terminal (with its cancel key), one line per event headless or when
    output is not a terminal, or every event as a JSON line on stdout (``json_events``)."""
    import getpass
    import sys

    from agent.live.screen import LiveExecution

    if json_events:
        return LiveExecution(runner, console, mode="json", stream=sys.stdout)
    if headless or not sys.stdout.isatty():
        return LiveExecution(runner, console, mode="lines")
    return LiveExecution(runner, console, mode="live", by=f"terminal:{getpass.getuser()}",
                         language=language or runner.config.ui.language)
