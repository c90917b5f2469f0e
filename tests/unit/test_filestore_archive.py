import io
import tarfile

import pytest
import zstandard

from tasks.core.errors import CheckFailed
from tasks.db.filestore import archive, extract, tree_stats


def make_tar_zst(path, members):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    path.write_bytes(zstandard.ZstdCompressor().compress(buf.getvalue()))


def file_info(name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def link_info(name, target):
    info = tarfile.TarInfo(name)
    info.type = tarfile.SYMTYPE
    info.linkname = target
    return info, None


def test_round_trip_counts_files_and_bytes(tmp_path):
    src = tmp_path / "fs"
    (src / "ab").mkdir(parents=True)
    (src / "ab" / "abc").write_bytes(b"x" * 1000)
    (src / "cd").mkdir()
    (src / "cd" / "cde").write_bytes(bytes(range(256)) * 10)
    stats, sha, size = archive(src, tmp_path / "fs.tar.zst", level=3, threads=1)
    assert (stats.files, stats.bytes) == (2, 3560) and len(sha) == 64 and size > 0
    got = extract(tmp_path / "fs.tar.zst", tmp_path / "out")
    assert (got.files, got.bytes) == (2, 3560)
    assert tree_stats(tmp_path / "out") == tree_stats(src)
    assert (tmp_path / "out" / "cd" / "cde").read_bytes() == bytes(range(256)) * 10


@pytest.mark.parametrize(
    "members",
    [
        [file_info("../escaped", b"evil")],
        [file_info("/tmp/absolute-evil", b"evil")],
        [link_info("ab/link", "/etc"), file_info("ab/link/passwd", b"evil")],
        [link_info("ab/up", "../../.."), file_info("ok", b"fine")],
    ],
    ids=["dotdot", "absolute", "link-outside", "relative-link-outside"],
)
def test_unsafe_entries_are_refused(tmp_path, members):
    bad = tmp_path / "bad.tar.zst"
    make_tar_zst(bad, members)
    with pytest.raises(CheckFailed, match="unsafe entry"):
        extract(bad, tmp_path / "out")
    assert not (tmp_path / "escaped").exists()
    assert not (tmp_path.parent / "escaped").exists()


@pytest.mark.parametrize("fmt", [tarfile.PAX_FORMAT, tarfile.GNU_FORMAT])
def test_long_names_via_pax_and_gnu_headers(tmp_path, fmt):
    long = "ab/" + "x" * 180 + "/" + "é" * 30  # > 100 bytes and not ASCII: needs an extension
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tar:
        info, data = file_info(long, b"content")
        tar.addfile(info, io.BytesIO(data))
        info, data = file_info("cd/short", b"x" * 1000)
        tar.addfile(info, io.BytesIO(data))
    archive_path = tmp_path / "a.tar.zst"
    archive_path.write_bytes(zstandard.ZstdCompressor().compress(buf.getvalue()))
    got = extract(archive_path, tmp_path / "out")
    assert (got.files, got.bytes) == (2, 1007)
    assert (tmp_path / "out" / long).read_bytes() == b"content"


def test_truncated_archive_is_damaged(tmp_path):
    src = tmp_path / "fs"
    (src / "ab").mkdir(parents=True)
    (src / "ab" / "f").write_bytes(bytes(range(256)) * 400)
    _, sha, _ = archive(src, tmp_path / "fs.tar.zst", level=3, threads=1)
    data = (tmp_path / "fs.tar.zst").read_bytes()
    (tmp_path / "fs.tar.zst").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckFailed, match="sha256 mismatch"):
        extract(tmp_path / "fs.tar.zst", tmp_path / "out", expect_sha256=sha)
    with pytest.raises(CheckFailed, match="damaged archive"):
        extract(tmp_path / "fs.tar.zst", tmp_path / "out2")
