"""oca.update: move pins to the tips and print a changelog per repo."""

import json
import tomllib

import pytest

pytestmark = pytest.mark.integration


@pytest.fixture
def two_repos(project, remotes):
    web, web_bare = remotes("web", {"web_a": {}, "web_b": {}, "web_c": {}})
    q, q_bare = remotes("queue", {"queue_job": {}})
    project.write_stack(f"""
        [odoo]
        version = "19.0"
        [repos.web]
        url = "{web_bare.as_uri()}"
        addons = ["web_a", "web_b"]
        [repos.queue]
        url = "{q_bare.as_uri()}"
        addons = ["*"]
    """)
    assert project.run("oca.pin").code == 0
    return web, web_bare, q, q_bare


def test_update_moves_pins_and_prints_changelog(project, two_repos):
    web, web_bare, _q, _q_bare = two_repos
    old = web.head()
    web.write("web_a/models/x.py", "x = 1\n")
    c1 = web.commit("[FIX] web_a: a fix")
    web.write("web_c/models/y.py", "y = 1\n")
    web.commit("[IMP] web_c: not selected")
    web.write("web_a/z.py", "z\n").write("web_b/z.py", "z\n")
    c3 = web.commit("[IMP] web_a, web_b: both")
    web.bare(web_bare)
    q_lock_before = tomllib.loads(project.lock.read_text())["repos"]["queue"]

    r = project.run("oca.update", "--json")
    assert r.code == 0, r.err
    data = json.loads(r.out)
    (ch,) = data["changes"]  # queue did not move
    assert ch["repo"] == "web" and ch["old"] == old and ch["new"] == c3
    assert [c["subject"] for c in ch["commits"]] == [
        "[IMP] web_a, web_b: both",
        "[IMP] web_c: not selected",
        "[FIX] web_a: a fix",
    ]
    assert ch["touched_addons"] == {"web_a": [c3[:10], c1[:10]], "web_b": [c3[:10]]}
    lock = tomllib.loads(project.lock.read_text())["repos"]
    assert lock["web"]["commit"] == c3 and lock["queue"] == q_lock_before


def test_human_changelog_and_repo_filter(project, two_repos):
    web, web_bare, q, q_bare = two_repos
    q.write("queue_job/a.py", "a\n")
    qc = q.commit("[FIX] queue_job: retry")
    q.bare(q_bare)
    web.write("web_a/a.py", "a\n")
    web.commit("[FIX] web_a: moved")
    web.bare(web_bare)
    r = project.run("oca.update", "--repo", "queue")
    assert r.code == 0, r.err
    assert "queue:" in r.out and qc[:10] in r.out and "[FIX] queue_job: retry" in r.out
    assert "selected addons touched: queue_job (1)" in r.out
    assert "web" not in r.out.replace("web_", "")  # only the named repo
    assert project.run("oca.update", "--repo", "quue").code == 2


def test_nothing_moved_leaves_lock_byte_identical(project, two_repos):
    before = project.lock.read_bytes()
    mtime = project.lock.stat().st_mtime_ns
    r = project.run("oca.update")
    assert r.code == 0
    assert "nothing moved" in r.out
    assert project.lock.read_bytes() == before and project.lock.stat().st_mtime_ns == mtime


def test_force_push_is_reported(project, two_repos):
    web, web_bare, *_ = two_repos
    web.write("web_a/a.py", "a\n")
    web.commit("to be dropped")
    web.bare(web_bare)
    assert project.run("oca.update").code == 0
    web._git("reset", "-q", "--hard", "HEAD~1")
    web.write("web_b/b.py", "b\n")
    web.commit("rewritten")
    web._git("push", "-q", "--force", str(web_bare), "19.0")
    r = project.run("oca.update", "--repo", "web")
    assert r.code == 0, r.err
    assert "history rewritten, 1 commit(s) of the old pin dropped" in r.err
    assert "rewritten" in r.out
