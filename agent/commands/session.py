"""What the ``rebal`` commands do: set up, run or resume, and tell the person how it went.

Every failure ends in a plain sentence and a distinct exit code, and says what state the account
is in as the journal shows it: what the run placed, what filled, what may still be working, and
how to resume it (``rebal runs resume RUN_ID``). Ctrl-C does the same and exits 130.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from agent.config import ConfigError, RebalConfig, load_config
from agent.runner import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_NEEDS_APPROVAL,
    EXIT_OK,
    EXIT_USAGE,
    RunExists,
    Runner,
    RunResult,
    auto_approver,
    list_runs,
)

console = Console()


def _progress(message: str) -> None:
    from rich.markup import escape  # messages carry rule ids in brackets ("[absolute_mp]"): text, not markup

    console.print(f"[dim]· {escape(message)}[/]", soft_wrap=True)


def _confirm_real(account: str) -> bool:
    from rich.prompt import Prompt

    from tools.kis import mask_account

    console.print(f"[bold red]REAL account {mask_account(account)}[/]: orders will be real.")
    typed = Prompt.ask("Type the full account number to continue", console=console)
    return typed.replace("-", "").strip() == account.replace("-", "")


def _load(path: Path | None) -> RebalConfig | None:
    try:
        return load_config(path)
    except ConfigError as error:
        console.print("[red]config error:[/]", Text(str(error)))
        return None


def _approver(runner: Runner, headless: bool, language: str | None = None):
    """Who answers the approval (``agent.commands.interaction.approver_for``)."""
    from agent.commands.interaction import approver_for

    return approver_for(runner, headless, console, language)


def _following(runner: Runner, headless: bool, *, json_events: bool = False, language: str | None = None):
    """How the person follows the execution (``agent.commands.interaction.following``)."""
    from agent.commands.interaction import following

    return following(runner, headless, console, json_events=json_events, language=language)


def _usage_error(error: BaseException) -> bool:
    """Configuration and targets errors (exit 2): fixed by editing a file, nothing was sent."""
    from agent.nodes.fetch_targets import TargetsUnavailable
    from tools.targets.models import TargetsError

    return isinstance(error, ConfigError | TargetsError | TargetsUnavailable)


def account_state(runner: Runner | None) -> str:
    """What the journal shows this process's run did to the account, and how to go on."""
    run_id = runner.active_run if runner is not None else None
    if runner is None or run_id is None:
        return "No run was started: no order was sent; the account is as it was."
    from agent.executor.account_state import run_state

    text = f"Run {run_id}: " + run_state(runner.journal, run_id).sentence()
    try:
        resumable = bool(runner.state(run_id).next)
    except Exception:  # the checkpoint store itself failed: say how to try anyway
        resumable = True
    if resumable:
        text += f" Resume it with `rebal runs resume {run_id}`: what was sent is never sent again."
    return text


def _record(runner: Runner | None, what: str, error: str, state: str, code: int) -> None:
    """The run's transcript gets the same words as the screen (the ``error`` event)."""
    if runner is None or runner.active_run is None:
        return
    import contextlib

    with contextlib.suppress(Exception):  # the transcript is a record, never a reason to hide the message
        runner._context(runner.active_run).transcript.write("error", stage=what, error=error, account=state,
                                                            exit_code=code)


def _failure(error: BaseException, stage: str, runner: Runner | None = None) -> int:
    # Messages are text, never markup: "[weights]" or a ticker "[/]" must print as written.
    console.print(f"[red]{stage} failed:[/]", Text(str(error)))
    state = account_state(runner)
    console.print(Text(state))
    code = EXIT_USAGE if _usage_error(error) else EXIT_FAILED
    _record(runner, stage, str(error), state, code)
    return code


def _interrupted(runner: Runner) -> int:
    console.print("[yellow]interrupted (Ctrl-C)[/]")
    state = account_state(runner)
    console.print(Text(state))
    _record(runner, "interrupted", "Ctrl-C", state, EXIT_INTERRUPTED)
    return EXIT_INTERRUPTED


def show_result(result: RunResult) -> None:
    colour = "green" if result.exit_code == EXIT_OK else "yellow" if result.awaiting_approval else "red"
    message = result.message.removeprefix(f"{result.outcome}: ")  # the outcome is said once
    console.print(Text.assemble((result.outcome, f"bold {colour}"), " — ", message))
    report = result.report
    if report.get("holdings"):
        table = Table(title="After the run: weights vs targets")
        for column in ("ticker", "qty", "weight", "target", "drift"):
            table.add_column(column, justify="left" if column == "ticker" else "right")
        for row in report["holdings"]:
            table.add_row(row["ticker"], str(row["quantity"]), f"{row['weight']:.2%}", f"{row['target']:.2%}",
                          f"{row['deviation']:+.2%}")
        table.add_row("cash", "", f"{report['cash_weight']:.2%}", f"{report['target_cash_weight']:.2%}",
                      f"{report['cash_weight'] - report['target_cash_weight']:+.2%}")
        console.print(table)
        console.print(f"implementation shortfall {report['shortfall_bp']:.1f} bp vs arrival mid · fees and taxes "
                      f"{report['fees_and_taxes']:,} KRW · unfilled {report['unfilled_quantity']} shares")
    console.print(f"run {result.run_id} · transcript {result.transcript}")


def _targets_refused(config: RebalConfig) -> bool:
    """A targets file that cannot be used is reported before any broker is contacted (True: it was)."""
    section = config.targets
    if section.file is None or section.strategy_file is not None or section.decisions_db is not None:
        return False  # a strategy or a decisions table is evaluated for the run's date, inside the run
    from tools.targets import TargetsError, load_targets

    try:
        load_targets(section.file)
    except TargetsError as error:
        console.print("[red]targets error:[/]", Text(str(error)))
        console.print("No broker was contacted and no order was sent; fix the targets file and run again.")
        return True
    return False


def _open_runner(path: Path | None, *, headless: bool, config: RebalConfig | None = None) -> Runner | int:
    """A connected runner, or the exit code of why there is none (the reason is printed).
    ``config``: already loaded from ``path`` (a resumed run's own)."""
    from agent.run_config import config_source

    resumed = config is not None
    source = path if resumed else config_source(path)
    config = config or _load(path)
    if config is None or (not resumed and _targets_refused(config)):
        return EXIT_USAGE
    try:
        return Runner(config, headless=headless, progress=_progress, confirm_real=_confirm_real,
                      config_path=source)
    except Exception as error:
        return _failure(error, "connecting")


def run_command(path: Path | None, *, headless: bool, again: bool, language: str | None = None,
                json_events: bool = False) -> int:
    console.stderr = json_events  # stdout carries only the events
    runner = _open_runner(path, headless=headless)
    if isinstance(runner, int):
        return runner
    with runner:
        console.print(f"[bold]Rebal[/] · {runner.broker.description}")
        for note in runner.broker.notes:
            console.print(f"[dim]{note}[/]")
        try:
            with _following(runner, headless, json_events=json_events, language=language):
                # Without --lang, `_approver` is called as before (stand-ins for it take two arguments).
                approver = _approver(runner, headless, language) if language else _approver(runner, headless)
                result = runner.start(approver, again=again)
        except RunExists as exists:
            console.print(str(exists))
            return EXIT_OK if exists.finished else EXIT_NEEDS_APPROVAL
        except KeyboardInterrupt:
            return _interrupted(runner)
        except Exception as error:
            return _failure(error, "the run", runner)
    show_result(result)
    return result.exit_code


def _full_run_id(config: RebalConfig, typed: str) -> str:
    """The run a person means by the start of its id (``2026-12-04-9a``), when exactly one run starts
    so; otherwise what was typed, for the resume to refuse with its own message."""
    from agent.commands.runs_listing import read_runs

    runs = read_runs(config.runs_db) if config.runs_db.exists() else None
    ids = [r["run_id"] for r in runs or []]
    if typed in ids:
        return typed
    matches = [i for i in ids if i.startswith(typed)]
    return matches[0] if len(matches) == 1 and typed else typed


def _open_run(path: Path | None, typed: str, *, headless: bool, say_config: bool) -> tuple[Runner, str] | int:
    """A connected runner for an existing run (named by its id or a unique start of it) with the
    configuration the run started with, and the run's full id; or the exit code of why not."""
    from rich.markup import escape

    from agent.run_config import ConfigMismatch, resume_config

    config = _load(path)
    if config is None:
        return EXIT_USAGE
    run_id = _full_run_id(config, typed)
    try:  # the run continues with the configuration it started with; `path` only finds its store
        config, source, note = resume_config(config, run_id, path)
    except (KeyError, ConfigMismatch) as error:
        return _not_resumed(run_id, error)
    if say_config:
        console.print(escape(note))
    runner = _open_runner(source, headless=headless, config=config)
    return runner if isinstance(runner, int) else (runner, run_id)


def resume_command(path: Path | None, run_id: str, *, headless: bool, language: str | None = None,
                   json_events: bool = False) -> int:
    console.stderr = json_events  # stdout carries only the events
    from agent.run_config import ConfigMismatch

    opened = _open_run(path, run_id, headless=headless, say_config=True)
    if isinstance(opened, int):
        return opened
    runner, run_id = opened
    with runner:
        try:
            with _following(runner, headless, json_events=json_events, language=language):
                approver = _approver(runner, headless, language) if language else _approver(runner, headless)
                result = runner.resume(run_id, approver)
        except (KeyError, ConfigMismatch) as error:
            return _not_resumed(run_id, error)
        except KeyboardInterrupt:
            return _interrupted(runner)
        except Exception as error:
            return _failure(error, "the run", runner)
    show_result(result)
    return result.exit_code


def _not_resumed(run_id: str, error: Exception) -> int:
    from rich.markup import escape

    if isinstance(error, KeyError):
        console.print(f"no run {run_id!r}; `rebal runs list` shows them")
    else:  # the run's own configuration does not match the one named with -c
        console.print(f"[red]not resumed:[/] {escape(str(error))}")
    return EXIT_USAGE


def runs_list_command(path: Path | None) -> int:
    config = _load(path)
    if config is None:
        return EXIT_USAGE
    if not config.runs_db.exists():
        console.print("no runs yet")
        return EXIT_OK
    from agent.commands.runs_listing import read_runs

    runs = read_runs(config.runs_db)
    if runs is None:  # something in the store only LangGraph can interpret
        runs = _list_runs_with_graph(config.runs_db)
    from agent.commands.runs_listing import run_brokers

    brokers = run_brokers(config.paths.transcripts, [r["run_id"] for r in runs])
    table = Table(title="Runs")
    for column in ("run", "as of", "broker · account", "mode", "outcome", "waiting for"):
        table.add_column(column, no_wrap=column in ("run", "as of"))
    for run in runs:
        table.add_row(run["run_id"], run["as_of"], brokers.get(run["run_id"]) or "—", run["mode"], run["outcome"],
                      ", ".join(run["waiting_for"]))
    console.print(table)
    return EXIT_OK


def _list_runs_with_graph(runs_db: Path) -> list[dict]:
    """The listing through LangGraph itself (builds the graph: seconds of imports)."""
    import sqlite3

    from langgraph.checkpoint.sqlite import SqliteSaver

    from agent.graph import build_graph
    from tools.private import private_db

    conn = sqlite3.connect(private_db(runs_db), check_same_thread=False)
    try:
        return list_runs(build_graph().compile(checkpointer=SqliteSaver(conn)))
    finally:
        conn.close()


def discard_command(path: Path | None, run_id: str) -> int:
    import getpass

    opened = _open_run(path, run_id, headless=True, say_config=False)
    if isinstance(opened, int):
        return opened
    runner, run_id = opened
    with runner:
        try:
            result = runner.discard(run_id, f"terminal:{getpass.getuser()}")
        except (KeyError, ValueError) as error:
            console.print("[red]not discarded:[/]", Text(str(error)))
            return EXIT_USAGE
    console.print(Text(f"run {run_id}: {result.message}"))
    return EXIT_OK


def status_command(path: Path | None) -> int:
    config = _load(path)
    if config is None or _targets_refused(config):
        return EXIT_USAGE
    from agent.broker import connect
    from agent.context import RunContext
    from agent.journal import Journal
    from agent.review.terminal import TerminalApprover
    from agent.status import current_status
    from agent.transcript import Transcript
    from tools.market import krx_calendar

    try:
        broker = connect(config)
    except Exception as error:
        return _failure(error, "connecting")
    try:
        import tempfile

        with tempfile.TemporaryDirectory() as scratch:
            ctx = RunContext(config=config, broker=broker, journal=Journal(Path(scratch) / "j.db"),
                             transcript=Transcript(Path(scratch), "status"), calendar=krx_calendar(),
                             progress=_progress)
            console.print(f"[bold]Rebal status[/] · {broker.description}")
            as_of = broker.clock.now().date().isoformat()
            state = current_status(ctx, as_of)
            TerminalApprover(console).show_drift(state)
            if config.targets.strategy_file is not None:
                from agent.commands.strategy import states_table
                from agent.strategy_source import strategy_states

                _, states = strategy_states(ctx, config.targets.strategy_file, as_of)
                console.print(states_table(states, f"Strategy states ({config.targets.strategy_file})"))
            verdict = state["drift"]["verdict"]
            console.print("[yellow]a rebalance would trigger[/]" if verdict["triggered"]
                          else "[green]within the bands: nothing to do[/]")
            ctx.journal.close()
    except Exception as error:
        return _failure(error, "status")
    finally:
        broker.close()
    return EXIT_OK


def demo_command(home: Path) -> int:
    """A fresh embedded exchange and demo account each time, so the demo always has work to do."""
    from rich.markup import escape

    from agent.commands.demo_home import clear_demo_home, mark_demo_home

    refused = clear_demo_home(home)
    if refused:
        console.print(f"[red]demo not started:[/] {escape(refused)}")
        return EXIT_USAGE
    before = set(p.name for p in home.iterdir()) if home.exists() else set()
    mark_demo_home(home, before)  # the marker first: a demo that fails half-way can still be cleared
    demo_targets = Path(__file__).resolve().parents[2] / "examples" / "targets" / "demo.toml"
    config = RebalConfig.model_validate({"broker": {"mode": "embedded"}, "targets": {"file": str(demo_targets)},
                                         "paths": {"home": str(home), "transcripts": "transcripts"}})
    started = dt.datetime.now()
    runner = Runner(config, headless=True, progress=_progress)
    with runner:
        console.print(f"[bold]Rebal demo[/] · {runner.broker.description}")
        console.print("[dim]model portfolio: examples/targets/demo.toml · headless, auto-approve inside the "
                      "guardrails[/]")
        try:
            with _following(runner, True):
                result = runner.start(auto_approver)
        except KeyboardInterrupt:
            return _interrupted(runner)
        except Exception as error:
            return _failure(error, "the demo run", runner)
    mark_demo_home(home, before)
    show_result(result)
    console.print(f"[dim]demo wall time {(dt.datetime.now() - started).total_seconds():.1f} s[/]")
    return result.exit_code
