"""`pipeline compare A.json B.json ... [--markdown] [--html out.html] [--baseline B --fail-on RULES]`."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

from rich.console import Console
from rich.text import Text

from ..atomic import write_text
from ..errors import PipelineError
from . import gate as gate_mod
from .io import read_report
from .render_text import markdown as to_markdown
from .render_text import print_terminal
from .table import build_table, column_names


def _console() -> Console:
    # Piped output (CI logs) has no terminal width; 80 columns would fold every cell.
    width = None if sys.stdout.isatty() else max(160, shutil.get_terminal_size((160, 40)).columns)
    return Console(width=width, highlight=False, soft_wrap=False)


def compare_command(paths: list[Path], markdown: bool = False, html: Path | None = None,
                    baseline: Path | None = None, fail_on: str | None = None) -> int:
    """Print the comparison; return 1 when the regression gate fails, else 0.

    Raises PipelineError (one line) for unreadable/invalid reports and bad `fail_on` syntax.
    """
    # Parse the rules before reading any file: a typo in the gate should not cost a long read.
    rules = gate_mod.parse_fail_on(fail_on) if fail_on is not None else None
    if rules is not None and baseline is None:
        raise PipelineError("--fail-on needs --baseline BASE.json to compare against")
    if not paths:
        raise PipelineError("compare needs at least one report file")
    paths = [Path(p) for p in paths]
    reports = [read_report(p) for p in paths]
    roles = [""] * len(reports)
    base_report = None
    if baseline is not None:
        base_report = read_report(baseline)
        if base_report.get("status") != "complete" and rules:
            why = base_report.get("error", "")
            raise PipelineError(f"{baseline}: the baseline report is incomplete ({why}); cannot gate against it")
        reports, paths, roles = [base_report, *reports], [Path(baseline), *paths], ["baseline", *roles]

    names = column_names(reports, roles)
    table = build_table(reports, names, files=[str(p) for p in paths])

    failures: list[str] = []
    notes: list[str] = []
    if rules and base_report is not None:
        for report, name in zip(reports[1:], names[1:]):
            result = gate_mod.check(report, base_report, rules, name)
            failures += result.failures
            notes += result.notes

    console = _console()
    if markdown:
        sys.stdout.write(to_markdown(table))
    else:
        print_terminal(table, console)
    for note in notes:
        console.print(Text(f"gate: {note}", style="yellow"))
    for line in failures:
        console.print(Text(f"REGRESSION {line}", style="bold red"))
    if rules:
        n = len(failures)
        verdict = f"gate: FAILED ({n} regression{'s' * (n != 1)})" if failures else "gate: passed"
        console.print(Text(verdict, style="bold red" if failures else "bold green"))

    if html is not None:
        from .render_html import render  # matplotlib: loaded only when a chart is wanted

        page = render(reports, names, table, failures if rules else None, notes if rules else None)
        try:
            write_text(html, page)
        except OSError as err:
            raise PipelineError(f"{html}: cannot write the HTML report: {err.strerror or err}") from None
        console.print(Text(f"wrote {html}"))
    return 1 if failures else 0
