from pathlib import Path

from tasks.core.config import parse
from tasks.core.lock import LockEntry
from tasks.oca.pin import apply_pin, plan_pin

C1, C2 = "1" * 40, "2" * 40
STACK = """
[odoo]
version = "19.0"
[repos.web]
url = "https://github.com/OCA/web.git"
addons = ["*"]
[repos.queue]
url = "https://github.com/OCA/queue.git"
ref = "refs/pull/42/head"
addons = ["queue_job"]
"""


def cfg():
    return parse(Path("/p"), STACK)


def test_everything_resolves_without_a_lock():
    plan = plan_pin(cfg(), None)
    assert [r.name for r in plan.resolve] == ["web", "queue"]
    assert plan.stale and not plan.keep and not plan.drop


def test_locked_repo_keeps_commit_and_stale_entries_go():
    lock = {
        "web": LockEntry("web", "https://github.com/OCA/web.git", "19.0", C1),
        "queue": LockEntry("queue", "https://github.com/OCA/queue.git", "19.0", C2),
        "gone": LockEntry("gone", "https://x/gone.git", "19.0", C2),
    }
    plan = plan_pin(cfg(), lock)
    assert plan.keep == ("web",)
    assert [r.name for r in plan.resolve] == ["queue"]
    assert "ref changed" in plan.reasons["queue"]
    assert plan.drop == ("gone",)
    new = apply_pin(cfg(), lock, plan, {"queue": LockEntry("queue", "u", "refs/pull/42/head", C1)})
    assert list(new) == ["web", "queue"]
    assert new["web"].commit == C1


def test_url_change_is_a_repin():
    lock = {
        "web": LockEntry("web", "https://mirror/web.git", "19.0", C1),
        "queue": LockEntry("queue", "https://github.com/OCA/queue.git", "refs/pull/42/head", C2),
    }
    plan = plan_pin(cfg(), lock)
    assert [r.name for r in plan.resolve] == ["web"]
    assert plan.reasons["web"] == "url changed in stack.toml"
