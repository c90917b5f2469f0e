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

_out = None
_err = None


def out():
    global _out
    if _out is None:
        from rich.console import Console

        _out = Console(highlight=False, soft_wrap=True)
    return _out


def err():
    global _err
    if _err is None:
        from rich.console import Console

        _err = Console(stderr=True, highlight=False, soft_wrap=True)
    return _err


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def warn(message: str) -> None:
    err().print(f"[yellow]warning:[/] {redact(message)}", markup=True)


def report_error(e: StackError) -> None:
    from rich.markup import escape

    err().print(f"[bold red]error:[/] {escape(redact(e.message))}")
    for d in e.details:
        err().print(f"  {escape(redact(d))}")
    if e.hint:
        err().print(f"[cyan]hint:[/] {escape(redact(e.hint))}")


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
