"""invoke tasks of the `oca` namespace: thin adapters over pin/sync/selection/deps."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from invoke import task

from ..core import config
from ..core.console import guarded, print_json, say, table, warn
from ..core.errors import BadInput, CheckFailed
from ..core.lock import read_lock, read_odoo_pin, write_lock

DEFAULT_JOBS = min(16, (os.cpu_count() or 2) * 4)  # network-bound: more than cores


def _jobs(jobs: int) -> int:
    if jobs < 1:
        raise BadInput(f"--jobs {jobs}: must be at least 1")
    return jobs


def _short(sha: str | None) -> str:
    return sha[:12] if sha else "-"


@task(
    help={
        "check": "exit 1 if stack.lock is missing an entry or stale; change nothing",
        "jobs": "parallel ls-remote calls",
        "json": "machine-readable output",
        "dry_run": "print what would change and stop",
    }
)
@guarded
def pin(c, check=False, jobs=DEFAULT_JOBS, json=False, dry_run=False):
    """Resolve each repo's ref (and Odoo's) to a commit (ls-remote) and write stack.lock."""
    from .odoo_pin import odoo_stale, resolve_odoo
    from .pin import apply_pin, plan_pin, resolve_all

    cfg = config.load()
    lock = read_lock(cfg.lock_file)
    odoo = read_odoo_pin(cfg.lock_file)
    plan = plan_pin(cfg, lock)
    odoo_why = odoo_stale(cfg, odoo)
    if check:
        if lock is None:
            raise CheckFailed(f"{cfg.lock_file} does not exist", hint="run: invoke oca.pin")
        if plan.stale or odoo_why:
            names = [r.name for r in plan.resolve] + list(plan.drop)
            raise CheckFailed(
                f"{cfg.lock_file} is stale against stack.toml",
                details=[f"{n}: {plan.reasons[n]}" for n in names]
                + ([f"odoo: {odoo_why}"] if odoo_why else []),
                hint="run: invoke oca.pin, and commit stack.lock",
            )
        if json:
            print_json({"stale": False, "repos": list(plan.keep)})
        else:
            say(f"stack.lock is up to date ({len(plan.keep)} repos)")
        return
    rows = [(n, "keep", "") for n in plan.keep]
    rows += [(r.name, "resolve", plan.reasons[r.name]) for r in plan.resolve]
    rows += [(n, "drop", plan.reasons[n]) for n in plan.drop]
    if cfg.odoo:
        rows.insert(0, ("odoo", "resolve" if odoo_why else "keep", odoo_why or ""))
    if dry_run:
        _table(["repo", "action", "why"], rows, json, key="plan")
        return
    resolved = resolve_all(plan.resolve, _jobs(jobs))
    if odoo_why:
        odoo = resolve_odoo(cfg)  # downloads the archive once to record its sha256
    new = apply_pin(cfg, lock, plan, resolved)
    changed = write_lock(cfg.lock_file, new, odoo if cfg.odoo else None)
    result = [
        (n, e.ref, _short(e.commit), "pinned" if n in resolved else "kept") for n, e in new.items()
    ] + [(n, (lock or {})[n].ref, _short((lock or {})[n].commit), "dropped") for n in plan.drop]
    if cfg.odoo and odoo:
        result.insert(0, ("odoo", odoo.ref, _short(odoo.commit), "pinned" if odoo_why else "kept"))
    _table(["repo", "ref", "commit", "status"], result, json, key="repos")
    if not json:
        say("stack.lock written" if changed else "stack.lock unchanged")


@task(
    iterable=["repo"],
    help={
        "repo": "only this repo (repeatable); default all",
        "json": "machine-readable output",
        "jobs": "parallel network calls",
        "dry_run": "show the changelog, keep stack.lock",
    },
)
@guarded
def update(c, repo=None, jobs=DEFAULT_JOBS, json=False, dry_run=False):
    """Move pins to each ref's current tip (Odoo's too) and print what changed per repo."""
    from .odoo_pin import update_odoo
    from .pin import update as do_update

    cfg = config.load()
    lock = read_lock(cfg.lock_file)
    names = list(repo or [])
    odoo, odoo_moved = read_odoo_pin(cfg.lock_file), None
    if cfg.odoo and (not names or "odoo" in names):
        odoo, odoo_moved = update_odoo(cfg, odoo, download=not dry_run)
    repo_names = [n for n in names if n != "odoo"]
    if names and not repo_names:  # only Odoo asked for
        new, changes = dict(lock or {}), []
    else:
        new, changes = do_update(cfg, lock, repo_names, _jobs(jobs))
    wrote = False
    if (changes or odoo_moved) and not dry_run:
        wrote = write_lock(cfg.lock_file, new, odoo if cfg.odoo else None)
    if json:
        print_json(
            {
                "changes": [ch.as_json() for ch in changes],
                "odoo": odoo_moved,
                "lock_written": wrote,
            }
        )
        return
    if odoo_moved:
        say(f"odoo: {_short(odoo_moved['old'])} -> {_short(odoo_moved['new'])}")
    if not changes and not odoo_moved:
        say("nothing moved: every pin is at its ref's tip; stack.lock left as is")
        return
    for ch in changes:
        if ch.old is None:
            say(f"{ch.name}: newly pinned at {_short(ch.new)}")
            continue
        say(f"{ch.name}: {_short(ch.old)} -> {_short(ch.new)}, {len(ch.commits)} commit(s)")
        if not ch.history_complete:
            warn(f"{ch.name}: the old commit is gone from the server; showing recent commits")
        if ch.dropped:
            warn(f"{ch.name}: history rewritten, {ch.dropped} commit(s) of the old pin dropped")
        for cm in ch.commits:
            say(f"  {cm.sha[:10]} {cm.subject}")
        if ch.touched:
            say(
                "  selected addons touched: "
                + ", ".join(f"{a} ({len(s)})" for a, s in ch.touched.items())
            )
        else:
            say("  no selected addon touched")
    say("stack.lock written" if wrote else "dry run: stack.lock left as is")


@task(
    iterable=["repo"],
    help={
        "jobs": "parallel fetches",
        "force": "discard local changes in checkouts",
        "repo": "only this repo (repeatable)",
        "json": "machine-readable output",
        "dry_run": "print what would be done and stop",
    },
)
@guarded
def sync(c, jobs=DEFAULT_JOBS, force=False, repo=None, json=False, dry_run=False):
    """Make external-src/<repo> a checkout of exactly the locked commit, in parallel."""
    from . import sync as s

    cfg = config.load()
    steps = s.plan_sync(cfg, read_lock(cfg.lock_file), force, _jobs(jobs), repo or None)
    refused = s.refusals(steps)
    if refused and not dry_run:
        raise BadInput(
            "local changes in " + ", ".join(f"{r.path} ({r.detail})" for r in refused),
            hint="commit, push or stash them, or pass --force to discard them",
        )
    if not dry_run:
        s.execute(steps, force, _jobs(jobs))
    for extra in s.strays(cfg):
        warn(f"{extra} is not a repo of stack.toml; left as is (delete it if unused)")
    done = {s.OK: "ok", s.CHECKOUT: "checked out", s.FETCH: "fetched"}
    rows = [
        (st.name, _short(st.entry.commit), st.action if dry_run else done[st.action], st.detail)
        for st in steps
    ]
    _table(["repo", "commit", "action" if dry_run else "done", "note"], rows, json, key="repos")


@task(
    help={
        "dest": "target folder (default build/addons)",
        "mode": "symlink (development) or copy (image build context)",
        "strict": "exit 1 on any reported problem",
        "json": "machine-readable output",
    }
)
@guarded
def flatten(c, dest=None, mode="symlink", strict=False, json=False):
    """Place every selected addon as DEST/<addon>, failing on name collisions."""
    from .flatten import PROVENANCE, materialize
    from .selection import provenance, select

    if mode not in ("symlink", "copy"):
        raise BadInput(f"--mode {mode!r}: must be symlink or copy")
    cfg = config.load()
    lock = read_lock(cfg.lock_file)
    sel = select(cfg, lock)
    _report_problems(sel.problems)
    if sel.collisions:
        raise CheckFailed(
            f"{len(sel.collisions)} addon name(s) provided by more than one source",
            details=[f"{col.addon}: " + " and ".join(col.paths) for col in sel.collisions],
            hint="remove one, or state the winner in stack.toml: [addons.prefer] <addon> = "
            '"<repo or path>"',
        )
    target = Path(dest) if dest else cfg.root / "build" / "addons"
    res = materialize(sel, target, mode, provenance(cfg, sel, lock or {}, _monorepo_head(cfg)))
    if json:
        print_json(
            {
                "dest": str(res.dest),
                "mode": mode,
                "addons": sorted(sel.selected),
                "problems": [p.__dict__ for p in sel.problems],
            }
        )
    else:
        say(
            f"{res.count} addons placed in {res.dest} ({mode}); "
            f"provenance in {res.dest / PROVENANCE}"
        )
    if strict and sel.problems:
        raise CheckFailed(f"{len(sel.problems)} problem(s) reported above (--strict)")


@task(
    help={
        "output": "requirements file to write (default build/requirements-addons.txt)",
        "json": "machine-readable output",
    }
)
@guarded
def deps(c, output=None, json=False):
    """Check every dependency is met by the selected addons plus Odoo CE core."""
    from ..core.fs import atomic_write_text
    from .deps import check, render_requirements
    from .selection import select

    cfg = config.load()
    sel = select(cfg, read_lock(cfg.lock_file))
    _report_problems([p for p in sel.problems if p.kind == "bad-manifest"])
    rep = check(sel, cfg.odoo_version, {r.name for r in cfg.repos})
    target = Path(output) if output else cfg.root / "build" / "requirements-addons.txt"
    if not rep.conflicts and not rep.invalid:
        atomic_write_text(target, render_requirements(rep, cfg.odoo_version))
    if json:
        print_json(
            {
                "ok": rep.ok,
                "missing": [m.__dict__ for m in rep.missing],
                "requirements": rep.requirements,
                "conflicts": rep.conflicts,
                "invalid": rep.invalid,
                "core": rep.core_used,
            }
        )
    lines = []
    for m in rep.missing:
        who = ", ".join(m.needed_by)
        if m.kind == "enterprise":
            lines.append(f"{m.addon} (needed by {who}) is Odoo Enterprise: not allowed, CE only")
        elif m.kind == "unselected":
            lines.append(
                f"{m.addon} (needed by {who}) is in repo {m.repo} but not selected: "
                f"add {m.addon!r} to [repos.{m.repo}] addons"
            )
        elif m.kind == "not-installable":
            lines.append(
                f"{m.addon} (needed by {who}) is installable: False in {m.repo} "
                f"(not ported to {cfg.odoo_version}?)"
            )
        else:
            lines.append(f"{m.addon} (needed by {who}) is in no pinned repo and not in Odoo CE")
    lines += [f"conflict: {x}" for x in rep.conflicts] + [f"invalid: {x}" for x in rep.invalid]
    if lines:
        raise CheckFailed(
            f"{len(lines)} dependency problem(s)",
            details=lines,
            hint="select or add the addons named above, then run oca.pin/oca.sync",
        )
    if not json:
        say(
            f"all dependencies met: {len(sel.selected)} selected addons, "
            f"{len(rep.core_used)} Odoo CE core addons used; "
            f"{len(rep.requirements)} Python requirement(s) -> {target}"
        )


@task(
    help={
        "url": "git URL of the repo",
        "addons": "comma-separated addon names, or '*'",
        "name": "repo name (default: from the URL)",
        "ref": "branch/tag/ref (default: the Odoo version)",
    }
)
@guarded
def add(c, url, addons="", name=None, ref=None):
    """Add a repo to stack.toml in place (comments and layout kept)."""
    from .edit import add_repo

    root = config.find_root()
    wanted = [a.strip() for a in addons.split(",") if a.strip()]
    added = add_repo(root, url, wanted, name=name, ref=ref)
    say(f"added [repos.{added}] to stack.toml; next: invoke oca.pin && invoke oca.sync")


def _report_problems(problems) -> None:
    for p in problems:
        warn(f"{p.where}: {p.message}")


def _monorepo_head(cfg: config.StackConfig) -> str | None:
    from ..core.proc import git

    res = git("rev-parse", "HEAD", cwd=cfg.root)
    return res.stdout.strip() if res.ok else None


def _table(headers: list[str], rows: list[tuple], as_json: bool, key: str) -> None:
    if as_json:
        print_json({key: [dict(zip(headers, r, strict=True)) for r in rows]})
    else:
        sys.stdout.write(table(headers, rows))
