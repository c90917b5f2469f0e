"""Parallel pg_restore where pg_restore alone is serial: one big table's data.

`pg_restore -j N` loads each table's data with one COPY. An Odoo database is usually one or
two huge tables (account_move_line, mail_message) beside hundreds of small ones, so the data
phase is that one COPY on one core while the others idle. Here the restore runs in its
documented sections — pre-data, data, post-data — and in the data section the largest
tables' data files are streamed into N concurrent COPYs (whole lines to each: COPY's text
format is one row per line, embedded newlines escaped), while pg_restore loads the rest.
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

from ..core.errors import BadInput, CheckFailed
from . import pg

# Off unless asked for: STACK_SPLIT_MIN_MB=N splits every table whose data file (as pg_dump
# compressed it) has at least N MB (0: every table; the tests use that). Measured on the
# benchmark's 2 cores it gains nothing over one `pg_restore -j` run (docs/adr/0004): the
# cores are already busy, and splitting the sections costs pg_restore's overlap of index
# builds with other tables' COPYs. It is for servers with idle cores during the data phase.
SPLIT_MIN_BYTES: int | None = None
CHUNK = 4 << 20  # whole lines per hand-off; large enough to keep each heap's locality
# `pg_restore -l` line of a table's data: "<dumpid>; <oid> <oid> TABLE DATA <schema> <name>
# <owner>". The list does not quote names: only plain identifiers are taken, anything else
# stays with pg_restore.
_DATA = re.compile(r"^(\d+); \d+ \d+ TABLE DATA ([a-z_][a-z0-9_$]*) ([a-z_][a-z0-9_$]*) \S+$")
_ENCODING = re.compile(r"^;\s+Encoding: (\S+)$", re.MULTILINE)
_END = b"\n\\.\n"  # end-of-data marker: a line "\." (data backslashes are always doubled)


def split_min_bytes() -> int | None:
    raw = os.environ.get("STACK_SPLIT_MIN_MB", "").strip()
    try:
        return int(float(raw) * (1 << 20)) if raw else SPLIT_MIN_BYTES
    except ValueError:
        raise BadInput(
            f"STACK_SPLIT_MIN_MB={raw!r} is not a number", hint="unset it, or give megabytes"
        ) from None


@dataclass(frozen=True)
class TableData:
    dump_id: str
    schema: str
    table: str
    file: Path

    @property
    def qualified(self) -> str:
        return f'"{self.schema}"."{self.table}"'


@dataclass(frozen=True)
class Plan:
    toc: str  # `pg_restore -l` output
    encoding: str = "UTF8"
    split: list[TableData] = field(default_factory=list)  # largest first

    def rest_list(self) -> str:
        """The TOC list with the split tables' data commented out (pg_restore -L)."""
        ids = {t.dump_id for t in self.split}
        return "".join(
            f";{line}" if line.split(";", 1)[0] in ids else line
            for line in self.toc.splitlines(keepends=True)
        )


def data_file(dump_dir: Path, dump_id: str) -> Path | None:
    for suffix in (".dat.zst", ".dat.gz", ".dat", ".dat.lz4"):
        p = dump_dir / f"{dump_id}{suffix}"
        if p.is_file():
            return p
    return None


def plan(toc: str, dump_dir: Path, min_bytes: int | None = None) -> Plan:
    min_bytes = split_min_bytes() if min_bytes is None else min_bytes
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
    return Plan(toc, m.group(1) if m else "UTF8", split)


def _open(path: Path):
    if path.name.endswith(".zst"):
        import zstandard

        return zstandard.ZstdDecompressor().stream_reader(
            path.open("rb"), read_across_frames=True, read_size=1 << 20, closefd=True
        )
    if path.name.endswith(".gz"):
        return gzip.open(path, "rb")
    return path.open("rb")


def line_chunks(path: Path, size: int = CHUNK) -> Iterator[bytes]:
    """The file's COPY rows in pieces of whole lines, without the end-of-data marker."""
    rest = b""
    with _open(path) as fh:
        while True:
            block = fh.read(size)
            data = rest + block
            if not block:  # the remainder, which may lack its last newline
                whole, _ = _until_end(data)
                if whole:
                    yield whole
                return
            cut = data.rfind(b"\n") + 1
            whole, ended = _until_end(data[:cut])
            if whole:
                yield whole
            if ended:
                return
            rest = data[cut:]


def _until_end(lines: bytes) -> tuple[bytes, bool]:
    """``lines`` up to the "\\." marker line, and whether the marker was there."""
    if lines.startswith(b"\\.\n") or lines == b"\\.":
        return b"", True
    i = lines.find(_END)
    if i >= 0:
        return lines[: i + 1], True
    if lines.endswith(b"\n\\."):
        return lines[:-2], True
    return lines, False


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
    stop = threading.Event()

    def writer(q: queue.Queue) -> None:
        done = False  # the reader's end mark was taken: nothing more will come
        try:
            with pg.connect(conn, autocommit=False) as c, c.cursor() as cur:
                cur.execute("SELECT set_config('client_encoding', %s, false)", (encoding,))
                # As pg_restore's sessions: a failed restore is dropped whole anyway.
                cur.execute("SET synchronous_commit = off")
                with cur.copy(stmt) as cp:
                    while (chunk := q.get()) is not None:
                        cp.write(chunk)
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
        for i, chunk in enumerate(line_chunks(t.file)):
            if stop.is_set():
                break
            queues[i % streams].put(chunk)
            sent += len(chunk)
    finally:
        for q in queues:
            q.put(None)
        for th in threads:
            th.join()
    if failed:
        first = str(failed[0]).strip().splitlines()
        raise CheckFailed(f"loading {t.schema}.{t.table}: {first[0] if first else failed[0]!r}")
    return sent
