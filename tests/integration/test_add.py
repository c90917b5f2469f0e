"""oca.add edits stack.toml in place, keeping comments and layout."""

import pytest

pytestmark = pytest.mark.integration

ORIGINAL = """\
# Our stack. Keep this comment.
[odoo]
version = "19.0"   # production series

[repos.web]
# the web repo, for the backend UI
url = "https://github.com/OCA/web.git"
addons = ["web_responsive"]
"""


def test_add_keeps_comments_and_layout(project):
    project.write_stack(ORIGINAL)
    r = project.run(
        "oca.add", "https://github.com/OCA/queue.git", "--addons", "queue_job,queue_job_cron"
    )
    assert r.code == 0, r.err
    text = (project.root / "stack.toml").read_text()
    assert text.startswith(ORIGINAL)
    assert text[len(ORIGINAL) :] == (
        '\n[repos.queue]\nurl = "https://github.com/OCA/queue.git"\n'
        'addons = ["queue_job", "queue_job_cron"]\n\n'
    )
    r = project.run(
        "oca.add",
        "git@example.com:acme/tools.git",
        "--addons",
        "*",
        "--name",
        "acme-tools",
        "--ref",
        "refs/pull/3/head",
    )
    assert r.code == 0, r.err
    text = (project.root / "stack.toml").read_text()
    assert (
        '[repos.acme-tools]\nurl = "git@example.com:acme/tools.git"\n'
        'ref = "refs/pull/3/head"\naddons = ["*"]' in text
    )


def test_add_refuses_duplicates_and_bad_names(project):
    project.write_stack(ORIGINAL)
    r = project.run("oca.add", "https://github.com/OCA/web.git", "--addons", "x")
    assert r.code == 2 and "[repos.web] already exists" in r.err
    r = project.run("oca.add", "https://github.com/OCA/queue.git", "--addons", "Bad-Addon")
    assert r.code == 2 and "not an addon name" in r.err
    r = project.run("oca.add", "https://github.com/OCA/queue.git")
    assert r.code == 2 and "no addons named" in r.err
    assert (project.root / "stack.toml").read_text() == ORIGINAL
