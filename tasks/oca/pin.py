"""oca.pin and oca.update: resolve refs to commits and keep stack.lock in step with stack.toml."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ..core.config import RepoSpec, StackConfig
from ..core.errors import BadInput
from ..core.lock import LockEntry
from ..core.parallel import run_parallel
from . import gitops


@dataclass(frozen=True)
class PinPlan:
    keep: tuple[str, ...]
    resolve: tuple[RepoSpec, ...]  # new in stack.toml, or url/ref changed
    drop: tuple[str, ...]  # locked, but no longer in stack.toml
    reasons: Mapping[str, str] = field(default_factory=dict)

    @property
    def stale(self) -> bool:
        return bool(self.resolve or self.drop)


def plan_pin(cfg: StackConfig, lock: Mapping[str, LockEntry] | None) -> PinPlan:
    """Pure: what oca.pin has to do. A locked repo keeps its commit unless url/ref changed."""
    lock = lock or {}
    keep, resolve, reasons = [], [], {}
    for r in cfg.repos:
        e = lock.get(r.name)
        if e is None:
            resolve.append(r)
            reasons[r.name] = "not in stack.lock"
        elif e.url != r.url:
            resolve.append(r)
            reasons[r.name] = "url changed in stack.toml"
        elif e.ref != r.ref:
            resolve.append(r)
            reasons[r.name] = f"ref changed in stack.toml ({e.ref} -> {r.ref})"
        else:
            keep.append(r.name)
    wanted = {r.name for r in cfg.repos}
    drop = sorted(n for n in lock if n not in wanted)
    for n in drop:
        reasons[n] = "no longer in stack.toml"
    return PinPlan(tuple(keep), tuple(resolve), tuple(drop), reasons)


def resolve_all(repos: Iterable[RepoSpec], jobs: int) -> dict[str, LockEntry]:
    repos = list(repos)

    def one(r: RepoSpec) -> LockEntry:
        return LockEntry(r.name, r.url, r.ref, gitops.resolve(r.name, r.url, r.ref).commit)

    entries = run_parallel(repos, one, jobs, "resolving refs", name=lambda r: r.name)
    return {e.name: e for e in entries}


def apply_pin(
    cfg: StackConfig,
    lock: Mapping[str, LockEntry] | None,
    plan: PinPlan,
    resolved: Mapping[str, LockEntry],
) -> dict[str, LockEntry]:
    lock = lock or {}
    new = {n: lock[n] for n in plan.keep}
    new.update(resolved)
    return {r.name: new[r.name] for r in cfg.repos}


@dataclass(frozen=True)
class RepoChange:
    name: str
    old: str | None
    new: str
    commits: tuple[gitops.Commit, ...]
    touched: Mapping[str, tuple[str, ...]]  # selected addon -> short shas that touched it
    dropped: int = 0
    history_complete: bool = True

    def as_json(self) -> dict:
        return {
            "repo": self.name,
            "old": self.old,
            "new": self.new,
            "commits": [{"sha": c.sha, "subject": c.subject} for c in self.commits],
            "touched_addons": {k: list(v) for k, v in self.touched.items()},
            "dropped_commits": self.dropped,
            "history_complete": self.history_complete,
        }


def changelog(cfg: StackConfig, repo: RepoSpec, old: str | None, new: str) -> RepoChange:
    """What moved between two pins, from commits and trees only (no file contents)."""
    if old is None:
        return RepoChange(repo.name, None, new, (), {})
    cache = cfg.external_path / ".history" / f"{repo.name}.git"
    hist = gitops.history(cache, repo.url, old, new)
    if repo.all_addons:
        selected = gitops.tree_addons(cache, new) | gitops.tree_addons(cache, old)
    else:
        selected = set(repo.addons)
    touched: dict[str, list[str]] = {}
    for c in hist.commits:
        for f in c.files:
            top = f.split("/", 1)[0]
            if top in selected and c.sha[:10] not in touched.get(top, []):
                touched.setdefault(top, []).append(c.sha[:10])
    return RepoChange(
        repo.name,
        old,
        new,
        hist.commits,
        {k: tuple(v) for k, v in sorted(touched.items())},
        hist.dropped,
        hist.complete,
    )


def update(
    cfg: StackConfig, lock: Mapping[str, LockEntry] | None, names: Iterable[str], jobs: int
) -> tuple[dict[str, LockEntry], list[RepoChange]]:
    """Move the named repos (all when none) to their current tips."""
    lock = dict(lock or {})
    names = list(names)
    for n in names:
        cfg.repo(n)  # raises BadInput with a did-you-mean
    targets = [r for r in cfg.repos if not names or r.name in names]
    resolved = resolve_all(targets, jobs)

    def one(r: RepoSpec) -> RepoChange | None:
        old = lock.get(r.name)
        new = resolved[r.name].commit
        same_source = old is not None and old.url == r.url and old.ref == r.ref
        if same_source and old.commit == new:
            return None
        return changelog(cfg, r, old.commit if old else None, new)

    changes = [
        c
        for c in run_parallel(targets, one, jobs, "reading changelogs", name=lambda r: r.name)
        if c
    ]
    new_lock = {n: e for n, e in lock.items() if any(r.name == n for r in cfg.repos)}
    new_lock.update(resolved)
    if set(new_lock) != {r.name for r in cfg.repos}:
        missing = sorted({r.name for r in cfg.repos} - set(new_lock))
        raise BadInput(f"stack.lock lacks {', '.join(missing)}", hint="run: invoke oca.pin")
    return {r.name: new_lock[r.name] for r in cfg.repos}, changes
