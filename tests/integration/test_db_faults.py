"""Faults: an old pg_dump, a full disk, a tampered archive."""

import hashlib
import io
import json
import os
import subprocess
import tarfile

import pytest
import zstandard
from conftest import need

pytestmark = pytest.mark.integration


def test_pg_dump_older_than_server_fails_before_dumping(odoo_env, tmp_path):
    server_major = int(odoo_env.sql("SHOW server_version_num")[0][0]) // 10000
    old = server_major - 1
    lib = tmp_path / "pglib" / str(old) / "bin"
    lib.mkdir(parents=True)
    fake = lib / "pg_dump"
    # Stands in for an older client install: only its version answer matters here.
    fake.write_text(f"#!/bin/sh\necho 'pg_dump (PostgreSQL) {old}.9'\n")
    fake.chmod(0o755)
    empty = tmp_path / "emptybin"
    empty.mkdir()
    r = odoo_env.project.run(
        "db.backup",
        "--env",
        "local",
        extra_env={"STACK_PG_LIB": str(tmp_path / "pglib"), "PATH": str(empty)},
    )
    assert r.code == 2
    assert (
        f"pg_dump {server_major} or newer is needed for a PostgreSQL {server_major} server" in r.err
        and f"found: {old}" in r.err
    )
    assert not odoo_env.backups.exists() or not any(odoo_env.backups.iterdir())


def test_disk_full_mid_backup_leaves_nothing(odoo_env):
    need(os.geteuid() == 0, "root (to mount a small tmpfs)", "run the tests as root, as CI does")
    odoo_env.backups.mkdir(parents=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=300k", "tmpfs", str(odoo_env.backups)],
        capture_output=True,
        check=False,
    )
    need(mounted.returncode == 0, "mount -t tmpfs", mounted.stderr.decode().strip())
    try:
        r = odoo_env.project.run("db.backup", "--env", "local")
        assert r.code == 1, r.out + r.err
        assert "No space left on device" in r.err or "disk full" in r.err
        assert list(odoo_env.backups.iterdir()) == []  # no partial set, no temp files
        r = odoo_env.project.run("db.list", "--env", "local", "--json")
        assert json.loads(r.out)["backups"] == []
    finally:
        subprocess.run(["umount", str(odoo_env.backups)], check=False)


def test_tampered_archive_is_refused_and_nothing_is_left(odoo_env):
    r = odoo_env.project.run("db.backup", "--env", "local", "--json")
    set_dir = odoo_env.backups / json.loads(r.out)["id"]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("../../escaped")
        info.size = 4
        tar.addfile(info, io.BytesIO(b"evil"))
    data = zstandard.ZstdCompressor().compress(buf.getvalue())
    (set_dir / "filestore.tar.zst").write_bytes(data)
    man = json.loads((set_dir / "manifest.json").read_text())
    for a in man["artifacts"]:
        if a["path"] == "filestore.tar.zst":  # consistent checksums: only extraction can tell
            a.update(bytes=len(data), sha256=hashlib.sha256(data).hexdigest())
    (set_dir / "manifest.json").write_text(json.dumps(man))
    target = odoo_env.dbname + "_x"
    r = odoo_env.project.run("db.restore", "--env", "local", "--as", target)
    assert r.code == 1 and "unsafe entry '../../escaped' refused" in r.err
    assert odoo_env.sql("SELECT 1 FROM pg_database WHERE datname = %s", None, (target,)) == []
    assert not (odoo_env.filestore.parent / target).exists()
    assert not list(odoo_env.filestore.parent.parent.rglob("escaped"))
