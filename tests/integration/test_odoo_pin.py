"""oca.pin / oca.update pin Odoo CE itself: commit by ls-remote, archive by sha256."""

import hashlib
import json
import tomllib

from tasks.example.fakerepo import FakeRepo


def _odoo(tmp_path):
    work = FakeRepo(tmp_path / "work" / "odoo", branch="19.0")
    work.write("odoo-bin", "#!/usr/bin/env python3\n")
    work.write("requirements.txt", "polib==1.2.0\n")
    work.commit("odoo: initial")
    bare = work.bare(tmp_path / "remotes" / "odoo.git")
    return work, bare


def _publish(work: FakeRepo, bare, tmp_path) -> str:
    commit = work.head()
    work.archive(commit, tmp_path / "archives" / f"{commit}.tar.gz")
    work.bare(bare)
    return commit


def _stack(project, bare, tmp_path, ref="19.0"):
    template = (tmp_path / "archives").as_uri() + "/{commit}.tar.gz"
    project.write_stack(
        f"""
        [odoo]
        version = "19.0"
        url = "{bare.as_uri()}"
        ref = "{ref}"
        archive = "{template}"
        """
    )


def test_pin_records_commit_and_archive_sha256(project, tmp_path):
    work, bare = _odoo(tmp_path)
    commit = _publish(work, bare, tmp_path)
    _stack(project, bare, tmp_path)
    r = project.run("oca.pin", "--json")
    assert r.code == 0, r.err
    lock = tomllib.loads(project.lock.read_text())["odoo"]
    archive = tmp_path / "archives" / f"{commit}.tar.gz"
    assert lock["commit"] == commit and lock["ref"] == "19.0"
    assert lock["sha256"] == hashlib.sha256(archive.read_bytes()).hexdigest()
    assert lock["archive"] == archive.as_uri()
    rows = json.loads(r.out)["repos"]
    assert rows[0]["repo"] == "odoo" and rows[0]["status"] == "pinned"
    # kept as the image build's cache, under its digest
    assert (project.root / "build/cache/odoo" / lock["sha256"] / "odoo.tar.gz").is_file()
    again = project.run("oca.pin", "--check")
    assert again.code == 0, again.err


def test_ref_change_makes_the_lock_stale(project, tmp_path):
    work, bare = _odoo(tmp_path)
    _publish(work, bare, tmp_path)
    _stack(project, bare, tmp_path)
    assert project.run("oca.pin").code == 0
    _stack(project, bare, tmp_path, ref="saas-19.1")
    r = project.run("oca.pin", "--check")
    assert r.code == 1 and "odoo: ref changed in stack.toml (19.0 -> saas-19.1)" in r.err


def test_update_moves_odoo_to_its_branch_tip(project, tmp_path):
    work, bare = _odoo(tmp_path)
    old = _publish(work, bare, tmp_path)
    _stack(project, bare, tmp_path)
    assert project.run("oca.pin").code == 0
    work.write("odoo/release.py", "version = '19.0'\n")
    work.commit("[FIX] core: weekly fixes")
    new = _publish(work, bare, tmp_path)
    r = project.run("oca.update", "--repo", "odoo")
    assert r.code == 0, r.err
    assert f"odoo: {old[:12]} -> {new[:12]}" in r.out
    assert tomllib.loads(project.lock.read_text())["odoo"]["commit"] == new


def test_missing_archive_is_bad_input_and_writes_no_lock(project, tmp_path):
    work, bare = _odoo(tmp_path)
    work.bare(bare)  # no archive published
    _stack(project, bare, tmp_path)
    r = project.run("oca.pin")
    assert r.code == 2
    assert "odoo archive: cannot download" in r.err
    assert not project.lock.exists()
    assert not list((project.root / "build/cache/odoo").rglob("*.part"))


def test_odoo_source_config_errors(project):
    project.write_stack('[odoo]\nversion = "19.0"\nurl = "https://git.example.com/odoo.git"\n')
    r = project.run("oca.pin")
    assert r.code == 2 and "[odoo] archive is needed" in r.err
    project.write_stack(
        '[odoo]\nversion = "19.0"\nurl = "https://github.com/odoo/odoo.git"\narchive = "x.tgz"\n'
    )
    r = project.run("oca.pin")
    assert r.code == 2 and "must contain {commit}" in r.err


def test_image_build_without_odoo_url_says_what_to_add(project):
    project.write_stack('[odoo]\nversion = "19.0"\n')
    r = project.run("image.build")
    assert r.code == 2
    assert "[odoo] url is not set" in r.err and "oca.pin" in r.err
