"""Progress reporting for stages: rich bars on a terminal, quiet lines otherwise."""
from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import TypeVar

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress as RichProgress, TextColumn, TimeElapsedColumn

T = TypeVar("T")


class Progress:
    def __init__(self, console: Console | None = None, enabled: bool = True):
        self.console = console or Console(stderr=True)
        self.enabled = enabled and self.console.is_terminal

    def log(self, message: str) -> None:
        self.console.print(message, highlight=False)

    def track(self, items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
        """Iterate with a progress bar (epochs, batches, test vectors...)."""
        if not self.enabled:
            yield from items
            return
        with RichProgress(
            TextColumn("  {task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=self.console, transient=True,
        ) as bar:
            task = bar.add_task(description, total=total if total is not None else _len(items))
            for item in items:
                yield item
                bar.advance(task)

    @contextlib.contextmanager
    def status(self, description: str) -> Iterator[None]:
        """A spinner for one long call with no natural steps (conversion, debootstrap...)."""
        if not self.enabled:
            yield
            return
        with self.console.status(f"  {description}"):
            yield


def _len(items: Iterable) -> int | None:
    try:
        return len(items)  # type: ignore[arg-type]
    except TypeError:
        return None
