"""Which addons the stack uses, from which source, and what is wrong with them.

Priority: custom [addons] paths (in order) > pinned repos (stack.toml order) > Odoo core.
The same name in two sources is a collision unless [addons.prefer] names the winner.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from manifestoo_core.core_addons import is_core_ce_addon
from manifestoo_core.odoo_series import OdooSeries

from ..core.config import StackConfig
from ..core.errors import BadInput
from ..core.lock import LockEntry
from ..core.parallel import run_parallel
from ..core.proc import redact
from . import gitops
from .manifests import Addon, BadManifest, discover

CORE = "odoo-core"


@dataclass(frozen=True)
class Problem:
    kind: str  # bad-manifest | not-found | not-installable | version
    where: str
    message: str


@dataclass(frozen=True)
class Collision:
    addon: str
    paths: tuple[str, ...]  # every source that has it, highest priority first


@dataclass
class Selection:
    selected: dict[str, Addon] = field(default_factory=dict)  # winners, in priority order
    available: dict[str, list[Addon]] = field(default_factory=dict)  # every addon found
    collisions: list[Collision] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    explicit: dict[str, str] = field(default_factory=dict)  # addon -> repo that named it
    dirty: set[str] = field(default_factory=set)  # repos with local changes


def _rel(cfg: StackConfig, path: Path) -> str:
    try:
        return str(path.relative_to(cfg.root))
    except ValueError:
        return str(path)


def select(cfg: StackConfig, lock: Mapping[str, LockEntry] | None) -> Selection:
    sel = Selection()
    series = OdooSeries(cfg.odoo_version)
    candidates: dict[str, list[Addon]] = {}

    def note_bad(bad: list[BadManifest]) -> None:
        for b in bad:
            sel.problems.append(Problem("bad-manifest", _rel(cfg, b.path), b.reason))

    for p in cfg.addon_paths:
        if not (cfg.root / p).is_dir():
            raise BadInput(
                f"[addons] paths: {p!r} is not a folder in {cfg.root}",
                hint="create it, or remove it from [addons] paths in stack.toml",
            )
        found, bad = discover(cfg.root / p, p)
        note_bad(bad)
        for a in found.values():
            sel.available.setdefault(a.name, []).append(a)
            if a.installable:
                candidates.setdefault(a.name, []).append(a)

    for repo in cfg.repos:
        folder = cfg.external_path / repo.name
        if lock is None or repo.name not in lock:
            raise BadInput(
                f"stack.lock has no entry for repo {repo.name}", hint="run: invoke oca.pin"
            )
        if not (folder / ".git").exists():
            raise BadInput(
                f"repo {repo.name} is not checked out at {_rel(cfg, folder)}",
                hint="run: invoke oca.sync",
            )
        found, bad = discover(folder, repo.name)
        note_bad(bad)
        for a in found.values():
            sel.available.setdefault(a.name, []).append(a)
        if repo.all_addons:
            chosen = [a for a in found.values() if a.installable]
        else:
            chosen = []
            for name in repo.addons:
                sel.explicit[name] = repo.name
                a = found.get(name)
                where = f"{_rel(cfg, folder)}/{name}"
                if a is None:
                    sel.problems.append(
                        Problem(
                            "not-found",
                            where,
                            f"[repos.{repo.name}] names {name!r}, "
                            f"which is not an addon of {repo.name} at {lock[repo.name].ref}",
                        )
                    )
                elif not a.installable:
                    sel.problems.append(
                        Problem(
                            "not-installable",
                            where,
                            f"{name} is installable: False "
                            f"in {repo.name} (not ported to {cfg.odoo_version}?)",
                        )
                    )
                else:
                    chosen.append(a)
        for a in chosen:
            candidates.setdefault(a.name, []).append(a)

    for name, cands in candidates.items():
        pref = cfg.prefer.get(name)
        core = is_core_ce_addon(name, series)
        if pref:
            winner = next((a for a in cands if a.source == pref), None)
            if winner is None and pref != CORE:
                raise BadInput(
                    f"[addons.prefer] {name} = {pref!r}, but {pref} does not provide {name}",
                    hint="name a source that has it: " + ", ".join(a.source for a in cands),
                )
            if winner is not None:
                sel.selected[name] = winner
            continue
        if len(cands) > 1 or core:
            paths = [_rel(cfg, a.path) for a in cands] + ([f"odoo core ({name})"] if core else [])
            sel.collisions.append(Collision(name, tuple(paths)))
            continue
        sel.selected[name] = cands[0]

    _local_changes(cfg, sel)
    prefix = cfg.odoo_version + "."
    for a in sel.selected.values():
        v = a.version
        if v is None or not v.startswith(prefix):
            sel.problems.append(
                Problem(
                    "version",
                    _rel(cfg, a.path / "__manifest__.py"),
                    f"version {v!r} does not start with {prefix!r}",
                )
            )
    return sel


def _local_changes(cfg: StackConfig, sel: Selection) -> None:
    """Checkouts whose files differ from their locked commit: what gets flattened (and
    maybe shipped in an image) is then not what stack.lock says."""
    used = sorted({a.source for a in sel.selected.values()} & {r.name for r in cfg.repos})
    states = run_parallel(
        used, lambda n: gitops.state(cfg.external_path / n), 8, "checking", progress=False
    )
    for name, st in zip(used, states, strict=True):
        if st.changes:
            sel.dirty.add(name)
            sel.problems.append(
                Problem(
                    "local-changes",
                    f"{cfg.external_dir}/{name}",
                    f"{len(st.changes)} local change(s): the flattened addons differ from the "
                    "locked commit (commit, stash or `invoke oca.sync --force`)",
                )
            )


def provenance(
    cfg: StackConfig, sel: Selection, lock: Mapping[str, LockEntry], monorepo_commit: str | None
) -> dict:
    """addon -> where it came from, for the image to embed."""
    repos = {r.name for r in cfg.repos}
    out: dict[str, dict] = {}
    for name in sorted(sel.selected):
        a = sel.selected[name]
        rec: dict[str, str | None] = {"path": _rel(cfg, a.path), "version": a.version}
        if a.source in repos:
            e = lock[a.source]
            rec.update(source="repo", repo=a.source, url=redact(e.url), ref=e.ref, commit=e.commit)
            if a.source in sel.dirty:
                rec["local_changes"] = True
        else:
            rec.update(source="custom", repo=None, url=None, ref=None, commit=monorepo_commit)
        out[name] = rec
    return {"odoo_version": cfg.odoo_version, "addons": out}
