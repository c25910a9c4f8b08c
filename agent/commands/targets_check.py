"""``rebal targets check [FILE]``: read a targets file as a run would and show what it means.

No broker is contacted. Without FILE the config's ``targets.file`` is read. Exit 0 when the
file is valid, 2 (with every problem listed) when it is not.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from agent.runner import EXIT_OK, EXIT_USAGE


def targets_check(file: Path | None, config_path: Path | None, console: Console) -> int:
    from agent.commands.session import _load
    from tools.targets import TargetsError, load_targets

    if file is None:
        config = _load(config_path)
        if config is None:
            return EXIT_USAGE
        if config.targets.file is None or config.targets.strategy_file or config.targets.decisions_db:
            console.print("the config takes its targets from a strategy or a decisions table: give the FILE to check")
            return EXIT_USAGE
        file = config.targets.file
    try:
        targets = load_targets(file)
    except TargetsError as error:
        console.print("[red]targets error:[/]", Text(str(error)))
        return EXIT_USAGE
    table = Table(title=f"Targets: {file.expanduser().resolve()} (version {targets.version})")
    for column in ("class", "ticker", "name", "within class", "of the portfolio"):
        table.add_column(column, justify="right" if column in ("within class", "of the portfolio") else "left")
    for asset_class in targets.classes:
        if asset_class.is_cash:
            table.add_row(Text(asset_class.name), "cash", "", "", f"{asset_class.weight:.2%}")
            continue
        for instrument in asset_class.instruments:
            table.add_row(Text(asset_class.name), instrument.ticker, Text(instrument.name),
                          f"{instrument.weight:.2%}", f"{asset_class.weight * instrument.weight:.2%}")
    console.print(table)
    flat = targets.flat()
    console.print(f"valid: {len(flat)} instrument(s) and {targets.cash_weight:.2%} cash, "
                  f"{sum(flat.values()) + targets.cash_weight:.2%} in all")
    return EXIT_OK
