"""oca.pin against real repositories over file:// and a real git daemon."""

import tomllib

import pytest

pytestmark = pytest.mark.integration


def lock_of(project):
    return tomllib.loads(project.lock.read_text())["repos"]


def test_pin_resolves_branch_tag_and_pull_ref(project, remotes, git_daemon):
    work, bare = remotes("web")
    first = work.head()
    work.tag("v1", annotated=True)
    work.write("a_web/x.py", "x = 1\n")
    pr = work.commit("a pull request")
    work.set_ref("refs/pull/7/head", pr)
    work.tag("light")
    work._git("reset", "-q", "--hard", first)  # branch tip stays at `first`
    work.bare(bare)
    project.write_stack(f"""
        [odoo]
        version = "19.0"
        [repos.web]
        url = "{bare.as_uri()}"
        addons = ["*"]
        [repos.tagged]
        url = "{git_daemon}/web.git"
        ref = "v1"
        addons = ["*"]
        [repos.pr]
        url = "{git_daemon}/web.git"
        ref = "refs/pull/7/head"
        addons = ["*"]
        [repos.light]
        url = "{bare.as_uri()}"
        ref = "light"
        addons = ["*"]
    """)
    r = project.run("oca.pin")
    assert r.code == 0, r.err
    lock = lock_of(project)
    assert lock["web"] == {"url": bare.as_uri(), "ref": "19.0", "commit": first}
    assert lock["tagged"]["commit"] == first  # the annotated tag peeled to its commit
    assert lock["pr"]["commit"] == pr
    assert lock["light"]["commit"] == pr
    assert list(lock) == sorted(lock)
    assert project.run("oca.pin", "--check").code == 0


def test_pin_keeps_locked_commit_until_ref_or_url_changes(project, remotes):
    work, bare = remotes("web")
    old = work.head()
    stack = f"""
        [odoo]
        version = "19.0"
        [repos.web]
        url = "{bare.as_uri()}"
        addons = ["*"]
        [repos.gone]
        url = "{bare.as_uri()}"
        addons = ["*"]
    """
    project.write_stack(stack)
    assert project.run("oca.pin").code == 0
    work.write("a_web/y.py", "y = 1\n")
    new = work.commit("moves on")
    work.bare(bare)
    # Removing a repo drops its lock entry; the other keeps its (now old) commit.
    project.write_stack(stack.split("        [repos.gone]")[0])
    r = project.run("oca.pin", "--check")
    assert r.code == 1 and "stale" in r.err and "gone: no longer in stack.toml" in r.err
    assert "gone" in lock_of(project)  # --check changes nothing
    assert project.run("oca.pin").code == 0
    assert lock_of(project) == {"web": {"url": bare.as_uri(), "ref": "19.0", "commit": old}}
    # Changing the ref re-resolves.
    work._git("branch", "feature", new)
    work.bare(bare)
    project.write_stack(
        stack.split("        [repos.gone]")[0].replace(
            'addons = ["*"]', 'ref = "feature"\n        addons = ["*"]'
        )
    )
    assert project.run("oca.pin", "--check").code == 1
    assert project.run("oca.pin").code == 0
    assert lock_of(project)["web"]["commit"] == new


def test_check_without_lock_fails(project, remotes):
    _, bare = remotes("web")
    project.write_stack(f'[odoo]\nversion = "19.0"\n[repos.web]\nurl = "{bare.as_uri()}"\n')
    r = project.run("oca.pin", "--check")
    assert r.code == 1 and "does not exist" in r.err
    assert not project.lock.exists()


def test_unreachable_url_and_missing_ref_name_repo_and_ref(project, remotes, tmp_path):
    _work, bare = remotes("web")
    project.write_stack(f'[odoo]\nversion = "19.0"\n[repos.web]\nurl = "{bare.as_uri()}"\n')
    assert project.run("oca.pin").code == 0
    before = project.lock.read_bytes()
    project.write_stack(f"""
        [odoo]
        version = "19.0"
        [repos.web]
        url = "{bare.as_uri()}"
        [repos.nowhere]
        url = "{(tmp_path / "no-such-repo.git").as_uri()}"
    """)
    r = project.run("oca.pin")
    assert r.code == 2
    assert "error: repo nowhere: cannot list refs of" in r.err and "Traceback" not in r.err
    assert project.lock.read_bytes() == before  # nothing half-written
    project.write_stack(f"""
        [odoo]
        version = "19.0"
        [repos.web]
        url = "{bare.as_uri()}"
        ref = "17.0"
    """)
    r = project.run("oca.pin")
    assert r.code == 2 and "repo web: ref '17.0' not found" in r.err
    assert project.lock.read_bytes() == before


def test_credentials_in_urls_never_printed(project, tmp_path):
    project.write_stack("""
        [odoo]
        version = "19.0"
        [repos.priv]
        url = "http://deploy:hunter2@127.0.0.1:9/priv.git"
    """)
    r = project.run("oca.pin")
    assert r.code == 2
    assert "[repos.priv] url carries a password or token" in r.err
    assert "hunter2" not in r.err + r.out


def test_bad_config_exits_2_with_hint(project):
    project.write_stack('[odoo]\nversion = "19.0"\n[repos.web]\nurl = "x"\nbranch = "19.0"\n')
    r = project.run("oca.pin")
    assert r.code == 2
    assert "unknown key 'branch' in [repos.web] (did you mean 'ref'?)" in r.err
    assert "hint:" in r.err
    assert "Traceback" not in r.err
