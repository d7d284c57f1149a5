"""Terminal (rich) and GitHub Markdown renderings of a comparison Table."""
from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table as RichTable
from rich.text import Text

from .table import NOT_COMPARABLE, Table


def rich_table(table: Table) -> RichTable:
    out = RichTable(box=box.SIMPLE_HEAVY, show_lines=False, header_style="bold")
    out.add_column("metric", style="bold", no_wrap=True)
    for h in table.headers:
        out.add_column(Text(h), overflow="fold")
    for title, cells in table.rows:
        # Text(): report strings are data, never rich markup ("[x]" must print as is).
        out.add_row(Text(title), *(Text(c, style="yellow" if c == NOT_COMPARABLE else "") for c in cells))
    return out


def print_terminal(table: Table, console: Console) -> None:
    console.print(rich_table(table))
    for note in table.notes:
        console.print(Text(note, style="yellow"))


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(table: Table) -> str:
    lines = [
        "| metric | " + " | ".join(_md_cell(h) for h in table.headers) + " |",
        "|---|" + "---|" * len(table.headers),
    ]
    for title, cells in table.rows:
        lines.append(f"| {_md_cell(title)} | " + " | ".join(_md_cell(c) for c in cells) + " |")
    if table.notes:
        lines.append("")
        lines.extend(f"> {_md_cell(n)}" for n in table.notes)
    return "\n".join(lines) + "\n"
