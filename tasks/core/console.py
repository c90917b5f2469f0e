"""Console output: human tables on stdout, errors on stderr, JSON behind --json."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import Any

from invoke import Exit

from .errors import StackError
from .proc import redact

_err = None


def err():
    """rich console on stderr, for progress bars."""
    global _err
    if _err is None:
        from rich.console import Console

        _err = Console(stderr=True, highlight=False, soft_wrap=True)
    return _err


def say(message: str) -> None:
    sys.stdout.write(redact(message) + "\n")
    sys.stdout.flush()


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def _label(text: str, color: str) -> str:
    # Plain writes, not rich: the fast paths (no-op sync) should not pay rich's import.
    return f"\033[{color}m{text}\033[0m" if sys.stderr.isatty() else text


def warn(message: str) -> None:
    sys.stderr.write(f"{_label('warning:', '33')} {redact(message)}\n")


def report_error(e: StackError) -> None:
    lines = [f"{_label('error:', '1;31')} {redact(e.message)}"]
    lines += [f"  {redact(d)}" for d in e.details]
    if e.hint:
        lines.append(f"{_label('hint:', '36')} {redact(e.hint)}")
    sys.stderr.write("\n".join(lines) + "\n")


def table(headers: list[str], rows: list[tuple]) -> str:
    """A plain aligned text table (rich's Table costs ~0.1 s to import for what this does)."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    return "".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() + "\n" for r in cells
    )


def guarded(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn expected failures into an `error:`/`hint:` pair and their exit code."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except StackError as e:
            report_error(e)
            raise Exit(code=e.exit_code) from None

    return wrapper


class step:
    """Announce a long step on stderr and how long it took."""

    _last: step | None = None  # the step announced last: overlapping steps name themselves

    def __init__(self, what: str):
        self.what = what
        self.seconds = 0.0

    def __enter__(self) -> step:
        import time

        self._t = time.monotonic()
        step._last = self
        sys.stderr.write(f"{_label('-->', '36')} {self.what} ...\n")
        sys.stderr.flush()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        import time

        self.seconds = time.monotonic() - self._t
        if exc_type is None:
            # Steps that run side by side (a restore's database and filestore) finish in
            # any order: a done line that does not follow its own start says whose it is.
            whose = "" if step._last is self else f" ({self.what})"
            sys.stderr.write(f"    done in {self.seconds:.1f}s{whose}\n")
