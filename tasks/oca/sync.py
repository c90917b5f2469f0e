"""oca.sync: make external-src/<repo> a checkout of exactly the locked commit."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..core.config import StackConfig
from ..core.errors import BadInput
from ..core.lock import LockEntry
from ..core.parallel import run_parallel
from . import gitops

# Actions, cheapest first. Only "fetch" touches the network.
OK, CHECKOUT, FETCH, REFUSE = "ok", "checkout", "fetch", "refuse"


@dataclass(frozen=True)
class SyncStep:
    name: str
    path: Path
    entry: LockEntry
    action: str
    detail: str = ""


def plan_sync(
    cfg: StackConfig,
    lock: Mapping[str, LockEntry] | None,
    force: bool,
    jobs: int,
    only: list[str] | None = None,
) -> list[SyncStep]:
    if lock is None:
        raise BadInput("stack.lock not found", hint="run: invoke oca.pin")
    unlocked = [r.name for r in cfg.repos if r.name not in lock]
    if unlocked:
        raise BadInput(
            f"stack.lock has no entry for {', '.join(unlocked)}", hint="run: invoke oca.pin"
        )
    for n in only or []:
        cfg.repo(n)
    entries = [lock[r.name] for r in cfg.repos if not only or r.name in only]

    def one(e: LockEntry) -> SyncStep:
        path = cfg.external_path / e.name
        # Already there: nothing to do and nothing to ask git (local edits stay untouched;
        # oca.flatten reports them, since they would end up in an image).
        if gitops.read_head(path) == e.commit:
            return SyncStep(e.name, path, e, OK)
        st = gitops.state(path)
        if st.head == e.commit:
            return SyncStep(e.name, path, e, OK)
        if st.exists and st.head is None and not (path / ".git").exists():
            return SyncStep(e.name, path, e, REFUSE, "folder exists and is not a git checkout")
        unpushed = gitops.unpushed_commits(path) if st.head else 0
        if (st.changes or unpushed) and not force:
            what = []
            if st.changes:
                what.append(f"{len(st.changes)} uncommitted/untracked change(s)")
            if unpushed:
                what.append(f"{unpushed} commit(s) no branch holds")
            return SyncStep(e.name, path, e, REFUSE, " and ".join(what))
        if st.head and gitops.has_commit(path, e.commit):
            return SyncStep(e.name, path, e, CHECKOUT)
        return SyncStep(e.name, path, e, FETCH)

    return run_parallel(entries, one, jobs, "checking", name=lambda e: e.name, progress=False)


def refusals(steps: list[SyncStep]) -> list[SyncStep]:
    return [s for s in steps if s.action == REFUSE]


def execute(steps: list[SyncStep], force: bool, jobs: int) -> list[SyncStep]:
    todo = [s for s in steps if s.action in (CHECKOUT, FETCH)]

    def one(s: SyncStep) -> SyncStep:
        gitops.ensure_repo(s.path, s.entry.url)
        if s.action == FETCH:
            gitops.fetch_commit(s.name, s.path, s.entry.url, s.entry.commit, s.entry.ref)
        gitops.checkout(s.path, s.entry.commit, force=force)
        return s

    run_parallel(todo, one, jobs, "syncing", name=lambda s: s.name)
    return todo


def strays(cfg: StackConfig) -> list[Path]:
    """Folders in external-src/ that no repo of stack.toml owns (left alone, reported)."""
    try:
        entries = list(cfg.external_path.iterdir())
    except FileNotFoundError:
        return []
    names = {r.name for r in cfg.repos}
    return sorted(
        p for p in entries if p.is_dir() and not p.name.startswith(".") and p.name not in names
    )
