"""The one place that starts external programs (git, for now)."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

_USERINFO = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/@\s]+@", re.IGNORECASE)


def redact(text: str) -> str:
    """Hide credentials embedded in URLs (https://user:token@host) before printing."""
    return _USERINFO.sub(r"\g<scheme>***@", text)


@dataclass(frozen=True)
class Result:
    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def last_error_line(self) -> str:
        lines = [ln.strip() for ln in self.stderr.splitlines() if ln.strip()]
        # git prints "fatal:"/"error:" lines; prefer those over progress chatter.
        for ln in reversed(lines):
            if ln.startswith(("fatal:", "error:")):
                return redact(ln)
        return redact(lines[-1]) if lines else f"exit code {self.returncode}"


def git_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    # Never block on an interactive password prompt (parallel jobs, CI); credential
    # helpers and git's own configuration still apply.
    env["GIT_TERMINAL_PROMPT"] = "0"
    if extra:
        env.update(extra)
    return env


def run(
    args: Sequence[str],
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float | None = 600,
) -> Result:
    try:
        cp = subprocess.run(
            list(args),
            cwd=cwd,
            env=dict(env) if env is not None else None,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            # No stdin and no controlling terminal: ssh cannot stop a parallel run to ask for a
            # passphrase or a host key; it fails and we report it. (run() kills the child on
            # Ctrl-C, so it does not outlive us.)
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    except subprocess.TimeoutExpired:
        return Result(tuple(args), 124, "", f"fatal: timed out after {timeout:.0f}s")
    return Result(tuple(args), cp.returncode, cp.stdout, cp.stderr)


def git(
    *args: str,
    cwd: Path | None = None,
    timeout: float | None = 600,
    env: Mapping[str, str] | None = None,
) -> Result:
    return run(("git", *args), cwd=cwd, env=git_env(env), timeout=timeout)
