"""The ``rebal`` command line. Heavy libraries are imported inside the commands that need them,
so ``rebal --help`` answers at once."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

# Plain help formatting: rich's help renderer alone costs ~0.25 s, and `rebal --help` must be instant.
PLAIN = {"no_args_is_help": True, "rich_markup_mode": None}
app = typer.Typer(help="Rebal: rebalance a KIS account to a model portfolio, safely.", add_completion=False,
                  pretty_exceptions_enable=False, **PLAIN)
paper_app = typer.Typer(help="The KIS-compatible paper exchange.", **PLAIN)
app.add_typer(paper_app, name="paper")
runs_app = typer.Typer(help="Runs kept in the checkpoint store: list them, resume one.", **PLAIN)
app.add_typer(runs_app, name="runs")
config_app = typer.Typer(help="The configuration file.", **PLAIN)
app.add_typer(config_app, name="config")
targets_app = typer.Typer(help="The model portfolio: check a targets file before a run reads it.", **PLAIN)
app.add_typer(targets_app, name="targets")


def _register_transcripts() -> None:
    from agent.review.cli import transcripts_app

    app.add_typer(transcripts_app, name="transcripts", help="Read run transcripts: list them, show one.")


_register_transcripts()


def _register_strategy_commands() -> None:
    """backtest, tune and plan-capital live in agent/commands/strategy.py (imports stay inside them)."""
    from agent.commands import strategy

    for name, command in (("backtest", strategy.backtest), ("tune", strategy.tune),
                          ("plan-capital", strategy.plan_capital)):
        app.command(name)(command)


_register_strategy_commands()

ConfigOption = Annotated[Path | None, typer.Option("--config", "-c", help="Config TOML (default: ./rebal.toml).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print every transcript event as a JSON line on stdout "
                                                      "(human messages go to stderr).")]
LanguageOption = Annotated[str | None, typer.Option("--lang", help="Language of the approval session: en or ko "
                                                    "(default: the config's ui.language).")]


def _language(value: str | None) -> str | None:
    if value is not None and value not in ("en", "ko"):
        raise typer.BadParameter(f"--lang must be en or ko, not {value!r}")
    return value

DEFAULT_PAPER_DB = Path.home() / ".rebal" / "paper.db"


@paper_app.command("serve")
def paper_serve(
    host: Annotated[str, typer.Option(help="Loopback address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port (KIS's paper host uses 29443).")] = 29443,
    profile: Annotated[str, typer.Option(help="Rules of KIS's 'paper' (모의투자) or 'real' (실전) server.")] = "paper",
    db: Annotated[Path, typer.Option(help="SQLite file that keeps accounts, orders and fills.")] = DEFAULT_PAPER_DB,
    date: Annotated[str | None, typer.Option(help="Session date to replay, YYYY-MM-DD (default: today).")] = None,
    time: Annotated[str, typer.Option(help="Time of day the clock starts at with --date, HH:MM KST.")] = "09:30",
    speed: Annotated[float, typer.Option(help="Simulated seconds per real second (0 freezes the clock).")] = 1.0,
    data: Annotated[Path | None, typer.Option(help="Folder of daily OHLCV CSV files to replay.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic market.")] = 0,
    rate_limit: Annotated[float | None, typer.Option(help="Requests/s per account (0 = off).")] = None,
    credentials: Annotated[Path | None, typer.Option(help="Write the demo account's keys here (mode 0600).")] = None,
) -> None:
    """Serve the paper exchange over HTTP on loopback."""
    from paper.server import require_loopback, serve
    from paper.settings import ExchangeSettings

    if profile not in ("paper", "real"):
        raise typer.BadParameter("--profile must be 'paper' or 'real'")
    settings = ExchangeSettings(
        profile=profile, db=str(db), data_dir=data, seed=seed, speed=speed, rate_limit=rate_limit,
        date=dt.date.fromisoformat(date) if date else None, time=dt.time.fromisoformat(time))
    try:
        require_loopback(host)  # refused before anything claims to be listening
        typer.echo(f"paper exchange ({profile}) on http://{host}:{port}  db={db}")
        serve(settings, host, port, credentials)
    except ValueError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None


@paper_app.command("reset")
def paper_reset(
    db: Annotated[Path, typer.Option(help="SQLite file of the paper exchange.")] = DEFAULT_PAPER_DB,
) -> None:
    """Forget every account, order, fill and token of a paper exchange database."""
    from paper.store import Store

    if not db.exists():
        typer.echo(f"nothing to reset: {db} does not exist")
        return
    store = Store(db)
    store.reset()
    store.close()
    typer.echo(f"reset {db}")


def _parse_duration(text: str) -> float:
    """'90s', '15m', '2h' or plain seconds."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    try:
        if text and text[-1] in units:
            return float(text[:-1]) * units[text[-1]]
        return float(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a duration like 90s, 15m or 2h") from None


@paper_app.command("clock")
def paper_clock(
    action: Annotated[str, typer.Argument(help="show | advance DURATION | set ISO-TIME | speed N")] = "show",
    value: Annotated[str | None, typer.Argument(help="15m, 2026-11-20T10:00+09:00, or a speed")] = None,
    url: Annotated[str, typer.Option(help="Base URL of a running paper exchange.")] = "http://127.0.0.1:29443",
) -> None:
    """Show or move a running paper exchange's simulated clock."""
    import httpx

    body: dict[str, object] = {}
    if action == "advance":
        body = {"advance_seconds": _parse_duration(value or "")}
    elif action == "set":
        body = {"set": value}
    elif action == "speed":
        body = {"speed": float(value or "1")}
    elif action != "show":
        raise typer.BadParameter("action must be show, advance, set or speed")
    try:
        response = httpx.post(url + "/paper/clock", json=body) if body else httpx.get(url + "/paper/clock")
    except httpx.TransportError as error:
        typer.echo(f"error: no paper exchange answers at {url} ({error})", err=True)
        raise typer.Exit(1) from None
    state = response.json()
    if response.status_code != 200:
        typer.echo(f"error: {state.get('error')}", err=True)
        raise typer.Exit(2)
    typer.echo(f"{state['now']}  phase={state['phase']}  speed={state['speed']}")
    if action == "set" and value:
        try:
            asked = dt.datetime.fromisoformat(value)
            later = asked.tzinfo is not None and asked < dt.datetime.fromisoformat(state["now"])
        except ValueError:
            later = False
        if later:
            typer.echo(f"note: the exchange never rewinds; the clock stays at {state['now']}, not {value}", err=True)


@app.command("run")
def run(
    auto_approve: Annotated[bool, typer.Option("--auto-approve", help="Headless: approve only inside every "
                                               "guardrail and headless cap, else stop (exit 3).")] = False,
    again: Annotated[bool, typer.Option("--again", help="Run again although this rebalance ran today.")] = False,
    config: ConfigOption = None,
    lang: LanguageOption = None,
    json_events: JsonOption = False,
) -> None:
    """Rebalance the account: review and approve in the terminal, or --auto-approve headless."""
    from agent.commands.session import run_command

    raise typer.Exit(run_command(config, headless=auto_approve, again=again, language=_language(lang),
                                 json_events=json_events))


@app.command("status")
def status(config: ConfigOption = None) -> None:
    """Show the account's drift from its targets and whether a rebalance would trigger. Trades nothing."""
    from agent.commands.session import status_command

    raise typer.Exit(status_command(config))


@runs_app.command("list")
def runs_list(config: ConfigOption = None) -> None:
    """List runs, newest first, with their outcome or what they wait for."""
    from agent.commands.session import runs_list_command

    raise typer.Exit(runs_list_command(config))


@runs_app.command("resume")
def runs_resume(
    run_id: Annotated[str, typer.Argument(help="The run to continue (see `rebal runs list`).")],
    auto_approve: Annotated[bool, typer.Option("--auto-approve", help="Headless, as for `rebal run`.")] = False,
    config: ConfigOption = None,
    lang: LanguageOption = None,
    json_events: JsonOption = False,
) -> None:
    """Continue a run: after a crash, or one waiting for approval."""
    from agent.commands.session import resume_command

    raise typer.Exit(resume_command(config, run_id, headless=auto_approve, language=_language(lang),
                                    json_events=json_events))


@runs_app.command("discard")
def runs_discard(
    run_id: Annotated[str, typer.Argument(help="A run waiting for approval (see `rebal runs list`).")],
    config: ConfigOption = None,
) -> None:
    """End a run that waits for approval, without trading (recorded as rejected)."""
    from agent.commands.session import discard_command

    raise typer.Exit(discard_command(config, run_id))


@config_app.command("init")
def config_init(
    path: Annotated[Path, typer.Argument(help="Where to write it.")] = Path("rebal.toml"),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented configuration file with the defaults."""
    from agent.config import CONFIG_TEMPLATE

    if path.exists() and not force:
        typer.echo(f"{path} exists; use --force to overwrite it", err=True)
        raise typer.Exit(2)
    from tools.private import write_private_text

    write_private_text(path, CONFIG_TEMPLATE)
    typer.echo(f"wrote {path}")


@targets_app.command("check")
def targets_check(
    file: Annotated[Path | None, typer.Argument(help="A .toml or .csv targets file (default: the config's).")] = None,
    broker: Annotated[bool, typer.Option("--broker", help="Also look every ticker up at the configured broker "
                                                          "(its product info), as a run does.")] = False,
    config: ConfigOption = None,
) -> None:
    """Read a targets file as a run would and show what it means; the broker only with --broker."""
    from rich.console import Console

    from agent.commands.targets_check import targets_check as check

    raise typer.Exit(check(file, config, Console(), broker=broker))


@targets_app.command("show")
def targets_show(
    file: Annotated[Path | None, typer.Argument(help="A .toml or .csv targets file (default: the config's).")] = None,
    config: ConfigOption = None,
) -> None:
    """Print the model portfolio: classes, tickers, weights, version, units assumed and the file's full path."""
    from rich.console import Console

    from agent.commands.targets_check import targets_show as show

    raise typer.Exit(show(file, config, Console()))


@app.command("demo")
def demo(
    home: Annotated[Path, typer.Option(help="Working folder of the demo: new or empty, or one an earlier demo "
                                            "made (only what that demo made is cleared).")] = Path(".rebal/demo"),
) -> None:
    """A complete headless rebalance of a drifted demo account on the embedded paper exchange."""
    from agent.commands.session import demo_command

    raise typer.Exit(demo_command(home))


def main() -> None:
    from tools.private import restrict_umask

    restrict_umask()  # every file and folder this process (or a library in it) creates is private
    app()


if __name__ == "__main__":
    main()
