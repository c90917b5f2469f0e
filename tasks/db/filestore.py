"""The filestore as one streamed tar compressed with zstd; extraction refuses unsafe entries."""

from __future__ import annotations

import hashlib
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path

from ..core.download import sha256_file
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


def archive(root: Path | None, out: Path, level: int, threads: int) -> tuple[TreeStats, str, int]:
    """Write ``root`` as tar.zst to ``out`` (no root: an empty archive).
    Returns (stats, sha256 of out, size of out)."""
    import zstandard

    files = size = 0
    cctx = zstandard.ZstdCompressor(level=level, threads=threads)
    with out.open("wb") as raw:
        hashing = HashingWriter(raw)
        with (
            cctx.stream_writer(hashing, closefd=False) as zw,
            # A large stream buffer: tarfile's default (10 KB) costs a Python round trip
            # through zstd and the hasher for every 10 KB.
            tarfile.open(fileobj=zw, mode="w|", format=tarfile.PAX_FORMAT, bufsize=CHUNK) as tar,
        ):
            if root is not None and root.exists():
                for dirpath, dirs, names in os.walk(root):
                    dirs.sort()
                    for n in sorted(names):
                        p = Path(dirpath) / n
                        info = tar.gettarinfo(str(p), arcname=str(p.relative_to(root)))
                        # Odoo's filestore holds only regular files; anything else
                        # (a stray link) is left out rather than restored somewhere odd.
                        if info.isreg():
                            with p.open("rb") as fh:
                                tar.addfile(info, fh)
                            files += 1
                            size += info.size
        raw.flush()
        os.fsync(raw.fileno())
    return TreeStats(files, size), hashing.sha256.hexdigest(), hashing.size


class HashingReader:
    """A read-only file object that hashes what is read through it."""

    def __init__(self, fh):
        self._fh = fh
        self.sha256 = hashlib.sha256()

    def read(self, n: int = -1) -> bytes:
        data = self._fh.read(n)
        self.sha256.update(data)
        return data

    def readinto(self, buf) -> int:
        n = self._fh.readinto(buf)
        self.sha256.update(memoryview(buf)[:n])
        return n

    def drain(self) -> None:
        while self.read(CHUNK):
            pass


def _refuse(archive_path: Path, name: str, why: str) -> CheckFailed:
    return CheckFailed(
        f"{archive_path.name}: unsafe entry {name!r} refused ({why})",
        hint="this archive was not written by odoo-stack or was tampered with",
    )


BLOCK = 512


def _members(stream):
    """(TarInfo, reader) for each entry of an uncompressed tar stream.

    A small reader of our own instead of tarfile's stream mode: tarfile moves every byte
    through a Python-level buffer, which made it the slowest part of a restore. Headers
    are still decoded (and checksum-checked) by tarfile.TarInfo.frombuf; pax ('x') and
    GNU long-name ('L') headers are applied to the entry that follows them.
    """
    pending: dict[str, str] = {}
    while True:
        hdr = _read_upto(stream, BLOCK)
        if hdr == bytes(BLOCK):
            return  # the end-of-archive marker
        if len(hdr) < BLOCK:  # a truncated archive never reaches its end marker
            raise EOFError("archive ends before its end-of-archive marker")
        info = tarfile.TarInfo.frombuf(hdr, "utf-8", "surrogateescape")
        if info.type in (tarfile.XHDTYPE, tarfile.GNUTYPE_LONGNAME):
            data = _read_exact(stream, info.size)
            _skip(stream, -info.size % BLOCK)
            if info.type == tarfile.GNUTYPE_LONGNAME:
                pending["path"] = data.rstrip(b"\0").decode("utf-8", "surrogateescape")
            else:
                pending.update(_pax_records(data))
            continue
        if info.type == tarfile.XGLTYPE:  # global pax header: nothing we use
            _skip(stream, info.size + (-info.size % BLOCK))
            continue
        if "path" in pending:
            info.name = pending["path"]
        if "size" in pending:
            info.size = int(pending["size"])
        pending = {}
        yield info
        # The caller read the data of regular files; here only the padding remains.
        _skip(stream, -info.size % BLOCK if info.isreg() else 0)


def _pax_records(data: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    pos = 0
    while pos < len(data):
        length = int(data[pos : data.index(b" ", pos)])
        key, _, value = data[data.index(b" ", pos) + 1 : pos + length - 1].partition(b"=")
        out[key.decode()] = value.decode("utf-8", "surrogateescape")
        pos += length
    return out


def _read_upto(stream, n: int) -> bytes:
    """Up to n bytes, fewer only at the end: a decompressor may return short reads."""
    parts, left = [], n
    while left:
        chunk = stream.read(left)
        if not chunk:
            break
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)


def _read_exact(stream, n: int) -> bytes:
    parts, left = [], n
    while left:
        chunk = stream.read(min(left, CHUNK))
        if not chunk:
            raise EOFError("unexpected end of archive")
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)


def _skip(stream, n: int) -> None:
    if n:
        _read_exact(stream, n)


def extract(archive_path: Path, dest: Path, expect_sha256: str | None = None) -> TreeStats:
    """Extract into ``dest`` (must not exist yet); with ``expect_sha256`` the archive is
    checked in the same pass (exit 1 naming it on mismatch).

    Odoo's filestore holds only folders and regular files, and so do our archives: any
    other entry (links, devices), an absolute path or a '..' is refused, never "fixed".
    Files are written directly (no per-file chmod/utime): this is the restore hot path.
    """
    import zstandard

    dest.mkdir(parents=True)
    files = size = 0
    made: set[Path] = {dest}
    with archive_path.open("rb") as raw:
        hashing = HashingReader(raw)
        try:
            with zstandard.ZstdDecompressor().stream_reader(
                hashing, read_across_frames=True, read_size=CHUNK
            ) as zr:
                for member in _members(zr):
                    name = member.name
                    parts = Path(name).parts
                    if name.startswith(("/", "\\")) or ".." in parts:
                        raise _refuse(archive_path, name, "absolute path or '..'")
                    if not (member.isreg() or member.isdir()):
                        raise _refuse(archive_path, name, "not a regular file or folder")
                    # No links are ever created (refused above) and '..' is refused, so
                    # joining the parts cannot leave ``dest``.
                    target = dest.joinpath(*parts)
                    if member.isdir():
                        target.mkdir(parents=True, exist_ok=True)
                        made.add(target)
                        continue
                    if target.parent not in made:
                        target.parent.mkdir(parents=True, exist_ok=True)
                        made.add(target.parent)
                    with target.open("wb") as out:
                        left = member.size
                        while left:
                            chunk = zr.read(min(left, CHUNK))
                            if not chunk:
                                raise EOFError("unexpected end of archive")
                            out.write(chunk)
                            left -= len(chunk)
                    files += 1
                    size += member.size
            hashing.drain()
        except (zstandard.ZstdError, tarfile.TarError, EOFError, ValueError) as e:
            if expect_sha256 and sha256_file(archive_path) != expect_sha256:
                raise _mismatch(archive_path) from None
            raise CheckFailed(f"{archive_path}: damaged archive ({e})") from None
    if expect_sha256 and hashing.sha256.hexdigest() != expect_sha256:
        raise _mismatch(archive_path)
    return TreeStats(files, size)


def _mismatch(path: Path) -> CheckFailed:
    return CheckFailed(
        f"{path}: sha256 mismatch: the file is damaged",
        hint="use another backup set (db.list), or its offsite copy",
    )
