from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet

from tasks.oca.deps import _satisfiable, check
from tasks.oca.manifests import Addon
from tasks.oca.selection import Selection


@pytest.mark.parametrize(
    ("spec", "ok"),
    [
        ("", True),
        (">=1,<2", True),
        (">1,<2", True),
        ("<2,>=3", False),
        ("==1.5,>=2", False),
        ("==2.1,>=2", True),
        ("~=2.0,<2.0", False),
        ("!=1.0", True),
        ("==1.*,>=1.4", True),
    ],
)
def test_satisfiable(spec, ok):
    assert _satisfiable(SpecifierSet(spec)) is ok


def addon(name, source, depends=("base",), python=(), installable=True):
    m = {
        "depends": list(depends),
        "installable": installable,
        "external_dependencies": {"python": list(python)},
    }
    return Addon(name, Path("/x") / name, source, m)


def selection(selected, available=()):
    sel = Selection()
    for a in selected:
        sel.selected[a.name] = a
        sel.available.setdefault(a.name, []).append(a)
    for a in available:
        sel.available.setdefault(a.name, []).append(a)
    return sel


def test_missing_unselected_enterprise_and_requirements():
    sel = selection(
        [
            addon(
                "mine",
                "addons",
                ["sale", "queue_job", "helpdesk", "nowhere"],
                ["requests>=2", "XlsxWriter"],
            ),
            addon("other", "web", ["web"], ["requests<3", "xlsxwriter"]),
        ],
        available=[
            addon("queue_job", "queue", ["mail", "base_sparse_field", "job_dep"]),
            addon("job_dep", "queue"),
        ],
    )
    rep = check(sel, "19.0", {"web", "queue"})
    got = {m.addon: (m.kind, m.needed_by, m.repo) for m in rep.missing}
    assert got["queue_job"] == ("unselected", ("mine",), "queue")
    # followed through the unselected addon: one run names everything to add
    assert got["job_dep"] == ("unselected", ("queue_job",), "queue")
    assert got["helpdesk"][0] == "enterprise"
    assert got["nowhere"] == ("missing", ("mine",), None)
    assert "sale" in rep.core_used and "sale" not in got
    assert rep.requirements == ["requests<3,>=2  # mine, other", "XlsxWriter  # mine, other"]
    assert not rep.ok


def test_conflicting_specifiers_are_reported():
    sel = selection(
        [addon("a", "addons", python=["lxml<5"]), addon("b", "addons", python=["lxml>=5.1"])]
    )
    rep = check(sel, "19.0", set())
    assert rep.conflicts and "lxml" in rep.conflicts[0] and "a wants" in rep.conflicts[0]
    assert not rep.ok


def test_invalid_requirement_is_reported():
    rep = check(selection([addon("a", "addons", python=["not a req!!"])]), "18.0", set())
    assert rep.invalid and rep.invalid[0].startswith("a: ")


def test_dependency_on_a_not_installable_addon_says_so():
    sel = selection(
        [addon("mine", "addons", ["old_one"])],
        available=[addon("old_one", "web", installable=False)],
    )
    (m,) = check(sel, "19.0", {"web"}).missing
    assert (m.addon, m.kind, m.repo) == ("old_one", "not-installable", "web")
