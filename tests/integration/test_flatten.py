"""oca.flatten: one addons folder, collisions refused, problems reported, never half-built."""

import json
import os

import pytest

from tasks.core import config
from tasks.core.lock import read_lock
from tasks.oca.flatten import materialize
from tasks.oca.selection import provenance, select

pytestmark = pytest.mark.integration


@pytest.fixture
def stack(project, remotes):
    _, web = remotes(
        "web",
        {
            "web_a": {},
            "web_b": {"version": "18.0.1.0.0"},
            "web_old": {"installable": False},
            "web_unused": {},
        },
    )
    _, tools = remotes("server-tools", {"auditlog": {}, "common": {}})
    project.custom_addon("acme", depends=["web_a", "auditlog"])

    def write(extra="", web_addons='["web_a", "web_b"]', tools_addons='["*"]'):
        project.write_stack(f"""
            [odoo]
            version = "19.0"
            [addons]
            paths = ["addons"]
            {extra}
            [repos.web]
            url = "{web.as_uri()}"
            addons = {web_addons}
            [repos.server-tools]
            url = "{tools.as_uri()}"
            addons = {tools_addons}
        """)

    write()
    assert project.run("oca.pin").code == 0
    assert project.run("oca.sync").code == 0
    return project, write


def test_symlink_flatten_with_provenance(stack):
    project, _ = stack
    r = project.run("oca.flatten")
    assert r.code == 0, r.err
    dest = project.root / "build" / "addons"
    assert sorted(p.name for p in dest.iterdir()) == [
        ".provenance.json",
        "acme",
        "auditlog",
        "common",
        "web_a",
        "web_b",
    ]
    assert (dest / "web_a").is_symlink()
    assert not os.path.isabs(os.readlink(dest / "web_a"))
    assert (dest / "web_a" / "__manifest__.py").is_file()
    # web_b's 18.0 version is reported, not fatal without --strict
    assert "web_b/__manifest__.py: version '18.0.1.0.0' does not start with '19.0.'" in r.err
    prov = json.loads((dest / ".provenance.json").read_text())
    lock = read_lock(project.lock)
    assert prov["addons"]["web_a"]["commit"] == lock["web"].commit
    assert prov["addons"]["web_a"]["repo"] == "web"
    assert prov["addons"]["acme"]["source"] == "custom"
    assert project.run("oca.flatten", "--strict").code == 1


def test_copy_mode_and_custom_dest(stack, tmp_path):
    project, _ = stack
    target = tmp_path / "ctx" / "addons"
    (project.root / "external-src" / "web" / "web_a" / "__pycache__").mkdir()
    (project.root / "external-src" / "web" / "web_a" / "__pycache__" / "x.pyc").write_bytes(b"")
    r = project.run("oca.flatten", "--mode", "copy", "--dest", str(target))
    assert r.code == 0, r.err
    assert (target / "web_a").is_dir() and not (target / "web_a").is_symlink()
    assert (target / "web_a" / "__manifest__.py").is_file()
    assert not (target / "web_a" / "__pycache__").exists()
    assert project.run("oca.flatten", "--mode", "hardlink").code == 2


def test_collision_names_both_paths_unless_preferred(stack):
    project, write = stack
    assert project.run("oca.flatten").code == 0
    dest = project.root / "build" / "addons"
    before = sorted(p.name for p in dest.iterdir())
    project.custom_addon("auditlog")  # our own fork of auditlog
    r = project.run("oca.flatten")
    assert r.code == 1
    assert "auditlog: addons/auditlog and external-src/server-tools/auditlog" in r.err
    assert sorted(p.name for p in dest.iterdir()) == before  # old result untouched
    write(extra='[addons.prefer]\n            auditlog = "addons"')
    r = project.run("oca.flatten")
    assert r.code == 0, r.err
    assert os.readlink(dest / "auditlog") == "../../addons/auditlog"


def test_shadowing_odoo_core_is_a_collision(stack):
    project, _ = stack
    project.custom_addon("sale")
    r = project.run("oca.flatten")
    assert r.code == 1 and "sale: addons/sale and odoo core (sale)" in r.err


def test_named_addons_missing_or_not_installable_and_bad_manifest(stack):
    project, write = stack
    write(web_addons='["web_a", "web_old", "web_nope"]')
    bad = project.root / "addons" / "broken"
    bad.mkdir()
    (bad / "__manifest__.py").write_text("{'name': 'x', 'depends': get_deps()}\n")
    r = project.run("oca.flatten")
    assert r.code == 0, r.err  # reported, the run goes on
    assert "web_old is installable: False" in r.err
    assert "names 'web_nope', which is not an addon of web" in r.err
    assert "addons/broken/__manifest__.py: not a literal dict" in r.err
    assert not (project.root / "build" / "addons" / "web_old").exists()
    assert project.run("oca.flatten", "--strict").code == 1


def test_failure_midway_leaves_previous_result_and_no_temp(stack):
    project, _ = stack
    assert project.run("oca.flatten", "--mode", "copy").code == 0
    dest = project.root / "build" / "addons"
    before = sorted(p.name for p in dest.iterdir())
    cfg = config.load(project.root)
    lock = read_lock(cfg.lock_file)
    sel = select(cfg, lock)
    # An addon vanishes between selection and copy: copytree fails half-way.
    victim = sel.selected["web_b"].path
    for f in victim.rglob("*"):
        if f.is_file():
            f.unlink()
    for d in sorted(victim.rglob("*"), reverse=True):
        d.rmdir()
    victim.rmdir()
    with pytest.raises(OSError):
        materialize(sel, dest, "copy", provenance(cfg, sel, lock, None))
    assert sorted(p.name for p in dest.iterdir()) == before
    assert [p.name for p in dest.parent.iterdir()] == ["addons"]


def test_flatten_before_sync_says_what_to_run(project, remotes):
    _, web = remotes("web")
    project.write_stack(f'[odoo]\nversion = "19.0"\n[repos.web]\nurl = "{web.as_uri()}"\n')
    r = project.run("oca.flatten")
    assert r.code == 2 and "invoke oca.pin" in r.err
    assert project.run("oca.pin").code == 0
    r = project.run("oca.flatten")
    assert r.code == 2 and "invoke oca.sync" in r.err


def test_missing_custom_addons_path_is_bad_input(project, remotes):
    project.write_stack('[odoo]\nversion = "19.0"\n[addons]\npaths = ["addons", "our-addons"]\n')
    r = project.run("oca.flatten")
    assert r.code == 2 and "[addons] paths: 'our-addons' is not a folder" in r.err
