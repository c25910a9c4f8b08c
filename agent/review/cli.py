"""``rebal transcripts list|show``: review what past runs did.

Only typer is imported at module level; the reader and rich load inside the commands, so
registering this sub-app costs ``rebal --help`` nothing noticeable.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

# Same value as agent.transcript.DEFAULT_DIR (a test keeps them equal); not imported from there
# because that module pulls in the KIS client package at start-up.
DEFAULT_DIR = Path("transcripts")

transcripts_app = typer.Typer(help="Review run transcripts.", no_args_is_help=True)

DirOption = Annotated[Path | None, typer.Option("--dir", help="Folder of run transcripts (*.jsonl; default: the "
                                                                 "config's paths.transcripts, else ./transcripts).")]


class Format(StrEnum):
    rich = "rich"
    md = "md"


class Lang(StrEnum):
    en = "en"
    ko = "ko"


LangOption = Annotated[Lang | None, typer.Option("--lang", help="en or ko (default: the config's ui.language).")]
ConfigOption = Annotated[Path | None, typer.Option("--config", "-c", help="Config TOML, for ui.language "
                                                                        "(default: ./rebal.toml if there is one).")]


def settings(lang: Lang | None, config: Path | None, directory: Path | None) -> tuple[str, Path]:
    """(language, transcript folder): ``--lang`` and ``--dir`` when given, else the config's
    ``ui.language`` and ``paths.transcripts`` when a config is given or found, else English and
    ./transcripts. The review never fails for want of a config: a broken one is reported."""
    from agent.config import DEFAULT_CONFIG, ConfigError, load_config

    chosen, folder = (lang.value if lang is not None else "en"), directory or DEFAULT_DIR
    if config is None and not DEFAULT_CONFIG.exists():
        return chosen, folder
    try:
        loaded = load_config(config)
    except ConfigError as error:
        typer.echo(f"warning: {error}; the review uses its defaults", err=True)
        return chosen, folder
    return (lang.value if lang is not None else loaded.ui.language), (directory or loaded.paths.transcripts)


def resolve(directory: Path, run_id: str) -> Path:
    """The transcript of ``run_id``, or of the one run whose id starts with it (exit 2 otherwise)."""
    if not directory.is_dir():
        typer.echo(f"error: no transcript folder {directory}", err=True)
        raise typer.Exit(2)
    exact = directory / f"{run_id}.jsonl"
    if run_id and "/" not in run_id and exact.is_file():  # an id, not a path out of the folder
        return exact
    matches = sorted(p for p in directory.glob("*.jsonl") if run_id and p.stem.startswith(run_id))
    if not matches:
        typer.echo(f"error: no run {run_id!r} in {directory}", err=True)
        raise typer.Exit(2)
    if len(matches) > 1:
        shown = ", ".join(p.stem for p in matches[:10]) + (", …" if len(matches) > 10 else "")
        typer.echo(f"error: {run_id!r} is ambiguous in {directory}: {shown}", err=True)
        raise typer.Exit(2)
    return matches[0]


@transcripts_app.command("list")
def list_command(directory: DirOption = None, lang: LangOption = None, config: ConfigOption = None) -> None:
    """One line per run, newest first."""
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from agent.review._format import MISSING, krw
    from agent.review._labels import words
    from agent.review.transcripts import list_runs

    chosen, directory = settings(lang, config, directory)
    w = words("ko" if chosen == "ko" else "en")
    runs = list_runs(directory)
    if not runs:
        typer.echo(f"no transcripts in {directory}")
        return
    table = Table(header_style="bold", box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1), collapse_padding=True,
                  show_edge=False)
    # Identifiers, times and figures are never split; the outcome, the one column that says what
    # happened, folds onto more lines instead of being cut; headers may wrap ("turnover / KRW").
    modes = [w(run.mode) for run in runs if run.mode]
    table.add_column(w("run id"), no_wrap=True)
    table.add_column(f"{w('started')} (KST)", no_wrap=True)
    table.add_column(w("mode"), no_wrap=True, min_width=max(map(len, modes), default=1))
    table.add_column(w("outcome"), overflow="fold", min_width=12)
    table.add_column(w("orders sent"), justify="right", no_wrap=True)
    table.add_column(w("turnover KRW"), justify="right",
                     min_width=max((len(krw(run.turnover_krw)) for run in runs), default=1))
    for run in runs:
        style = "red" if run.outcome.startswith(("unreadable", "failed")) else ""
        table.add_row(*(Text(value, style=style) for value in (
            run.run_id, run.started_at.strftime("%m-%d %H:%M") if run.started_at else MISSING,
            w(run.mode) if run.mode else MISSING, run.outcome + (" (torn)" if run.torn_tail else ""),
            str(run.orders_placed), krw(run.turnover_krw))))
    Console().print(table)


@transcripts_app.command("show")
def show_command(
    run_id: Annotated[str, typer.Argument(help="Run id, or a unique prefix of one.")],
    directory: DirOption = None,
    output: Annotated[Format, typer.Option("--format", help="rich (terminal) or md (GitHub Markdown).")]
    = Format.rich,
    lang: LangOption = None,
    config: ConfigOption = None,
) -> None:
    """A readable review of one run: inputs, drift, trades, plan, guardrails, approval, execution."""
    chosen, directory = settings(lang, config, directory)
    path = resolve(directory, run_id)
    from agent.review.transcripts import render, to_markdown

    try:
        if output is Format.md:
            typer.echo(to_markdown(path, chosen), nl=False)
            return
        from rich.console import Console

        render(path, Console(), chosen)
    except OSError as error:
        typer.echo(f"error: cannot read {path}: {error.strerror or error}", err=True)
        raise typer.Exit(2) from None
