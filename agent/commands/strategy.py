"""Commands ``rebal backtest``, ``rebal tune``, ``rebal plan-capital`` (and ``strategy-status``).

Plain typer command functions on ``strategy_app``; the lead registers them at top level. Heavy
imports (numpy, pandas, matplotlib, the engine) happen inside the commands so ``rebal --help``
stays instant. Prices come from a CSV folder read in place (default ``../shared/data/prices``
beside the repository, or ``$REBAL_PRICES_DIR``) or from KIS daily bars with a local cache.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from rich.table import Table

    from tools.backtest.data import PricePanel
    from tools.strategies.base import StrategyState
    from tools.strategies.params import StrategyFile

strategy_app = typer.Typer(help="Strategies and backtests.", no_args_is_help=True, add_completion=False)

REPO = Path(__file__).resolve().parents[2]
StrategyOpt = Annotated[Path, typer.Option("--strategy", "-s", help="Strategy file (TOML).", exists=True,
                                           dir_okay=False)]
DateOpt = Annotated[str | None, typer.Option(help="YYYY-MM-DD")]
PricesOpt = Annotated[Path | None, typer.Option(help="Folder of price CSVs (default: $REBAL_PRICES_DIR or "
                                                     "../shared/data/prices).")]
SourceOpt = Annotated[str, typer.Option(help="csv (a price folder) or kis (daily bars from the KIS API, cached).")]


def _date(text: str | None, name: str) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{name} {text!r} is not a date like 2015-01-31") from None


def default_prices_dir() -> Path:
    env = os.environ.get("REBAL_PRICES_DIR")
    return Path(env) if env else REPO.parent / "shared" / "data" / "prices"


def _load(strategy_path: Path) -> StrategyFile:
    from tools.strategies.params import StrategyFileError, load_strategy

    try:
        return load_strategy(strategy_path)
    except StrategyFileError as error:
        typer.echo(f"error: invalid strategy file:\n{error}", err=True)
        raise typer.Exit(2) from None


def load_panel(strategy: StrategyFile, *, source: str, prices: Path | None, start: dt.date | None,
               end: dt.date | None) -> PricePanel:
    from tools.backtest.data import PanelError, fetch_kis_bars, load_csv_panel, panel_from_series
    from tools.strategies.build import strategy_tickers, strategy_warmup

    tickers = strategy_tickers(strategy)
    warmup = strategy_warmup(strategy) + 5
    try:
        if source == "kis":
            import asyncio

            from tools.kis import KisClient, KisConfig, load_credentials

            profile = os.environ.get("REBAL_KIS_PROFILE", "paper")
            credentials = load_credentials(profile)  # type: ignore[arg-type]
            cache = Path(os.environ.get("REBAL_CACHE_DIR") or Path.home() / ".cache" / "rebal") / "bars"
            first = (start or dt.date(2005, 1, 1)) - dt.timedelta(days=int(warmup * 1.6) + 10)

            async def fetch() -> dict:
                async with KisClient(KisConfig(profile=profile, account=credentials.account), credentials) as kis:
                    return await fetch_kis_bars(kis, tickers, first, end or dt.date.today(), cache)

            return panel_from_series(asyncio.run(fetch()), tickers, end=end)
        if source != "csv":
            raise typer.BadParameter("--source must be csv or kis")
        folder = prices or default_prices_dir()
        return load_csv_panel(folder, tickers, start=start, end=end, warmup_sessions=warmup)
    except (PanelError, FileNotFoundError, ValueError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None


@strategy_app.command("backtest")
def backtest(
    strategy: StrategyOpt,
    start: DateOpt = None,
    end: DateOpt = None,
    compare: Annotated[str | None, typer.Option(help="Policies side by side, e.g. no-rebalance,semiannual,"
                                                     "threshold-rel20 (presets: see the strategy file docs).")] = None,
    prices: PricesOpt = None,
    source: SourceOpt = "csv",
    capital: Annotated[int | None, typer.Option(help="Starting cash in the account currency.")] = None,
    fill: Annotated[str | None, typer.Option(help="next_open | next_close | same_close (bt's timing).")] = None,
    slippage_bp: Annotated[float | None, typer.Option(help="Half-spread floor in bp (at least half a tick).")] = None,
    participation: Annotated[float | None, typer.Option(help="Max share of a session's volume filled.")] = None,
    out: Annotated[Path | None, typer.Option(help="Folder for CSV files and the PNG plot.")] = None,
    events: Annotated[int, typer.Option(help="Rebalances listed per run (0: none).")] = 12,
) -> None:
    """Backtest a strategy file; with --compare, several drift policies side by side."""
    from rich.console import Console

    from tools.backtest.fills import FillModel
    from tools.backtest.metrics import compute_metrics
    from tools.backtest.report import comparison_table, events_table, plot, write_csv
    from tools.backtest.runner import RunSpec, default_fill, run_strategy
    from tools.strategies.params import POLICY_PRESETS, policy_from_name

    loaded = _load(strategy)
    first, last = _date(start, "--start"), _date(end, "--end")
    panel = load_panel(loaded, source=source, prices=prices, start=first, end=last)
    base = default_fill(loaded)
    updates: dict[str, Any] = {k: v for k, v in (("timing", fill), ("slippage_bp", slippage_bp),
                                                  ("participation", participation)) if v is not None}
    try:
        fill_model = FillModel(**{**base.model_dump(), **updates})
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    runs: list[tuple[str, Any]] = [(loaded.name or loaded.strategy, None)]
    if compare:
        names = [n.strip() for n in compare.split(",") if n.strip()]
        unknown = [n for n in names if n not in POLICY_PRESETS]
        if unknown:
            raise typer.BadParameter(f"unknown policy {', '.join(unknown)}; choose from {', '.join(POLICY_PRESETS)}")
        runs = [(name, policy_from_name(name).trigger_policy()) for name in names]
    results = []
    for label, policy in runs:
        spec = RunSpec(start=first, end=last, capital=None if capital is None else capital * panel.unit,
                       fill=fill_model, policy=policy, label=label)
        results.append(run_strategy(loaded, panel, spec))
    console = Console()
    console.print(comparison_table(results, [compute_metrics(r) for r in results]))
    if events:
        for result in results:
            console.print(events_table(result, events))
            for note in result.skipped[:5]:
                console.print(f"[yellow]skipped:[/] {note}")
    if out:
        written = [p for r in results for p in write_csv(r, out)]
        written.append(plot(results, out / "backtest.png"))
        console.print("wrote " + ", ".join(str(p) for p in written))


def _parse_grid(params: list[str]) -> dict[str, list[Any]]:
    grid: dict[str, list[Any]] = {}
    for item in params:
        key, sep, values = item.partition("=")
        if not sep or not values:
            raise typer.BadParameter(f"--param {item!r}: expected NAME=v1,v2,… (e.g. maps.MA_MONTHS=2,3,4)")
        grid[key.strip()] = [_scalar(v.strip()) for v in values.split(",") if v.strip()]
    return grid


def _scalar(text: str) -> Any:
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


@strategy_app.command("tune")
def tune(
    strategy: StrategyOpt,
    start: DateOpt = None,
    end: DateOpt = None,
    holdout_start: Annotated[str | None, typer.Option(help="First held-out session (default: the last "
                                                           "[tune] holdout_fraction of the range).")] = None,
    param: Annotated[list[str] | None, typer.Option(help="NAME=v1,v2,… (repeat); default: the file's [tune] grid.")] = None,
    objective: Annotated[str | None, typer.Option(help="sharpe | cagr | calmar | final_value")] = None,
    prices: PricesOpt = None,
    source: SourceOpt = "csv",
    write: Annotated[bool, typer.Option(help="Write the ensemble into the strategy file.")] = True,
) -> None:
    """Grid-search parameters; write the top-three ensemble into the strategy file; report held-out."""
    from rich.console import Console
    from rich.table import Table

    from tools.backtest.tune import tune as run_tune
    from tools.strategies.params import StrategyFileError, update_params

    loaded = _load(strategy)
    grid = _parse_grid(param) if param else dict(loaded.tune.grid)
    if not grid:
        raise typer.BadParameter("no grid: give --param NAME=v1,v2 or a [tune] grid in the strategy file")
    first, last = _date(start, "--start"), _date(end, "--end")
    panel = load_panel(loaded, source=source, prices=prices, start=first, end=last)
    try:
        report = run_tune(loaded, panel, grid, start=first, end=last,
                          holdout_start=_date(holdout_start, "--holdout-start"), objective=objective)
    except (StrategyFileError, ValueError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    console = Console()
    top = Table(title=f"Top trials of {len(report.trials)} by {report.objective} "
                      f"(in-sample {report.in_sample[0]} → {report.in_sample[1]}, {report.seconds:.1f} s)")
    for column in ("#", "parameters", report.objective, "CAGR", "max DD"):
        top.add_column(column)
    for rank, trial in enumerate(report.trials[:5], start=1):
        top.add_row(str(rank), ", ".join(f"{k}={v}" for k, v in trial.values.items()), f"{trial.score:.3f}",
                    f"{trial.metrics.cagr:.2%}", f"{trial.metrics.max_drawdown:.2%}")
    console.print(top)
    check = Table(title="Ensemble of the top three: " + ", ".join(f"{k}={v}" for k, v in report.ensemble.items()))
    for column in ("period", "from", "to", "CAGR", "Sharpe", "max DD"):
        check.add_column(column)
    check.add_row("in-sample", *map(str, report.in_sample), f"{report.ensemble_in.cagr:.2%}",
                  f"{report.ensemble_in.sharpe:.2f}", f"{report.ensemble_in.max_drawdown:.2%}")
    if report.held_out and report.ensemble_out and report.best_out:
        check.add_row("held-out", *map(str, report.held_out), f"{report.ensemble_out.cagr:.2%}",
                      f"{report.ensemble_out.sharpe:.2f}", f"{report.ensemble_out.max_drawdown:.2%}")
        check.add_row("held-out (best single)", "", "", f"{report.best_out.cagr:.2%}",
                      f"{report.best_out.sharpe:.2f}", f"{report.best_out.max_drawdown:.2%}")
    console.print(check)
    if write:
        update_params(strategy, report.ensemble, comment=f"rebal tune {dt.date.today()}: top-3 ensemble")
        console.print(f"wrote the ensemble into {strategy}")


@strategy_app.command("plan-capital")
def plan_capital(
    monthly_cash_flow: Annotated[int, typer.Option(help="Monthly cash flow you can set aside (KRW).")],
    max_drawdown: Annotated[float, typer.Option(help="Tolerated (or backtested) max drawdown, e.g. 0.25.")],
    safe_guard: Annotated[float, typer.Option(help="Months of cash flow a worst-case loss may cost.")] = 1.0,
    contribution: Annotated[int | None, typer.Option(help="Planned monthly contribution to check (KRW).")] = None,
    capital: Annotated[int | None, typer.Option(help="Starting capital (default: the planned one).")] = None,
    months: Annotated[int, typer.Option(help="Horizon of the contribution check.")] = 12,
) -> None:
    """Initial capital = safe_guard × monthly cash flow / max drawdown, and a contribution's max-loss check."""
    from rich.console import Console
    from rich.table import Table

    from tools.backtest.capital import check_contribution, initial_capital

    try:
        planned = initial_capital(monthly_cash_flow, max_drawdown, safe_guard)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    console = Console()
    console.print(f"initial capital: {planned:,} KRW  (= {safe_guard:g} × {monthly_cash_flow:,} / {max_drawdown:.1%}; "
                  f"a {max_drawdown:.1%} drawdown then costs {safe_guard:g} month(s) of cash flow)")
    if contribution is None:
        return
    check = check_contribution(planned if capital is None else capital, contribution, max_drawdown, monthly_cash_flow,
                               safe_guard=safe_guard, horizon_months=months)
    table = Table(title=f"Max-loss check: {contribution:,} KRW a month, tolerated loss {check.tolerated_loss:,} KRW")
    for column in ("month", "balance", "worst loss", "within"):
        table.add_column(column, justify="right")
    for row in check.months:
        table.add_row(str(row.month), f"{row.balance:,}", f"{row.worst_loss:,}", "yes" if row.within else "[red]NO[/]")
    console.print(table)
    breach = check.first_breach
    console.print("the plan stays within the tolerated loss" if breach is None else
                  f"[red]month {breach}: the worst-case loss exceeds {check.tolerated_loss:,} KRW[/]; "
                  f"largest safe contribution over {months} months: {check.max_safe_contribution:,} KRW")
    if breach is not None:
        raise typer.Exit(1)


def states_table(states: list[StrategyState], title: str = "Strategy states") -> Table:
    """The table ``rebal status`` shows (one row per ticker: state, score, reason)."""
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=title)
    for column in ("ticker", "bucket", "state", "score", "reason"):
        table.add_column(column)
    for s in states:
        table.add_row(s.ticker, s.bucket or "", s.state.value, "" if s.score is None else f"{s.score:.2f}", escape(s.reason))
    return table


@strategy_app.command("strategy-status")
def strategy_status(
    strategy: StrategyOpt,
    as_of: DateOpt = None,
    prices: PricesOpt = None,
) -> None:
    """Today's targets and states (BUY, HOLD, …) with reasons, by the code the backtest runs."""
    from rich.console import Console

    from tools.strategies.build import strategy_targets, strategy_tickers

    loaded = _load(strategy)
    series = {}
    from tools.prices import read_price_dir

    folder = prices or default_prices_dir()
    every = read_price_dir(folder)
    for ticker in strategy_tickers(loaded):
        if ticker in every:
            series[ticker] = every[ticker].bars
    day = _date(as_of, "--as-of") or max(b[-1].date for b in series.values())
    try:
        targets, states = strategy_targets(loaded, series, day)
    except ValueError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    console = Console()
    console.print(states_table(states, f"{loaded.name or loaded.strategy} as of {day}"))
    console.print("targets: " + ", ".join(f"{t} {w:.1%}" for t, w in targets.flat().items())
                  + f", cash {targets.cash_weight:.1%}")
