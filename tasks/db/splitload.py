"""Parallel pg_restore where pg_restore alone is serial: one big table's data.

`pg_restore -j N` loads each table's data with one COPY. An Odoo database is usually one or
two huge tables (account_move_line, mail_message) beside hundreds of small ones, so the data
phase is that one COPY on one core while the others idle. Here the restore runs in its
documented sections — pre-data, data, post-data — and in the data section the largest
tables' data files are streamed into N concurrent COPYs (whole lines to each: COPY's text
format is one row per line, embedded newlines escaped), while pg_restore loads the rest and
builds the rest's indexes and constraints. What needs the split data (its table's indexes,
foreign keys to it, ...: the dependencies `pg_restore -l -v` lists) follows in a last run.
"""

from __future__ import annotations

import gzip
import os
import queue
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from ..core.errors import BadInput, CheckFailed
from . import pg

# By default a table's data is split when its COPY alone would outlast all the others' in
# `pg_restore -j N`: its data file is over 1/N of all table data, and at least AUTO_MIN_BYTES
# (a smaller COPY takes a second or two). STACK_SPLIT_MIN_MB=N splits every table whose
# data file has at least N MB (0: every table; the tests use that); =off never splits.
AUTO_MIN_BYTES = 32 << 20
CHUNK = 4 << 20  # whole lines per hand-off; large enough to keep each heap's locality
# `pg_restore -l` line of a table's data: "<dumpid>; <oid> <oid> TABLE DATA <schema> <name>
# <owner>". The list does not quote names: only plain identifiers are taken, anything else
# stays with pg_restore.
_DATA = re.compile(r"^(\d+); \d+ \d+ TABLE DATA ([a-z_][a-z0-9_$]*) ([a-z_][a-z0-9_$]*) \S+$")
_ENCODING = re.compile(r"^;\s+Encoding: (\S+)$", re.MULTILINE)
_SUFFIXES = (".dat.zst", ".dat.gz", ".dat", ".dat.lz4")
AUTO, OFF = "auto", "off"


def split_setting() -> str | int:
    """AUTO, OFF, or the bytes from which every table is split (STACK_SPLIT_MIN_MB)."""
    raw = os.environ.get("STACK_SPLIT_MIN_MB", "").strip().lower()
    if raw in ("", AUTO, OFF):
        return raw or AUTO
    try:
        return max(0, int(float(raw) * (1 << 20)))
    except ValueError:
        raise BadInput(
            f"STACK_SPLIT_MIN_MB={raw!r} is not a number",
            hint="unset it (split what outlasts the rest), give megabytes, or 'off'",
        ) from None


def threshold(sizes: list[int], jobs: int, setting: str | int | None = None) -> int | None:
    """The data-file size from which a table is split, None for no split at all."""
    setting = split_setting() if setting is None else setting
    if setting == OFF or jobs < 2:
        return None
    if setting == AUTO:
        return max(AUTO_MIN_BYTES, sum(sizes) // jobs + 1)
    return int(setting)


def data_sizes(dump_dir: Path) -> list[int]:
    """The sizes of a -Fd dump's table data files, as pg_dump compressed them."""
    return [p.stat().st_size for p in dump_dir.iterdir() if p.name.endswith(_SUFFIXES)]


@dataclass(frozen=True)
class TableData:
    dump_id: str
    schema: str
    table: str
    file: Path

    @property
    def qualified(self) -> str:
        return f'"{self.schema}"."{self.table}"'


# Any entry of the list, and the dependencies `pg_restore -l -v` prints under it.
_ENTRY = re.compile(r"^(\d+); \d+ (\d+) (\S+(?: [A-Z]+)*) ")
_DEPENDS = re.compile(r"^;\s+depends on:([\d ]*)$")


def dependencies(toc: str) -> dict[str, set[str]]:
    """Each entry's dump id -> the ids it depends on (from a `pg_restore -l -v` list)."""
    deps: dict[str, set[str]] = {}
    last = None
    for line in toc.splitlines():
        if e := _ENTRY.match(line):
            last = e.group(1)
            deps[last] = set()
        elif (d := _DEPENDS.match(line)) and last is not None:
            deps[last].update(d.group(1).split())
    return deps


def table_entry(toc: str, data: TableData) -> str | None:
    """The dump id of the TABLE entry a TABLE DATA entry fills: the same object oid."""
    oid = next(
        (
            e.group(2)
            for line in toc.splitlines()
            if (e := _ENTRY.match(line)) and e.group(1) == data.dump_id
        ),
        None,
    )
    for line in toc.splitlines():
        e = _ENTRY.match(line)
        if e and e.group(2) == oid and e.group(3) == "TABLE":
            return e.group(1)
    return None


@dataclass(frozen=True)
class Plan:
    toc: str  # `pg_restore -l -v` output
    encoding: str = "UTF8"
    split: list[TableData] = field(default_factory=list)  # largest first
    tables: tuple[str, ...] = ()  # the split tables' TABLE entries

    def waiting(self) -> set[str]:
        """The entries that need a split table's data: its indexes and constraints, and
        whatever depends on those (foreign keys to it, comments, ...), transitively."""
        deps = dependencies(self.toc)
        out = set(self.tables)
        grew = True
        while grew:
            grew = False
            for dump_id, on in deps.items():
                if dump_id not in out and on & out:
                    out.add(dump_id)
                    grew = True
        return out

    def phase_lists(self) -> tuple[str, str]:
        """Two pg_restore -L lists. The first runs beside the split COPYs: every other
        table's data, and the indexes and constraints that need none of the split data,
        so they are built while the big table still loads. The second runs after them:
        what does need it. The split tables' own data is in neither."""
        later = self.waiting()
        ids = {t.dump_id for t in self.split}

        def keep(pick) -> str:
            out = []
            for line in self.toc.splitlines(keepends=True):
                e = _ENTRY.match(line)
                on = e is not None and e.group(1) not in ids and pick(e.group(1) in later)
                out.append(line if e is None or on else f";{line}")
            return "".join(out)

        return keep(lambda waits: not waits), keep(lambda waits: waits)


def data_file(dump_dir: Path, dump_id: str) -> Path | None:
    for suffix in _SUFFIXES:
        p = dump_dir / f"{dump_id}{suffix}"
        if p.is_file():
            return p
    return None


def plan(toc: str, dump_dir: Path, min_bytes: int | None) -> Plan:
    """The tables whose data file has at least ``min_bytes`` (None: none), largest first."""
    m = _ENCODING.search(toc)
    if min_bytes is None:
        return Plan(toc, m.group(1) if m else "UTF8")
    split = []
    for line in toc.splitlines():
        d = _DATA.match(line)
        if not d:
            continue
        f = data_file(dump_dir, d.group(1))
        # lz4 (pg_dump 16's other codec) has no reader here: such files stay with pg_restore.
        if f is not None and f.suffix != ".lz4" and f.stat().st_size >= min_bytes:
            split.append(TableData(d.group(1), d.group(2), d.group(3), f))
    split.sort(key=lambda t: t.file.stat().st_size, reverse=True)
    # A TABLE DATA entry always follows its TABLE in pg_dump's archives; one that did not
    # could not be scheduled against, so it stays with pg_restore.
    found = [(t, table_entry(toc, t)) for t in split]
    split = [t for t, tid in found if tid is not None]
    tables = tuple(tid for _t, tid in found if tid is not None)
    return Plan(toc, m.group(1) if m else "UTF8", split, tables)


def _open(path: Path):
    if path.name.endswith(".zst"):
        import zstandard

        return zstandard.ZstdDecompressor().stream_reader(
            path.open("rb"), read_across_frames=True, read_size=1 << 20, closefd=True
        )
    if path.name.endswith(".gz"):
        return gzip.open(path, "rb")
    return path.open("rb")


class Piece(NamedTuple):
    parts: list  # buffers whose concatenation is whole COPY lines
    buffer: bytearray | None  # the read buffer ``parts`` view into, to reuse once sent


def line_chunks(path: Path, size: int = CHUNK, free: list | None = None) -> Iterator[Piece]:
    """The file's COPY rows in pieces of whole lines, without the end-of-data marker.

    A piece is the line begun in the previous read completed (small), then a view into the
    block just read: no block is copied on its way to the socket (psycopg hands a view to
    libpq slice by slice, where bytes would be copied again). Blocks are read into buffers
    taken from ``free`` when it has one; whoever has sent a piece may put its buffer back.
    Fresh buffers would be page-faulted in and zeroed by the kernel, 4 MB at a time."""
    carry = b""
    with _open(path) as fh:
        while True:
            # Only this reader pops; writers only append (both atomic on a list).
            block = free.pop() if free else bytearray(size)
            n = fh.readinto(block)
            if not n:  # a last row without its newline, or a marker without one
                if carry and carry != b"\\.":
                    yield Piece([carry], None)
                return
            cut = block.rfind(b"\n", 0, n) + 1
            if not cut:  # a line longer than a read
                carry += block[:n]
                if free is not None:
                    free.append(block)
                continue
            first = block.index(b"\n", 0, n) + 1
            head = carry + block[:first]
            carry = bytes(block[cut:n])
            if head == b"\\.\n":
                return
            end = _marker_at(block, first, cut)
            body = memoryview(block)[first : cut if end is None else end]
            yield Piece([head, body] if body else [head], block)
            if end is not None:
                return


def _marker_at(block: bytes, start: int, stop: int) -> int | None:
    """Where the end marker's line begins in ``block[start:stop]`` (whole lines, the line
    before ``start`` ended), None if it is not there. pg_dump writes it as the last line
    but for blank ones, and no row can be that line (backslashes are doubled), so only the
    block's tail is looked at: scanning every block for it cost a pass over all the data."""
    j = stop
    while j - 2 >= start and block[j - 2 : j] == b"\n\n":
        j -= 1  # blank lines after the marker
    if j - 3 >= start and block[j - 3 : j] == b"\\.\n" and (j - 3 == start or block[j - 4] == 10):
        return j - 3
    return None


def columns(cur, t: TableData) -> str:
    """The table's dumped columns in order: pg_dump lists every column that is neither
    dropped nor generated, in attnum order, and pre-data recreated them so."""
    cur.execute(
        "SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute "
        "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped "
        "AND attgenerated = ''",
        (t.qualified,),
    )
    return cur.fetchone()[0]


def load_split(conn: pg.Conn, t: TableData, streams: int, encoding: str) -> int:
    """Stream one data file into ``streams`` concurrent COPYs; returns the bytes sent.

    Memory stays bounded: each stream's queue holds at most two chunks."""
    with pg.connect(conn) as c, c.cursor() as cur:
        stmt = f"COPY {t.qualified} ({columns(cur, t)}) FROM STDIN"
    queues: list[queue.Queue] = [queue.Queue(maxsize=2) for _ in range(streams)]
    failed: list[BaseException] = []
    free: list[bytearray] = []  # the buffers of pieces sent, for line_chunks to read into
    stop = threading.Event()

    def writer(q: queue.Queue) -> None:
        done = False  # the reader's end mark was taken: nothing more will come
        try:
            with pg.connect(conn, autocommit=False) as c, c.cursor() as cur:
                # As pg_restore's sessions: the dump's encoding, no server-side timeout
                # cutting a long COPY short, an error rather than rows silently filtered
                # by row security, and no WAL flush waits (a failed restore is dropped).
                cur.execute(
                    "SELECT set_config('client_encoding', %s, false), "
                    "set_config('statement_timeout', '0', false), "
                    "set_config('lock_timeout', '0', false), "
                    "set_config('idle_in_transaction_session_timeout', '0', false), "
                    "set_config('row_security', 'off', false), "
                    "set_config('synchronous_commit', 'off', false)",
                    (encoding,),
                )
                with cur.copy(stmt) as cp:
                    while (piece := q.get()) is not None:
                        for part in piece.parts:
                            cp.write(part)
                        if piece.buffer is not None:  # libpq has copied it
                            free.append(piece.buffer)
                    done = True
                c.commit()  # a bad row often surfaces only here, at the end of COPY
        except BaseException as e:  # reported by the reader, which stops feeding
            failed.append(e)
            stop.set()
            while not done:  # drain so the reader never blocks on us
                done = q.get() is None

    threads = [threading.Thread(target=writer, args=(q,), daemon=True) for q in queues]
    for th in threads:
        th.start()
    sent = 0
    try:
        for i, piece in enumerate(line_chunks(t.file, free=free)):
            if stop.is_set():
                break
            queues[i % streams].put(piece)
            sent += sum(len(b) for b in piece.parts)
    finally:
        for q in queues:
            q.put(None)
        for th in threads:
            th.join()
    if failed:
        first = str(failed[0]).strip().splitlines()
        raise CheckFailed(f"loading {t.schema}.{t.table}: {first[0] if first else failed[0]!r}")
    return sent
