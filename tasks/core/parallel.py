"""Run one function over many items in threads, with a progress bar on stderr."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def run_parallel(
    items: Sequence[T],
    fn: Callable[[T], R],
    jobs: int,
    label: str,
    name: Callable[[T], str] = str,
    progress: bool = True,
) -> list[R]:
    """Results in the order of ``items``; the first exception is raised after all finish."""
    if not items:
        return []
    results: dict[int, R] = {}
    errors: list[tuple[int, BaseException]] = []

    def consume(futs, advance: Callable[[str], None]) -> None:
        for fut in as_completed(futs):
            i = futs[fut]
            try:
                results[i] = fut.result()
            except Exception as e:
                errors.append((i, e))
            advance(name(items[i]))

    with ThreadPoolExecutor(max_workers=max(1, min(jobs, len(items)))) as pool:
        futs = {pool.submit(fn, it): i for i, it in enumerate(items)}
        if progress and len(items) > 1 and sys.stderr.isatty():
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            from .console import err

            cols = (
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[last]}"),
            )
            with Progress(*cols, console=err(), transient=True) as bar:
                t = bar.add_task(label, total=len(items), last="")
                consume(futs, lambda n: bar.update(t, advance=1, last=n))
        else:
            consume(futs, lambda n: None)
    if errors:
        raise sorted(errors, key=lambda x: x[0])[0][1]
    return [results[i] for i in range(len(items))]
