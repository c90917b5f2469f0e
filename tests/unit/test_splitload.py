"""splitload: whole COPY lines in every chunk, the end marker dropped, the TOC list edited."""

import gzip
from pathlib import Path

import pytest
import zstandard

from tasks.db.splitload import AUTO_MIN_BYTES, line_chunks, plan, threshold

# COPY text rows as pg_dump writes them: embedded newlines and backslashes escaped.
ROWS = b"".join(
    b"%d\tline %d with \\n an escaped newline and \\\\. a backslash-dot\t\\N\n" % (i, i)
    for i in range(500)
)
DATA = ROWS + b"\\.\n\n\n"


def write(tmp_path: Path, suffix: str, data: bytes) -> Path:
    p = tmp_path / f"1234.dat{suffix}"
    if suffix == ".zst":
        p.write_bytes(zstandard.ZstdCompressor().compress(data))
    elif suffix == ".gz":
        p.write_bytes(gzip.compress(data))
    else:
        p.write_bytes(data)
    return p


@pytest.mark.parametrize("suffix", [".zst", ".gz", ""])
@pytest.mark.parametrize("size", [1, 7, 64, 1 << 20])
def test_chunks_are_whole_lines_without_the_marker(tmp_path, suffix, size):
    chunks = [b"".join(c.parts) for c in line_chunks(write(tmp_path, suffix, DATA), size=size)]
    assert b"".join(chunks) == ROWS
    assert all(c.endswith(b"\n") for c in chunks)


def joined(path: Path, size: int = 1 << 20) -> bytes:
    return b"".join(b"".join(c.parts) for c in line_chunks(path, size=size))


def test_marker_split_across_reads_and_no_marker_at_all(tmp_path):
    # The marker straddling two reads, and a file without one (its rows are kept whole).
    for size in range(1, 12):
        for tail in (b"\\.\n", b"\\.\n\n\n", b"\\."):
            assert joined(write(tmp_path, "", b"a\nb\n" + tail), size) == b"a\nb\n"
    assert joined(write(tmp_path, "", b"a\nb\n")) == b"a\nb\n"
    assert joined(write(tmp_path, "", b"a\nb")) == b"a\nb"  # a last row without its newline
    assert joined(write(tmp_path, "", b"\\.\n")) == b""


@pytest.mark.parametrize("size", [1, 2, 3, 5, 1 << 20])
def test_blank_rows_and_escaped_backslash_dot_rows_are_data(tmp_path, size):
    # A one-column table's empty strings are blank lines; a value "\." is the line "\\.":
    # neither is the end marker, wherever a read ends.
    for rows in (b"\n\n\\\\.\n\n\\\\.\n", b"\\\\.\n\n\n"):  # the last: blank rows before the marker
        assert joined(write(tmp_path, "", rows), size) == rows
        assert joined(write(tmp_path, "", rows + b"\\.\n\n\n"), size) == rows


TOC = """;
; Archive created at 2026-12-03 21:40:05 UTC
;     dbname: bench
;     Encoding: UTF8
;
215; 1259 16386 TABLE public ir_module_module postgres
2641; 0 16432 TABLE DATA public account_move_line postgres
2643; 0 16443 TABLE DATA public mail_message postgres
2645; 0 16453 TABLE DATA public "Odd Name" postgres
2637; 0 16406 TABLE DATA public res_partner postgres
3001; 0 0 SEQUENCE SET public res_partner_id_seq postgres
"""


def test_plan_takes_large_plain_named_tables_largest_first(tmp_path):
    (tmp_path / "2641.dat.zst").write_bytes(b"x" * 300)
    (tmp_path / "2643.dat.gz").write_bytes(b"x" * 500)
    (tmp_path / "2645.dat.zst").write_bytes(b"x" * 900)  # a name -l does not quote: left alone
    (tmp_path / "2637.dat.zst").write_bytes(b"x" * 10)  # too small
    p = plan(TOC, tmp_path, 100)
    assert [t.table for t in p.split] == ["mail_message", "account_move_line"]
    assert p.encoding == "UTF8"
    rest = p.rest_list().splitlines()
    assert ";2641; 0 16432 TABLE DATA public account_move_line postgres" in rest
    assert ";2643; 0 16443 TABLE DATA public mail_message postgres" in rest
    assert "2637; 0 16406 TABLE DATA public res_partner postgres" in rest
    assert "3001; 0 0 SEQUENCE SET public res_partner_id_seq postgres" in rest


def test_split_threshold_from_the_environment(tmp_path, monkeypatch):
    from tasks.core.errors import BadInput

    (tmp_path / "2637.dat.zst").write_bytes(b"x" * 10)
    (tmp_path / "2641.dat.zst").write_bytes(b"x" * (64 << 20))
    sizes = [10, 64 << 20]
    monkeypatch.delenv("STACK_SPLIT_MIN_MB", raising=False)
    # By default: what outlasts the rest with 2 jobs (over half of all data), ≥ 32 MB.
    assert [t.table for t in plan(TOC, tmp_path, threshold(sizes, 2)).split] == [
        "account_move_line"
    ]
    assert threshold([10, 20 << 20], 2) == AUTO_MIN_BYTES  # a small database: nothing split
    assert threshold(sizes, 1) is None  # one job: nothing to run beside
    assert threshold([40 << 20, 40 << 20], 2) == (40 << 20) + 1  # evenly spread: no split
    monkeypatch.setenv("STACK_SPLIT_MIN_MB", "off")
    assert threshold(sizes, 2) is None
    monkeypatch.setenv("STACK_SPLIT_MIN_MB", "0")
    assert [t.table for t in plan(TOC, tmp_path, threshold(sizes, 2)).split] == [
        "account_move_line",
        "res_partner",
    ]
    monkeypatch.setenv("STACK_SPLIT_MIN_MB", "lots")
    with pytest.raises(BadInput, match="STACK_SPLIT_MIN_MB"):
        threshold(sizes, 2)


def test_buffers_put_back_are_reused_without_mixing_pieces(tmp_path):
    # As load_split does: a piece's buffer goes back to the free list once it is sent.
    free: list = []
    seen, out = set(), []  # the buffers stay referenced by ``free``: ids are not recycled
    for piece in line_chunks(write(tmp_path, ".zst", DATA), size=64, free=free):
        out.append(b"".join(piece.parts))
        if piece.buffer is not None:
            seen.add(id(piece.buffer))
            free.append(piece.buffer)
    assert b"".join(out) == ROWS
    assert len(seen) == 1  # each read into the buffer the last piece was sent from
