"""splitload: whole COPY lines in every chunk, the end marker dropped, the TOC list edited."""

import gzip
from pathlib import Path

import pytest
import zstandard

from tasks.db.splitload import AUTO_MIN_BYTES, dependencies, line_chunks, plan, threshold

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
224; 1259 16432 TABLE public account_move_line postgres
226; 1259 16443 TABLE public mail_message postgres
228; 1259 16453 TABLE public "Odd Name" postgres
220; 1259 16406 TABLE public res_partner postgres
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
    first, after = (lst.splitlines() for lst in p.phase_lists())
    assert ";2641; 0 16432 TABLE DATA public account_move_line postgres" in first
    assert ";2643; 0 16443 TABLE DATA public mail_message postgres" in first
    assert "2637; 0 16406 TABLE DATA public res_partner postgres" in first
    assert "3001; 0 0 SEQUENCE SET public res_partner_id_seq postgres" in first
    # Nothing depends on them: only their (pre-data, skipped there) TABLE entries are left.
    assert {line.split(";")[0] for line in after if line[:1].isdigit()} == {"224", "226"}


# `pg_restore -l -v`: each entry with what it depends on.
VERBOSE_TOC = """;
;     Encoding: UTF8
;
224; 1259 16432 TABLE public account_move_line postgres
223; 1259 16431 SEQUENCE public account_move_line_id_seq postgres
;	depends on: 224
220; 1259 16406 TABLE public res_partner postgres
230; 1259 16500 TABLE public account_partial_reconcile postgres
2641; 0 16432 TABLE DATA public account_move_line postgres
;	depends on: 224
2637; 0 16406 TABLE DATA public res_partner postgres
;	depends on: 220
2650; 0 16500 TABLE DATA public account_partial_reconcile postgres
;	depends on: 230
2671; 0 0 SEQUENCE SET public account_move_line_id_seq postgres
;	depends on: 223
2472; 2606 16439 CONSTRAINT public account_move_line account_move_line_pkey postgres
;	depends on: 224
2464; 2606 16414 CONSTRAINT public res_partner res_partner_pkey postgres
;	depends on: 220
2470; 1259 16440 INDEX public account_move_line_partner postgres
;	depends on: 224
2475; 0 0 COMMENT public INDEX account_move_line_partner postgres
;	depends on: 2470
2480; 2606 16510 FK CONSTRAINT public account_partial_reconcile apr_debit_fkey postgres
;	depends on: 230 2472 224
2481; 2606 16511 FK CONSTRAINT public account_move_line aml_partner_fkey postgres
;	depends on: 224 2464 220
"""


def test_phase_lists_hold_back_only_what_needs_the_split_data(tmp_path):
    (tmp_path / "2641.dat.zst").write_bytes(b"x" * 300)
    (tmp_path / "2637.dat.zst").write_bytes(b"x" * 10)
    (tmp_path / "2650.dat.zst").write_bytes(b"x" * 10)
    p = plan(VERBOSE_TOC, tmp_path, 100)
    assert [t.table for t in p.split] == ["account_move_line"] and p.tables == ("224",)
    active = [
        {line.split(";")[0] for line in lst.splitlines() if line[:1].isdigit()}
        for lst in p.phase_lists()
    ]
    # Beside the split COPYs: the other tables' data and their own indexes/constraints.
    assert {"2637", "2650", "2464"} <= active[0]
    # After them: its indexes, a comment on one, foreign keys from and to it, its sequence.
    assert {"2472", "2470", "2475", "2480", "2481", "2671"} <= active[1]
    assert not active[0] & active[1]
    assert "2641" not in active[0] | active[1]  # its data is loaded by the split COPYs
    # An entry is in exactly one of them (pre-data ones are skipped by --section anyway).
    assert active[0] | active[1] | {"2641"} == set(dependencies(VERBOSE_TOC))


def test_a_table_without_its_table_entry_is_not_split(tmp_path):
    (tmp_path / "2641.dat.zst").write_bytes(b"x" * 300)
    toc = "\n".join(line for line in VERBOSE_TOC.splitlines() if not line.startswith("224; "))
    assert plan(toc, tmp_path, 100).split == []


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
