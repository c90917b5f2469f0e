"""The filestore as one streamed tar compressed with zstd; extraction refuses unsafe entries."""

from __future__ import annotations

import hashlib
import io
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
                        # Whole seconds: a fractional mtime costs a pax header per file.
                        info.mtime = int(info.mtime)
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
REG, DIR = "reg", "dir"
_REG_TYPES = (b"0", b"\0", b"7")  # regular file (old style, contiguous)


@dataclass(frozen=True)
class Member:
    name: str
    size: int
    kind: str  # REG, DIR, or the raw type flag of anything else (refused by the caller)


def _octal(field: bytes) -> int:
    if field[:1] in (b"\x80", b"\xff"):  # base-256 (GNU/star) for sizes over 8 GiB
        n = int.from_bytes(field[1:], "big")
        return n if field[0] == 0x80 else n - (1 << (8 * (len(field) - 1)))
    digits = field.split(b"\0", 1)[0].strip()
    return int(digits, 8) if digits else 0


def _members(stream):
    """Each entry of an uncompressed tar stream, as a Member; the caller reads a regular
    file's data before asking for the next one.

    A header reader of our own: tarfile's stream mode moves every byte through a
    Python-level buffer, and its TarInfo.frombuf decodes all fifteen header fields, which
    made both the slowest part of a restore. Only name, size and type are decoded here.
    pax ('x') and GNU long-name ('L') headers apply to the entry that follows them. Header
    checksums are not re-added: the archive's sha256 (or age's authentication) covers
    every byte, and a damaged name still meets the caller's path checks.
    """
    pending: dict[str, str] = {}
    while True:
        hdr = stream.read(BLOCK)
        if hdr == bytes(BLOCK):
            return  # the end-of-archive marker
        if len(hdr) < BLOCK:  # a truncated archive never reaches its end marker
            raise EOFError("archive ends before its end-of-archive marker")
        magic = hdr[257:265]
        if not magic.startswith(b"ustar"):
            raise ValueError("not a tar header")
        kind = hdr[156:157]
        size = _octal(hdr[124:136])
        if kind in (b"x", b"L"):
            data = _read_exact(stream, size)
            _skip(stream, -size % BLOCK)
            if kind == b"L":
                pending["path"] = data.rstrip(b"\0").decode("utf-8", "surrogateescape")
            else:
                pending.update(_pax_records(data))
            continue
        if kind == b"g":  # global pax header: nothing we use
            _skip(stream, size + (-size % BLOCK))
            continue
        if "path" in pending:
            name = pending["path"]
        else:
            name = hdr[:100].split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
            prefix = hdr[345:500].split(b"\0", 1)[0] if magic == b"ustar\x0000" else b""
            if prefix:
                name = prefix.decode("utf-8", "surrogateescape") + "/" + name
        if "size" in pending:
            size = int(pending["size"])
        pending = {}
        if kind in _REG_TYPES:
            yield Member(name, size, REG)
            _skip(stream, -size % BLOCK)  # the caller read the data; the padding remains
        elif kind == b"5":
            yield Member(name.rstrip("/"), 0, DIR)
        else:
            yield Member(name, size, kind.decode("latin-1"))
            return  # the caller refuses it; nothing after it is read


def _pax_records(data: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    pos = 0
    while pos < len(data):
        length = int(data[pos : data.index(b" ", pos)])
        key, _, value = data[data.index(b" ", pos) + 1 : pos + length - 1].partition(b"=")
        out[key.decode()] = value.decode("utf-8", "surrogateescape")
        pos += length
    return out


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
            ) as zraw:
                # Buffered in C: the 512-byte header reads cost no call into zstd each.
                zr = io.BufferedReader(zraw, buffer_size=CHUNK)
                for member in _members(zr):
                    name = member.name
                    parts = Path(name).parts
                    if name.startswith(("/", "\\")) or ".." in parts:
                        raise _refuse(archive_path, name, "absolute path or '..'")
                    if member.kind not in (REG, DIR):
                        raise _refuse(archive_path, name, "not a regular file or folder")
                    # No links are ever created (refused above) and '..' is refused, so
                    # joining the parts cannot leave ``dest``.
                    target = dest.joinpath(*parts)
                    if member.kind == DIR:
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
