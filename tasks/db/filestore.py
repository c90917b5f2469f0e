"""The filestore as one streamed tar compressed with zstd; extraction refuses unsafe entries."""

from __future__ import annotations

import hashlib
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import CheckFailed

CHUNK = 1 << 20


@dataclass(frozen=True)
class TreeStats:
    files: int
    bytes: int


class HashingWriter:
    """A write-only file object that hashes and counts what passes through it."""

    def __init__(self, fh):
        self._fh = fh
        self.sha256 = hashlib.sha256()
        self.size = 0

    def write(self, data) -> int:
        self.sha256.update(data)
        self.size += len(data)
        return self._fh.write(data)

    def flush(self) -> None:
        self._fh.flush()


def tree_stats(root: Path) -> TreeStats:
    files = size = 0
    for dirpath, _dirs, names in os.walk(root):
        for n in names:
            st = (Path(dirpath) / n).lstat()
            files += 1
            size += st.st_size
    return TreeStats(files, size)


def archive(root: Path, out: Path, level: int, threads: int) -> tuple[TreeStats, str, int]:
    """Write ``root`` as tar.zst to ``out``. Returns (stats, sha256 of out, size of out)."""
    import zstandard

    files = size = 0
    cctx = zstandard.ZstdCompressor(level=level, threads=threads)
    with out.open("wb") as raw:
        hashing = HashingWriter(raw)
        with (
            cctx.stream_writer(hashing, closefd=False) as zw,
            tarfile.open(fileobj=zw, mode="w|", format=tarfile.PAX_FORMAT) as tar,
        ):
            if root.exists():
                for dirpath, dirs, names in os.walk(root):
                    dirs.sort()
                    for n in sorted(names):
                        p = Path(dirpath) / n
                        info = tar.gettarinfo(str(p), arcname=str(p.relative_to(root)))
                        if info.isreg():
                            with p.open("rb") as fh:
                                tar.addfile(info, fh)
                            files += 1
                            size += info.size
                        elif info.issym() or info.isdir():
                            tar.addfile(info)
        raw.flush()
        os.fsync(raw.fileno())
    return TreeStats(files, size), hashing.sha256.hexdigest(), hashing.size


def extract(archive_path: Path, dest: Path) -> TreeStats:
    """Extract into ``dest`` (must not exist yet). Entries escaping it are refused (exit 1)."""
    import zstandard

    dest.mkdir(parents=True)
    files = size = 0
    dctx = zstandard.ZstdDecompressor()
    with (
        archive_path.open("rb") as raw,
        dctx.stream_reader(raw) as zr,
        tarfile.open(fileobj=zr, mode="r|") as tar,
    ):
        for member in tar:
            # Our archives never hold these: refuse rather than "fix" them (the stdlib
            # filter would silently strip a leading "/").
            parts = Path(member.name).parts
            if member.name.startswith(("/", "\\")) or ".." in parts:
                raise CheckFailed(
                    f"{archive_path.name}: unsafe entry {member.name!r} refused "
                    "(absolute path or '..')",
                    hint="this archive was not written by odoo-stack or was tampered with",
                )
            try:
                # The stdlib "data" filter refuses absolute paths, "..", links pointing
                # outside, device files and setuid bits.
                tar.extract(member, dest, filter="data")
            except tarfile.FilterError as e:
                raise CheckFailed(
                    f"{archive_path.name}: unsafe entry {member.name!r} refused ({e})",
                    hint="this archive was not written by odoo-stack or was tampered with",
                ) from None
            if member.isreg():
                files += 1
                size += member.size
    return TreeStats(files, size)
