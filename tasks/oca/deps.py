"""Dependency closure of the selected addons against themselves, then Odoo CE core.

Enterprise addons are always an error: this stack is CE only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from manifestoo_core.core_addons import is_core_ce_addon, is_core_ee_addon
from manifestoo_core.odoo_series import OdooSeries
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from .selection import Selection


@dataclass(frozen=True)
class Missing:
    addon: str
    needed_by: tuple[str, ...]
    kind: str  # missing | enterprise | unselected | not-installable
    repo: str | None = None  # for "unselected": the pinned repo that has it


@dataclass
class DepsReport:
    missing: list[Missing] = field(default_factory=list)
    requirements: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)
    core_used: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.missing and not self.conflicts and not self.invalid


def check(sel: Selection, odoo_version: str, repo_names: set[str]) -> DepsReport:
    series = OdooSeries(odoo_version)
    report = DepsReport()
    needed_by: dict[str, set[str]] = {}
    core: set[str] = set()
    seen: set[str] = set()
    # Walk through unselected-but-available addons too, so one run lists all to add.
    stack = list(sel.selected)
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        addon = sel.selected.get(name) or _available_in_repo(sel, name, repo_names)
        if addon is None:
            continue
        for dep in addon.depends:
            if dep in sel.selected:
                stack.append(dep)
            elif is_core_ce_addon(dep, series):
                core.add(dep)
            else:
                needed_by.setdefault(dep, set()).add(name)
                stack.append(dep)
    for dep in sorted(needed_by):
        who = tuple(sorted(needed_by[dep]))
        if is_core_ee_addon(dep, series):
            report.missing.append(Missing(dep, who, "enterprise"))
            continue
        avail = _available_in_repo(sel, dep, repo_names)
        found = sel.available.get(dep, [])
        if avail is not None:
            report.missing.append(Missing(dep, who, "unselected", avail.source))
        elif found:
            report.missing.append(Missing(dep, who, "not-installable", found[0].source))
        else:
            report.missing.append(Missing(dep, who, "missing"))
    report.core_used = sorted(core)
    _requirements(sel, report)
    return report


def _available_in_repo(sel: Selection, name: str, repo_names: set[str]):
    for a in sel.available.get(name, []):
        if a.source in repo_names and a.installable:
            return a
    return None


def _requirements(sel: Selection, report: DepsReport) -> None:
    by_key: dict[tuple[str, str], list[tuple[Requirement, str]]] = {}
    for name in sorted(sel.selected):
        for raw in sel.selected[name].python_requirements:
            try:
                req = Requirement(raw)
            except InvalidRequirement as e:
                report.invalid.append(f"{name}: {raw!r} is not a valid requirement ({e})")
                continue
            key = (canonicalize_name(req.name), str(req.marker or ""))
            by_key.setdefault(key, []).append((req, name))
    for (_cname, marker), reqs in sorted(by_key.items()):
        spec = reqs[0][0].specifier
        extras: set[str] = set()
        for req, _who in reqs:
            spec &= req.specifier
            extras |= req.extras
        if not _satisfiable(spec):
            who = ", ".join(f"{w} wants {r}" for r, w in reqs)
            report.conflicts.append(f"{reqs[0][0].name}: no version satisfies {spec} ({who})")
            continue
        line = reqs[0][0].name + (f"[{','.join(sorted(extras))}]" if extras else "") + str(spec)
        if marker:
            line += f"; {marker}"
        addons = sorted({w for _r, w in reqs})
        report.requirements.append(f"{line}  # {', '.join(addons)}")


def _satisfiable(spec) -> bool:
    """Whether some version meets every specifier (checked on the versions they mention).

    Sufficient for the bounds and pins manifests use; a candidate list, not a solver.
    """
    if not list(spec):
        return True
    cands: set[str] = {"0"}
    for s in spec:
        v = s.version.replace(".*", "")
        try:
            base = Version(v)
        except InvalidVersion:
            return True  # arbitrary-equality and the like: do not second-guess
        rel = list(base.release)
        cands |= {str(base), ".".join(map(str, [*rel, 1])), ".".join(map(str, [*rel, 999]))}
        cands.add(".".join(map(str, [*rel[:-1], rel[-1] + 1])))
        if rel[-1] > 0:
            cands.add(".".join(map(str, [*rel[:-1], rel[-1] - 1, 999])))
    return any(spec.contains(c, prereleases=True) for c in cands)


def render_requirements(report: DepsReport, odoo_version: str) -> str:
    head = (
        f"# Python dependencies of the selected addons (Odoo {odoo_version}).\n"
        "# Written by `invoke oca.deps` from the addons' external_dependencies; do not edit.\n"
    )
    return head + "".join(r + "\n" for r in report.requirements)
