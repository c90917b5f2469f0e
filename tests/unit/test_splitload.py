"""splitload: whole COPY lines in every chunk, the end marker dropped, the TOC list edited."""

import gzip
from pathlib import Path

import pytest
import zstandard

from tasks.db.splitload import line_chunks, plan

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
    chunks = list(line_chunks(write(tmp_path, suffix, DATA), size=size))
    assert b"".join(chunks) == ROWS
    assert all(c.endswith(b"\n") and c for c in chunks)


def test_marker_split_across_reads_and_no_marker_at_all(tmp_path):
    # The marker straddling two reads, and a file without one (its rows are kept whole).
    for size in range(1, 12):
        assert b"".join(line_chunks(write(tmp_path, "", b"a\nb\n\\.\n"), size=size)) == b"a\nb\n"
    assert b"".join(line_chunks(write(tmp_path, "", b"a\nb\n"))) == b"a\nb\n"
    assert b"".join(line_chunks(write(tmp_path, "", b"\\.\n"))) == b""


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
    p = plan(TOC, tmp_path, min_bytes=100)
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
    monkeypatch.delenv("STACK_SPLIT_MIN_MB", raising=False)
    assert plan(TOC, tmp_path).split == []  # off unless asked for, however large
    monkeypatch.setenv("STACK_SPLIT_MIN_MB", "32")
    assert [t.table for t in plan(TOC, tmp_path).split] == ["account_move_line"]
    monkeypatch.setenv("STACK_SPLIT_MIN_MB", "0")
    assert [t.table for t in plan(TOC, tmp_path).split] == ["account_move_line", "res_partner"]
    monkeypatch.setenv("STACK_SPLIT_MIN_MB", "lots")
    with pytest.raises(BadInput, match="STACK_SPLIT_MIN_MB"):
        plan(TOC, tmp_path)
