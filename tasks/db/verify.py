"""db.verify: prove a set restores: checksums, a scratch restore, counts against the manifest."""

from __future__ import annotations

import json
import secrets as pysecrets
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ..core.console import step
from ..core.envconfig import EnvSpec
from ..core.errors import CheckFailed
from ..core.fs import atomic_write_text
from ..core.secrets import Secrets
from . import pg
from .backup import backup_dir, conn_for
from .counts import table_counts
from .restore import age_of, create_database, drop_database, fetch, restore_into
from .sets import VERIFIED


@dataclass
class VerifyResult:
    set_id: str
    rto_seconds: float
    rpo_seconds: float
    tables: int
    rows: int
    files: int
    mismatches: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        return {
            "id": self.set_id,
            "ok": not self.mismatches,
            "rto_seconds": self.rto_seconds,
            "rpo_seconds": self.rpo_seconds,
            "tables": self.tables,
            "rows": self.rows,
            "filestore_files": self.files,
            "mismatches": self.mismatches,
        }


def _sanity(cur, manifest: dict) -> list[str]:
    problems = []
    if manifest.get("modules"):
        cur.execute("SELECT count(*) FROM ir_module_module WHERE state = 'installed'")
        n = cur.fetchone()[0]
        if n != len(manifest["modules"]):
            problems.append(
                f"installed modules: {n} restored, {len(manifest['modules'])} in the manifest"
            )
        cur.execute("SELECT count(*) FROM res_users WHERE active")
        if cur.fetchone()[0] == 0:
            problems.append("no active user in res_users")
    return problems


def _attachments(conn: pg.Conn, fs: Path, want: dict) -> list[str]:
    """More attachments without their file than the source had: the set lost files."""
    from .attachments import missing_files

    with pg.connect(conn) as db, db.transaction(), db.cursor() as cur:
        got = missing_files(cur, fs)
    before = (want.get("attachments") or {}).get("missing", 0)
    if got and got["missing"] > before:
        return [
            f"ir_attachment: {got['missing']} of {got['referenced']} stored attachments have "
            f"no file in the restored filestore ({before} at backup), e.g. "
            + ", ".join(got["sample"])
        ]
    return []


def verify(env: EnvSpec, secrets: Secrets, set_id: str | None) -> VerifyResult:
    t0 = time.monotonic()
    fetched = fetch(env, secrets, set_id)  # includes every sha256 check
    man = fetched.manifest
    scratch = f"{env.db.name}_verify_{pysecrets.token_hex(4)}"
    conn = conn_for(env, secrets)
    fs_tmp = None
    try:
        with pg.connect(conn.with_db("postgres")) as admin:
            create_database(admin, scratch, man.get("locale"))
        try:
            fs_tmp = tempfile.mkdtemp(prefix=".verify-fs-", dir=backup_dir(env))
            stats = restore_into(env, secrets, fetched, scratch, Path(fs_tmp) / "fs")
            assert stats is not None
            with pg.connect(conn.with_db(scratch)) as db, db.cursor() as cur:
                with step("comparing row counts with the manifest"):
                    got = table_counts(cur)
                mismatches = [
                    f"table {t}: {got.get(t, 'no')} rows restored, {n} in the manifest"
                    for t, n in man["tables"].items()
                    if got.get(t) != n
                ]
                mismatches += [
                    f"table {t}: restored but not in the manifest"
                    for t in got
                    if t not in man["tables"]
                ]
                mismatches += _sanity(cur, man)
            want = man["filestore"]
            mismatches += _attachments(conn.with_db(scratch), Path(fs_tmp) / "fs", want)
            if (stats.files, stats.bytes) != (want["files"], want["bytes"]):
                mismatches.append(
                    f"filestore: {stats.files} files / {stats.bytes} bytes "
                    f"restored, {want['files']} / {want['bytes']} in the manifest"
                )
        finally:
            with pg.connect(conn.with_db("postgres")) as admin:
                drop_database(admin, scratch)
            if fs_tmp:
                shutil.rmtree(fs_tmp, ignore_errors=True)
        result = VerifyResult(
            fetched.set_id,
            time.monotonic() - t0,
            age_of(fetched.set_id),
            len(man["tables"]),
            sum(man["tables"].values()),
            stats.files,
            mismatches,
        )
        if mismatches:
            raise CheckFailed(
                f"backup {fetched.set_id} failed verification",
                details=mismatches,
                hint="do not rely on this set",
            )
        _record(env, secrets, fetched, result)
        return result
    finally:
        fetched.cleanup()


def _record(env: EnvSpec, secrets: Secrets, fetched, result: VerifyResult) -> None:
    """verified.json beside the manifest, where the set lives (local and/or S3)."""
    record = {"verified_at": datetime.now(UTC).isoformat(), **result.as_json()}
    local = backup_dir(env) / fetched.set_id
    if (local / "manifest.json").is_file():
        atomic_write_text(local / VERIFIED, json.dumps(record, indent=2) + "\n")
    if env.backup and env.backup.s3 is not None:
        from .s3store import S3Store

        store = S3Store(env.backup.s3, secrets)
        if store.get_json(fetched.set_id, "manifest.json") is not None:
            store.put_json(fetched.set_id, VERIFIED, record)
