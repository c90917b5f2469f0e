"""Expected failures, each with the exit code DESIGN.md assigns to it."""

from __future__ import annotations


class StackError(Exception):
    """A failure we expected and can explain in one line plus a hint."""

    exit_code = 2

    def __init__(self, message: str, hint: str | None = None, details: list[str] | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.details = details or []


class BadInput(StackError):
    """Config, flags, secrets or arguments are wrong: exit 2."""

    exit_code = 2


class CheckFailed(StackError):
    """A check or gate failed (collision, missing dependency, stale lock...): exit 1."""

    exit_code = 1
