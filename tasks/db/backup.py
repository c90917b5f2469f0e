"""db.backup: database + filestore as one set, manifest last, optionally offsite."""

from __future__ import annotations

import json
import os
import platform
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ..core.console import step
from ..core.download import sha256_file
from ..core.envconfig import EnvSpec
from ..core.errors import BadInput, CheckFailed
from ..core.fs import atomic_write_text
from ..core.secrets import Secrets
from . import dblocale, filestore, pg
from .counts import table_counts
from .sets import FILESTORE, FORMAT, MANIFEST, new_id


@dataclass(frozen=True)
class BackupResult:
    id: str
    path: Path
    manifest: dict
    offsite: str | None


def conn_for(env: EnvSpec, secrets: Secrets) -> pg.Conn:
    cert = env.db.sslrootcert
    if cert is not None and not cert.is_file():
        # libpq would only say "could not read root certificate file" once connecting.
        raise BadInput(
            f"stack.toml: [env.{env.name}.db] sslrootcert {cert} does not exist",
            hint="download the database's CA certificate (DigitalOcean: the cluster's "
            "Connection details) to that path",
        )
    return pg.Conn(env.db, secrets.get("DB_PASSWORD"), env.db.name)


def backup_dir(env: EnvSpec) -> Path:
    if env.backup is None:
        raise BadInput(
            f"stack.toml: [env.{env.name}.backup] is missing",
            hint="add dir (and/or s3) and keep; see docs/stack-toml.md",
        )
    if env.backup.dir is None:
        # S3-only: sets are staged locally before upload.
        return env.root / "build" / "backups" / env.name
    return env.backup.dir


def _dump_compression(major: int, level: int) -> str:
    # zstd from pg_dump 16 on; gzip before, at a low level: on a few cores the dump is
    # CPU-bound, and a level above ~3 buys little size for a lot of time.
    return f"zstd:{level}" if major >= 16 else str(min(level, 3))


def _snapshot_info(cur) -> dict:
    """Odoo facts and exact per-table row counts, inside the dump's own snapshot."""
    info: dict = {"modules": {}, "tables": {}, "odoo_version": None}
    cur.execute("SELECT to_regclass('ir_module_module') IS NOT NULL")
    if cur.fetchone()[0]:
        cur.execute(
            "SELECT name, latest_version FROM ir_module_module "
            "WHERE state = 'installed' ORDER BY name"
        )
        info["modules"] = {n: v for n, v in cur.fetchall()}
        info["odoo_version"] = info["modules"].get("base")
    info["tables"] = table_counts(cur)
    return info


def create(
    env: EnvSpec, secrets: Secrets, label: str | None = None, now: datetime | None = None
) -> BackupResult:
    """Dump, archive, hash, write the manifest last, then rename into place."""
    root = backup_dir(env)
    conn = conn_for(env, secrets)
    started = now or datetime.now(UTC)
    set_id = new_id(started, label)
    root.mkdir(parents=True, exist_ok=True)
    final = root / set_id
    if final.exists() and now is None:
        # Ids have one-second resolution: a second backup in the same second (a pre-deploy
        # snapshot beside a scheduled one) waits for the next second instead of failing.
        import time

        time.sleep(1.05 - started.microsecond / 1e6)
        started = datetime.now(UTC)
        set_id = new_id(started, label)
        final = root / set_id
    if final.exists():
        raise BadInput(f"{final} already exists", hint="wait a second or pass another --label")
    staging = root / f".partial-{set_id}"
    db = pg.connect(conn, autocommit=False)
    try:
        with db.cursor() as cur:
            server = pg.server_major(cur)
            dump_bin, dump_major = pg.find_tool("pg_dump", server)
            db.rollback()
            cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cur.execute("SELECT pg_export_snapshot(), version()")
            snapshot, server_version = cur.fetchone()
            with step("counting rows in the dump's snapshot"):
                info = _snapshot_info(cur)
            locale = dblocale.read(cur)
            staging.mkdir()
            try:
                jobs = env.backup.jobs if env.backup else 2
                level = env.backup.level if env.backup else 3
                with step(f"pg_dump -Fd -j {jobs} ({Path(dump_bin).parent.parent.name})"):
                    res = pg.run_tool(
                        [
                            dump_bin,
                            "--format=directory",
                            f"--jobs={jobs}",
                            f"--compress={_dump_compression(dump_major, level)}",
                            f"--snapshot={snapshot}",
                            "--no-sync",
                            f"--file={staging / 'db'}",
                            env.db.name,
                        ],
                        conn,
                    )
                if not res.ok:
                    raise CheckFailed(f"pg_dump failed: {res.last_error_line()}")
                fs_root = env.filestore
                with step(f"filestore -> {FILESTORE} (zstd {level})"):
                    stats, fs_sha, fs_size = filestore.archive(
                        fs_root,
                        staging / FILESTORE,
                        level,
                        threads=max(1, jobs),
                    )
                missing: dict = {}
                if fs_root is not None:
                    from .attachments import missing_files

                    missing = missing_files(cur, fs_root)
                recips = env.backup.recipients if env.backup else ()
                if recips:
                    from .crypto import encrypt_in_place, recipients

                    keys = recipients(recips)
                    with step(f"encrypting artifacts for {len(keys)} age recipient(s)"):
                        for p in [*sorted((staging / "db").rglob("*")), staging / FILESTORE]:
                            if p.is_file():
                                encrypt_in_place(p, keys)
                        fs_sha = sha256_file(staging / (FILESTORE + ".age"))
                        fs_size = (staging / (FILESTORE + ".age")).stat().st_size
                fs_name = FILESTORE + (".age" if recips else "")
                with step("sha256 of every artifact"):
                    artifacts = [
                        {
                            "path": str(p.relative_to(staging)),
                            "bytes": p.stat().st_size,
                            "sha256": sha256_file(p),
                        }
                        for p in sorted((staging / "db").rglob("*"))
                        if p.is_file()
                    ]
                    artifacts.append({"path": fs_name, "bytes": fs_size, "sha256": fs_sha})
                manifest = {
                    "format": FORMAT,
                    "id": set_id,
                    "label": label,
                    "env": env.name,
                    "database": env.db.name,
                    "odoo_version": info["odoo_version"],
                    "locale": locale,  # pg_dump does not carry it; the restore recreates it
                    "server_version": server_version,
                    "server_major": server,
                    "pg_dump": {"path": dump_bin, "major": dump_major},
                    "host": platform.node(),
                    "started_at": started.isoformat(),
                    "finished_at": datetime.now(UTC).isoformat(),
                    "modules": info["modules"],
                    "tables": info["tables"],
                    "filestore": {
                        "path": str(fs_root) if fs_root else None,
                        "files": stats.files,
                        "bytes": stats.bytes,
                        # ir_attachment rows (in the snapshot) whose file was not there
                        "attachments": missing,
                    },
                    "artifacts": artifacts,
                    "encryption": {"format": "age", "recipients": list(recips)} if recips else None,
                }
                atomic_write_text(staging / MANIFEST, json.dumps(manifest, indent=2) + "\n")
                _fsync_dir(staging)
                staging.rename(final)
            except BaseException as e:
                shutil.rmtree(staging, ignore_errors=True)
                if isinstance(e, OSError) and e.errno == 28:  # ENOSPC
                    raise CheckFailed(
                        f"disk full while writing the backup under {root}; "
                        "the partial set was removed",
                        hint="free space or point [backup] dir elsewhere",
                    ) from None
                raise
    finally:
        db.close()
    return BackupResult(set_id, final, manifest, None)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
