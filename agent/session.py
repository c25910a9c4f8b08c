"""What the ``rebal`` commands do: set up, run or resume, and tell the person how it went.

Every failure ends in a plain sentence and a distinct exit code, and says what state the account
is in: nothing sent (before execution) or see the transcript (during execution).
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

from rich.console import Console
from rich.table import Table

from agent.config import ConfigError, RebalConfig, load_config
from agent.runner import (
    EXIT_FAILED,
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
    console.print(f"[dim]· {message}[/]")


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
        console.print(f"[red]config error:[/] {error}")
        return None


def _approver(runner: Runner, headless: bool):
    if headless:
        return auto_approver
    from agent.terminal import TerminalApprover

    reviewer = None
    if runner.planner_model is not None:
        from agent.reviewer import make_reviewer

        reviewer = make_reviewer(runner.planner_model)
    return TerminalApprover(console, reviewer)


def _failure(error: Exception, stage: str) -> int:
    from tools.kis import KisError, OrderOutcomeUnknown

    console.print(f"[red]{stage} failed:[/] {error}")
    if isinstance(error, OrderOutcomeUnknown):
        console.print("The order's answer was lost. Nothing is sent again without checking: resume the run "
                      "and it will find the order on the broker's list first.")
    elif isinstance(error, KisError | ConfigError | ValueError | KeyError):
        console.print("No order was sent by this step; the account is as it was.")
    return EXIT_FAILED


def show_result(result: RunResult) -> None:
    colour = "green" if result.exit_code == EXIT_OK else "yellow" if result.awaiting_approval else "red"
    console.print(f"[bold {colour}]{result.outcome}[/] — {result.message}")
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


def _open_runner(path: Path | None, *, headless: bool) -> Runner | int:
    """A connected runner, or the exit code of why there is none (the reason is printed)."""
    config = _load(path)
    if config is None:
        return EXIT_USAGE
    try:
        return Runner(config, headless=headless, progress=_progress, confirm_real=_confirm_real)
    except Exception as error:
        return _failure(error, "connecting")


def run_command(path: Path | None, *, headless: bool, again: bool) -> int:
    runner = _open_runner(path, headless=headless)
    if isinstance(runner, int):
        return runner
    with runner:
        console.print(f"[bold]Rebal[/] · {runner.broker.description}")
        for note in runner.broker.notes:
            console.print(f"[dim]{note}[/]")
        try:
            result = runner.start(_approver(runner, headless), again=again)
        except RunExists as exists:
            console.print(str(exists))
            return EXIT_OK if exists.finished else EXIT_NEEDS_APPROVAL
        except Exception as error:
            return _failure(error, "the run")
    show_result(result)
    return result.exit_code


def resume_command(path: Path | None, run_id: str, *, headless: bool) -> int:
    runner = _open_runner(path, headless=headless)
    if isinstance(runner, int):
        return runner
    with runner:
        try:
            result = runner.resume(run_id, _approver(runner, headless))
        except KeyError:
            console.print(f"no run {run_id!r}; `rebal runs list` shows them")
            return EXIT_USAGE
        except Exception as error:
            return _failure(error, "the run")
    show_result(result)
    return result.exit_code


def runs_list_command(path: Path | None) -> int:
    config = _load(path)
    if config is None:
        return EXIT_USAGE
    if not config.runs_db.exists():
        console.print("no runs yet")
        return EXIT_OK
    import sqlite3

    from langgraph.checkpoint.sqlite import SqliteSaver

    from agent.graph import build_graph

    conn = sqlite3.connect(str(config.runs_db), check_same_thread=False)
    try:
        graph = build_graph().compile(checkpointer=SqliteSaver(conn))
        table = Table(title="Runs")
        for column in ("run", "as of", "mode", "outcome", "waiting for"):
            table.add_column(column)
        for run in list_runs(graph):
            table.add_row(run["run_id"], run["as_of"], run["mode"], run["outcome"], ", ".join(run["waiting_for"]))
        console.print(table)
    finally:
        conn.close()
    return EXIT_OK


def status_command(path: Path | None) -> int:
    config = _load(path)
    if config is None:
        return EXIT_USAGE
    from agent.broker import connect
    from agent.context import RunContext
    from agent.executor.journal import Journal
    from agent.status import current_status
    from agent.terminal import TerminalApprover
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
                from agent.strategy_cli import states_table
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
    if home.exists():
        shutil.rmtree(home)
    demo_targets = Path(__file__).resolve().parents[1] / "examples" / "targets" / "demo.toml"
    config = RebalConfig.model_validate({"broker": {"mode": "embedded"}, "targets": {"file": str(demo_targets)},
                                         "paths": {"home": str(home), "transcripts": "transcripts"}})
    started = dt.datetime.now()
    runner = Runner(config, headless=True, progress=_progress)
    with runner:
        console.print(f"[bold]Rebal demo[/] · {runner.broker.description}")
        console.print("[dim]model portfolio: examples/targets/demo.toml · headless, auto-approve inside the "
                      "guardrails[/]")
        try:
            result = runner.start(auto_approver)
        except Exception as error:
            return _failure(error, "the demo run")
    show_result(result)
    console.print(f"[dim]demo wall time {(dt.datetime.now() - started).total_seconds():.1f} s[/]")
    return result.exit_code
