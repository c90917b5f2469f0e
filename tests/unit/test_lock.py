import pytest

from tasks.core.errors import BadInput
from tasks.core.lock import LockEntry, read_lock, render_lock, write_lock

A = "a" * 40
B = "b" * 40


def test_render_is_sorted_and_round_trips(tmp_path):
    entries = {
        "web": LockEntry("web", "https://x/web.git", "19.0", A),
        "queue": LockEntry("queue", "https://x/queue.git", "refs/pull/7/head", B),
    }
    text = render_lock(entries)
    assert text.index("[repos.queue]") < text.index("[repos.web]")
    assert render_lock(dict(reversed(list(entries.items())))) == text
    p = tmp_path / "stack.lock"
    assert write_lock(p, entries) is True
    assert read_lock(p) == entries
    before = p.stat().st_mtime_ns
    assert write_lock(p, entries) is False  # unchanged: not rewritten
    assert p.stat().st_mtime_ns == before


def test_missing_lock_is_none(tmp_path):
    assert read_lock(tmp_path / "stack.lock") is None


@pytest.mark.parametrize(
    "text",
    ["[repos.web\n", '[repos.web]\nurl = "u"\nref = "19.0"\ncommit = "abc"\n', "[repos.web]\n"],
)
def test_corrupt_lock_is_bad_input(tmp_path, text):
    p = tmp_path / "stack.lock"
    p.write_text(text)
    with pytest.raises(BadInput, match=r"stack\.lock"):
        read_lock(p)


def test_write_leaves_no_temp_files(tmp_path):
    write_lock(tmp_path / "stack.lock", {"w": LockEntry("w", "u", "r", A)})
    assert [p.name for p in tmp_path.iterdir()] == ["stack.lock"]
