"""A small neutral document (header, sections of tables and lines) and its two renderings.

The sections are built once from the events; rich and Markdown only differ in how they draw the
same content, so the terminal view and the Markdown export cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tools.kis.redact import REDACTOR

if TYPE_CHECKING:  # rich is imported when rendering, not when the CLI starts
    from rich.console import Console


@dataclass
class Table:
    columns: Sequence[str]
    rows: list[list[str]] = field(default_factory=list)
    numeric: frozenset[int] = frozenset()  # right-aligned column indexes
    caption: str | None = None
    whole: frozenset[int] = frozenset()  # identifier columns (order ids, ODNO, times): never split


@dataclass
class Lines:
    items: list[str]


Block = Table | Lines


@dataclass
class Section:
    title: str
    blocks: list[Block] = field(default_factory=list)

    def add(self, block: Block) -> None:
        # Empty tables and line lists are dropped: an absent figure is not worth a heading.
        if (isinstance(block, Table) and block.rows) or (isinstance(block, Lines) and block.items):
            self.blocks.append(block)


@dataclass
class Document:
    title: str
    header: list[tuple[str, str]]
    sections: list[Section]


def clean(value: str) -> str:
    """Defence in depth: a secret registered in this process is masked on display too, even if a
    transcript written elsewhere (or before the secret was registered) still holds it."""
    return REDACTOR.redact(value)


# --- rich ------------------------------------------------------------------------------------------

_STYLES = {"✓": "green", "✗": "bold red", "⚠": "yellow"}


def _cell(value: str):  # -> rich.text.Text
    from rich.text import Text

    # Text, not markup: transcript strings contain brackets ("[relative] mp 069500 …").
    return Text(clean(value), style=_STYLES.get(value[:1], ""))


def to_rich(document: Document, console: Console) -> None:
    from rich.panel import Panel
    from rich.table import Table as RichTable
    from rich.text import Text

    grid = RichTable.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    for key, value in document.header:
        grid.add_row(Text(key), _cell(value))
    console.print(Panel(grid, title=Text(clean(document.title), style="bold"), expand=False))
    for section in document.sections:
        if not section.blocks:
            continue
        console.print()
        console.rule(Text(section.title, style="bold cyan"), align="left")
        for block in section.blocks:
            if isinstance(block, Lines):
                for item in block.items:
                    console.print(_cell(item))
                continue
            for part in _fit(block, console.width):
                console.print(_rich_table(part))


_TEXT_MIN = 6  # a text column narrower than this folds into unreadable stubs


def _min_width(block: Table, index: int) -> int:
    if index in block.numeric | block.whole:
        return max((len(str(row[index])) for row in block.rows), default=0)
    return _TEXT_MIN


def _fit(block: Table, width: int) -> list[Table]:
    """The table, or, when even its narrowest layout is wider than the console, two tables that
    each repeat the first column (the row's name): a figure or an order number is never cut."""
    needed = sum(_min_width(block, i) + 3 for i in range(len(block.columns)))
    if needed <= width or len(block.columns) < 4:
        return [block]
    half = len(block.columns) // 2 + 1
    parts = []
    for columns in (range(half), (0, *range(half, len(block.columns)))):
        keep = list(columns)
        parts.append(Table([block.columns[i] for i in keep], [[row[i] for i in keep] for row in block.rows],
                           frozenset(n for n, i in enumerate(keep) if i in block.numeric),
                           block.caption if keep[1] == 1 else None,
                           frozenset(n for n, i in enumerate(keep) if i in block.whole)))
    return parts


def _rich_table(block: Table):  # -> rich.table.Table
    from rich import box
    from rich.table import Table as RichTable
    from rich.text import Text

    table = RichTable(title=Text(block.caption) if block.caption else None, title_justify="left",
                      box=box.SIMPLE_HEAD, header_style="bold")
    for index, column in enumerate(block.columns):
        # A figure or an identifier is never split across lines on a narrow terminal: its column is
        # at least as wide as its widest value; text columns fold instead.
        table.add_column(column, justify="right" if index in block.numeric else "left",
                         min_width=_min_width(block, index), overflow="fold")
    for row in block.rows:
        table.add_row(*(_cell(cell) for cell in row))
    return table


# --- Markdown --------------------------------------------------------------------------------------


def _md(value: str) -> str:
    """Table-cell / list-item safe: pipes escaped, line breaks kept inside the cell."""
    return clean(value).replace("\\", "\\\\").replace("|", "\\|").replace("\r", "").replace("\n", "<br>")


def _md_table(columns: Sequence[str], rows: list[list[str]], numeric: frozenset[int] = frozenset()) -> list[str]:
    align = ["---:" if index in numeric else "---" for index in range(len(columns))]
    lines = ["| " + " | ".join(_md(c) for c in columns) + " |", "| " + " | ".join(align) + " |"]
    for row in rows:
        cells = [*row, *[""] * (len(columns) - len(row))][: len(columns)]
        lines.append("| " + " | ".join(_md(c) for c in cells) + " |")
    return lines


def to_markdown(document: Document) -> str:
    out = [f"# {_md(document.title)}", ""]
    out += [*_md_table(["Field", "Value"], [[k, v] for k, v in document.header]), ""]
    for section in document.sections:
        if not section.blocks:
            continue
        out += [f"## {_md(section.title)}", ""]
        for block in section.blocks:
            if isinstance(block, Lines):
                out += [f"- {_md(item)}" for item in block.items]
            else:
                if block.caption:
                    out += [f"**{_md(block.caption)}**", ""]
                out += _md_table(block.columns, block.rows, block.numeric)
            out.append("")
    return "\n".join(out).rstrip() + "\n"
