"""``rebal targets check [FILE]`` and ``rebal targets show [FILE]``: read a targets file as a run
would and show what it means.

No broker is contacted unless ``check --broker`` asks for it: then every target ticker is looked
up in the broker's product master (or, where the broker does not offer that, quoted), as a run
does before planning. Without FILE the config's ``targets.file`` is read. Exit 0 when the file is
valid (and, with ``--broker``, every ticker is listed), 2 (with every problem listed) when not.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from agent.runner import EXIT_OK, EXIT_USAGE

_UNITS = {"percent": "percent", "fraction": "fractions", "": "fractions (as stored)"}


def _targets_file(file: Path | None, config_path: Path | None, console: Console) -> Path | int:
    """The file to read: FILE, else the config's ``targets.file``; or the exit code of why none."""
    if file is not None:
        return file
    from agent.commands.session import _load

    config = _load(config_path)
    if config is None:
        return EXIT_USAGE
    if config.targets.file is None or config.targets.strategy_file or config.targets.decisions_db:
        console.print("the config takes its targets from a strategy or a decisions table: give the FILE to read")
        return EXIT_USAGE
    return config.targets.file


def _load_targets(file: Path | None, config_path: Path | None, console: Console):
    """(targets, the file) or the exit code, the problems printed."""
    from tools.targets import TargetsError, load_targets

    path = _targets_file(file, config_path, console)
    if isinstance(path, int):
        return path
    try:
        return load_targets(path), path
    except TargetsError as error:
        console.print("[red]targets error:[/]", Text(str(error)))
        return EXIT_USAGE


def _table(targets, title: str, within: str, of_total: str) -> Table:
    table = Table(title=title)
    for column in ("class", "ticker", "name", within, of_total):
        table.add_column(column, justify="right" if column in (within, of_total) else "left")
    flat = targets.form == "flat"  # one class per ticker: its name and its 100% would say nothing
    for asset_class in targets.classes:
        if asset_class.is_cash:
            table.add_row(Text("" if flat else asset_class.name), "cash", "", "", f"{asset_class.weight:.2%}")
            continue
        for instrument in asset_class.instruments:
            table.add_row(Text("" if flat else asset_class.name), instrument.ticker, Text(instrument.name),
                          "" if flat else f"{instrument.weight:.2%}", f"{asset_class.weight * instrument.weight:.2%}")
    return table


def targets_check(file: Path | None, config_path: Path | None, console: Console, *, broker: bool = False) -> int:
    from tools.targets import full_path

    loaded = _load_targets(file, config_path, console)
    if isinstance(loaded, int):
        return loaded
    targets, path = loaded
    console.print(_table(targets, f"Targets: {full_path(path)} (version {targets.version})",
                         "within class", "of the portfolio"))
    for note in targets.notes:
        console.print(Text(f"note: {note}"))
    flat = targets.flat()
    console.print(f"valid: {len(flat)} instrument(s) and {targets.cash_weight:.2%} cash, "
                  f"{sum(flat.values()) + targets.cash_weight:.2%} in all")
    if broker:
        return _check_with_broker(targets.tickers, config_path, console)
    return EXIT_OK


def _check_with_broker(tickers: tuple[str, ...], config_path: Path | None, console: Console) -> int:
    """Every ticker looked up at the configured broker (its product master, else its order book)."""
    from agent.broker import connect
    from agent.commands.session import _load
    from agent.nodes.fetch_targets import listing_problems
    from tools.kis.errors import InvalidInput, KisError, OrderRejected

    config = _load(config_path)
    if config is None:
        return EXIT_USAGE
    try:
        connection = connect(config)
    except Exception as error:  # no broker as configured: say why, as `rebal run` would
        console.print("[red]broker error:[/]", Text(str(error)))
        return EXIT_USAGE
    try:
        console.print(Text(f"broker: {connection.description}"))
        for note in connection.notes:
            console.print(Text(f"note: {note}"))
        if connection.offers_product_info:
            problems = listing_problems(connection, tickers)
        else:
            console.print("the KIS paper server offers no product info (모의투자 미지원): quoting each ticker instead")
            problems = []
            for ticker in tickers:
                try:
                    connection.client.order_book(ticker)
                except (OrderRejected, InvalidInput) as error:
                    problems.append(f"target {ticker} cannot be quoted (KIS order book: {error.msg1} "
                                    f"[{error.msg_cd}]): is it a listed instrument?")
    except KisError as error:
        console.print("[red]broker error:[/]", Text(str(error)))
        return EXIT_USAGE
    finally:
        connection.close()
    for problem in problems:
        console.print("[red]targets error:[/]", Text(problem))
    if problems:
        return EXIT_USAGE
    console.print(f"listed: all {len(tickers)} target ticker(s) are known to the broker")
    return EXIT_OK


def targets_show(file: Path | None, config_path: Path | None, console: Console) -> int:
    """The model portfolio as a table, with its version, the units the file was read in and its path."""
    from tools.targets import full_path

    loaded = _load_targets(file, config_path, console)
    if isinstance(loaded, int):
        return loaded
    targets, path = loaded
    title = f"Model portfolio{f' {targets.label!r}' if targets.label else ''} ({targets.form})"
    console.print(_table(targets, title, "weight of class", "weight of total"))
    console.print(Text(f"version: {targets.version}"))
    why = f" — {'; '.join(targets.notes)}" if targets.notes else ""
    console.print(Text(f"units: {_UNITS[targets.units]}{why}"))
    console.print(Text(f"source: {full_path(path)}"))
    return EXIT_OK
