"""A rich progress bar over the simulated users, on standard error (stdout stays clean)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from liftlab.simulate.model import Counts

Advance = Callable[[Counts], None]


@contextmanager
def user_progress(label: str, total_users: int, enabled: bool = True) -> Iterator[Advance]:
    """Yield ``advance(counts)``, called once per generated chunk; a no-op when disabled."""
    if not enabled:
        yield lambda counts: None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("users · {task.fields[events]:,} events"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True)) as bar:
        task = bar.add_task(label, total=total_users, events=0)
        done = Counts()

        def advance(counts: Counts) -> None:
            nonlocal done
            done += counts
            bar.update(task, advance=counts.users, events=done.events)

        yield advance
