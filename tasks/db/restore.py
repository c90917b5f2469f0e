"""db.restore and db.verify: a set back into a (new) database and filestore."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ..core.console import step
from ..core.envconfig import EnvSpec
from ..core.errors import BadInput, CheckFailed
from ..core.secrets import Secrets
from . import filestore, pg
from .backup import backup_dir, conn_for
from .sets import FILESTORE, MANIFEST, check_artifacts, load_manifest, parse_id


@dataclass
class Fetched:
    set_id: str
    path: Path
    manifest: dict
    temporary: bool = False
    unchecked: bool = False  # fetch(defer_check=True): check() before using the dump

    def check(self) -> None:
        """The sha256 of every artifact but the filestore archive (hashed as it is
        extracted), if fetch left it for later."""
        if self.unchecked:
            with step(f"checking sha256 of {self.set_id}"):
                check_artifacts(self.path, self.manifest, skip=_checked_later(self.manifest))
            self.unchecked = False

    def cleanup(self) -> None:
        if self.temporary:
            shutil.rmtree(self.path, ignore_errors=True)


def fetch(env: EnvSpec, secrets: Secrets, set_id: str | None, defer_check: bool = False) -> Fetched:
    """The set from the local backup dir, else from S3 into a temp folder; checksums checked
    (``defer_check``: a plain local set's are left to Fetched.check, so a restore can start
    extracting the filestore meanwhile)."""
    from .catalog import catalog

    sets = catalog(env, secrets)
    if not sets:
        raise BadInput(f"no backups for env {env.name}", hint=f"invoke db.backup --env {env.name}")
    if set_id is None:
        usable = [s for s in sets if not s.damaged]
        if not usable:
            raise CheckFailed(
                f"every backup of env {env.name} is damaged",
                hint=f"see: invoke db.list --env {env.name}",
            )
        info = usable[-1]
    else:
        info = next((s for s in sets if s.id == set_id), None)
        if info is None:
            raise BadInput(
                f"backup {set_id!r} not found for env {env.name}",
                hint=f"see: invoke db.list --env {env.name}",
            )
    local = backup_dir(env) / info.id
    if "local" in info.locations:
        manifest = load_manifest(local / MANIFEST)
        fetched = Fetched(info.id, local, manifest, unchecked=True)
        if not (defer_check and _checked_later(manifest)):
            fetched.check()  # an encrypted set: checked before it is decrypted
        return _plain(env, secrets, fetched)
    from .s3store import S3Store

    store = S3Store(env.backup.s3, secrets)  # type: ignore[union-attr]
    tmp = Path(tempfile.mkdtemp(prefix=f".fetch-{info.id}-", dir=_scratch_parent(env)))
    try:
        with step(f"downloading {info.id} from {store.where}"):
            manifest = store.download_set(info.id, tmp)
        with step(f"checking sha256 of {info.id}"):
            check_artifacts(tmp, manifest, skip=_checked_later(manifest))
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return _plain(env, secrets, Fetched(info.id, tmp, manifest, temporary=True))


def _checked_later(manifest: dict) -> tuple[str, ...]:
    # A plain filestore archive is hashed while it is extracted (one read instead of two);
    # an encrypted one is checked up front, before it is decrypted.
    return () if manifest.get("encryption") else (FILESTORE,)


def filestore_sha(manifest: dict) -> str | None:
    if manifest.get("encryption"):
        return None  # the .age file was checked, and age authenticates what it decrypts
    return next(a["sha256"] for a in manifest["artifacts"] if a["path"] == FILESTORE)


def _plain(env: EnvSpec, secrets: Secrets, fetched: Fetched) -> Fetched:
    """An encrypted set, decrypted (streamed) into a temp folder next to the backups."""
    if not fetched.manifest.get("encryption"):
        return fetched
    from .crypto import SUFFIX, decrypt_to, identity

    ident = identity(secrets)
    tmp = Path(tempfile.mkdtemp(prefix=f".plain-{fetched.set_id}-", dir=_scratch_parent(env)))
    try:
        with step(f"decrypting {fetched.set_id}"):
            for a in fetched.manifest["artifacts"]:
                decrypt_to(fetched.path / a["path"], tmp / a["path"].removesuffix(SUFFIX), ident)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        fetched.cleanup()
    return Fetched(fetched.set_id, tmp, fetched.manifest, temporary=True)


def _scratch_parent(env: EnvSpec) -> Path:
    p = backup_dir(env)
    p.mkdir(parents=True, exist_ok=True)
    return p


def database_exists(admin, name: str) -> bool:
    with admin.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        return cur.fetchone() is not None


def drop_database(admin, name: str) -> None:
    from psycopg import sql

    with admin.cursor() as cur:
        cur.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
        cur.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))


def create_database(admin, name: str, locale: dict | None = None) -> None:
    """An empty database from template0, with the encoding and locale the backed-up one had
    (``locale``, from the manifest; None: the server's defaults)."""
    import psycopg
    from psycopg import sql

    from . import dblocale

    with admin.cursor() as cur:
        stmt = sql.SQL("CREATE DATABASE {} TEMPLATE template0 {}").format(
            sql.Identifier(name), dblocale.create_clause(locale, pg.server_major(cur))
        )
        try:
            cur.execute(stmt)
        except psycopg.errors.DatabaseError as e:
            # 42809/22023: a locale the server does not have, or one that does not go with
            # the encoding. Anything else is not about the locale: as it is.
            if locale is None or e.sqlstate not in ("42809", "22023"):
                raise
            first = str(e).strip().splitlines()[0]
            raise BadInput(
                f"cannot create database {name!r} as the backup's was "
                f"({dblocale.describe(locale)}): {first}",
                hint="restore onto a server that has that locale",
            ) from None


SORT_MEM_MB = 512  # per index build, where the server's size is not known


def sort_mem_mb(plan: str | None, jobs: int) -> int:
    """maintenance_work_mem for each restore session. pg_restore -j builds up to ``jobs``
    indexes at once, each with up to this much memory: on a managed plan of known size they
    get a quarter of its RAM between them (its shared buffers already hold another
    quarter), so a restore into a 1 or 2 GB database does not run it out of memory."""
    if plan is None:
        return SORT_MEM_MB
    from ..render.sizing import db_limits

    _, ram_mb, _ = db_limits(plan, 1)  # an unknown slug: one error naming it
    return max(64, min(SORT_MEM_MB, (ram_mb or 0) // (4 * jobs)))


def pg_restore(env: EnvSpec, secrets: Secrets, fetched: Fetched, target: str) -> list:
    """The dump into ``target``: the schema; autovacuum held off the new tables (autovac);
    data, indexes and constraints with pg_restore -j (a table whose COPY would outlast all
    the others' is split across parallel COPYs: splitload). Returns the paused tables: the
    caller turns autovacuum back on (autovac.resume) once the rest of the restore is done."""
    from . import autovac, splitload

    conn = conn_for(env, secrets).with_db(target)
    with pg.connect(conn.with_db("postgres")) as admin, admin.cursor() as cur:
        server = pg.server_major(cur)
    restore_bin, _ = pg.find_tool("pg_restore", server)
    jobs = env.backup.jobs if env.backup else 2
    dump = fetched.path / "db"
    plan = splitload.Plan("")
    sizes = splitload.data_sizes(dump)
    min_bytes = splitload.threshold(sizes, jobs)
    if min_bytes is not None and any(n >= min_bytes for n in sizes):  # the TOC a split needs
        # Verbose: with each entry's dependencies, to schedule against the split data.
        listed = pg.run_tool([restore_bin, "--list", "--verbose", str(dump)], conn)
        if not listed.ok:
            raise CheckFailed(f"pg_restore --list {dump} failed: {listed.last_error_line()}")
        plan = splitload.plan(listed.stdout, dump, min_bytes)
    # Session settings any user may set, also on a managed server: bigger sorts for the
    # index builds, no waiting for WAL flushes (a failed restore is dropped anyway).
    session = (
        f"-c maintenance_work_mem={sort_mem_mb(env.db.plan, jobs)}MB -c synchronous_commit=off"
    )

    both = ("--section=data", "--section=post-data", f"--jobs={jobs}")

    def run(what: str, *args: str) -> None:
        res = pg.run_tool(
            [
                restore_bin,
                "--no-owner",
                "--no-privileges",
                "--exit-on-error",
                f"--dbname={target}",
                *args,
                str(dump),
            ],
            conn,
            extra_env={"PGOPTIONS": session},
        )
        if not res.ok:
            raise CheckFailed(f"pg_restore ({what}) into {target} failed: {res.last_error_line()}")

    with step(f"pg_restore pre-data (schema) into {target}"):
        run("pre-data", "--section=pre-data")
    with pg.connect(conn) as db, db.cursor() as cur:
        paused = autovac.pause(cur)
    if plan.split:
        names = ", ".join(t.table for t in plan.split)
        first, after = plan.phase_lists()
        with tempfile.TemporaryDirectory(prefix="stack-restore-") as tmp:
            lists = Path(tmp) / "first.list", Path(tmp) / "after.list"
            lists[0].write_text(first)
            lists[1].write_text(after)
            with step(
                f"{names} in {jobs} COPY streams each; beside them pg_restore -j {jobs}: "
                "the other tables, their indexes and constraints"
            ):
                from concurrent.futures import ThreadPoolExecutor

                with ThreadPoolExecutor(1) as pool:
                    rest = pool.submit(run, "data", *both, "-L", str(lists[0]))
                    try:
                        for t in plan.split:
                            splitload.load_split(conn, t, jobs, plan.encoding)
                    finally:
                        rest.result()
            with step(f"pg_restore -j {jobs}: indexes and constraints of {names}"):
                run("post-data", *both, "-L", str(lists[1]))
    else:
        # One run for both: pg_restore -j builds a table's indexes as soon as its data is
        # in, beside the other tables' COPYs.
        with step(f"pg_restore -j {jobs} data, indexes and constraints"):
            run("data", *both)
    return paused


def filestore_for(env: EnvSpec, dbname: str) -> Path:
    """Odoo keeps <data_dir>/filestore/<db>: a restored copy goes beside the original."""
    if env.filestore is None:
        raise BadInput(f"stack.toml: [env.{env.name}.filestore] path is missing")
    return env.filestore.parent / dbname


def _staging_for(dest: Path) -> Path:
    """Where the filestore is extracted: beside its destination (one rename away)."""
    return dest.parent / f".{dest.name}.restore-{os.getpid()}-{int(time.time())}"


def _put_in_place(staged: Path, dest: Path) -> None:
    """The extracted tree at ``dest``; a tree already there (a --force restore, its safety
    backup taken) is moved aside first, so ``dest`` is never half one and half the other."""
    old = dest.parent / f".{dest.name}.replaced-{os.getpid()}-{int(time.time())}"
    if dest.exists():
        dest.rename(old)
    staged.rename(dest)
    shutil.rmtree(old, ignore_errors=True)


class Extraction:
    """filestore.extract in a low-priority process of its own (see fsworker), started now;
    result() waits for it (from one thread), cancel() stops it (the restore failed)."""

    def __init__(self, archive: Path, dest: Path, sha256: str | None) -> None:
        import subprocess
        import sys

        # The worker imports this very package (tasks/db/restore.py -> the folder above).
        pkg_root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (pkg_root, env.get("PYTHONPATH")) if p)
        args = [sys.executable, "-m", "tasks.db.fsworker", str(archive), str(dest)]
        self.archive = archive
        self._proc = subprocess.Popen(
            [*args, *([sha256] if sha256 else [])],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )

    def cancel(self) -> None:
        """Stop it; result() (waited on elsewhere) then fails."""
        if self._proc.poll() is None:
            self._proc.kill()

    def result(self) -> filestore.TreeStats:
        import json

        out_text, err = self._proc.communicate()
        try:
            out = json.loads(out_text.strip().splitlines()[-1])
        except (IndexError, ValueError):
            last = err.strip().splitlines()[-1] if err.strip() else f"exit {self._proc.returncode}"
            raise CheckFailed(f"extracting {self.archive} failed: {last}") from None
        if "error" in out:
            cls = BadInput if out["error"] == "BadInput" else CheckFailed
            raise cls(out["message"], hint=out["hint"], details=out["details"])
        return filestore.TreeStats(out["files"], out["bytes"])


def restore_into(
    env: EnvSpec,
    secrets: Secrets,
    fetched: Fetched,
    target: str,
    fs_dest: Path | None,
    prepare: Callable[[], None] | None = None,
    finish: Callable[[], None] | None = None,
) -> filestore.TreeStats | None:
    """The filestore extraction from the start, beside everything else: ``prepare`` (the
    set's remaining checks, the target database made), pg_restore (mostly the database
    server's work), ``finish`` (neutralizing). The extraction is a low-priority process of
    ours, into a folder beside ``fs_dest``; it is put in place only once all of that
    succeeded, so a failed restore leaves no filestore behind. Autovacuum comes back on
    only when the extraction is done too: its first passes over millions of new rows would
    otherwise take the cores the extraction waits for."""
    from concurrent.futures import ThreadPoolExecutor

    from . import autovac

    staged = _staging_for(fs_dest) if fs_dest else None
    job = None

    def extracted() -> filestore.TreeStats | None:
        if job is None:
            return None
        with step(f"extracting filestore into {fs_dest}"):
            return job.result()

    with ThreadPoolExecutor(1) as pool:
        try:
            if staged is not None:
                staged.parent.mkdir(parents=True, exist_ok=True)
                sha = filestore_sha(fetched.manifest)
                job = Extraction(fetched.path / FILESTORE, staged, sha)
            fs = pool.submit(extracted)
            if prepare:
                prepare()
            fetched.check()
            paused = pg_restore(env, secrets, fetched, target)
            stats = fs.result()
            with pg.connect(conn_for(env, secrets).with_db(target)) as db, db.cursor() as cur:
                autovac.resume(cur, paused)
            if finish:
                finish()
        except BaseException:
            if job:
                job.cancel()  # the pool's exit waits for it to be gone
            if staged is not None:
                pool.shutdown(wait=True)
                shutil.rmtree(staged, ignore_errors=True)
            raise
    if staged is not None and fs_dest is not None:
        _put_in_place(staged, fs_dest)
    return stats


@dataclass
class RestoreResult:
    set_id: str
    database: str
    filestore: Path | None
    safety_backup: str | None = None
    seconds: float = 0.0
    neutralized: list[str] = field(default_factory=list)


def restore(
    env: EnvSpec,
    secrets: Secrets,
    set_id: str | None,
    as_name: str | None,
    force: bool,
    neutralize: bool,
) -> RestoreResult:
    from .backup import create
    from .neutralize import neutralize as do_neutralize

    t0 = time.monotonic()
    target = as_name or env.db.name
    sort_mem_mb(env.db.plan, 1)  # an unknown plan slug is refused before anything changes
    conn = conn_for(env, secrets)
    with pg.connect(conn.with_db("postgres")) as admin:
        exists = database_exists(admin, target)
    if exists and not force:
        raise BadInput(
            f"database {target!r} already exists on {env.db.host}",
            hint="restore with --as NEWNAME, or --force to replace it (a safety "
            "backup is taken first)",
        )
    fs_dest = filestore_for(env, target) if env.filestore is not None else None
    if fs_dest and fs_dest.exists() and any(fs_dest.iterdir()) and not force:
        raise BadInput(
            f"filestore {fs_dest} exists and is not empty",
            hint="restore --as another name, or --force",
        )
    fetched = fetch(env, secrets, set_id, defer_check=True)
    safety: str | None = None
    done: list[str] = []
    created = False

    def prepare() -> None:
        nonlocal safety, created
        fetched.check()  # a damaged set is refused before anything is replaced
        with pg.connect(conn.with_db("postgres")) as admin:
            if database_exists(admin, target):
                if target == env.db.name:
                    safety = create(env, secrets, label=f"pre-restore-{target}").id
                else:
                    safety = _safety_backup_of(env, secrets, target)
                drop_database(admin, target)
            created = True  # from here on, a failure drops what was begun
            create_database(admin, target, fetched.manifest.get("locale"))

    def finish() -> None:
        nonlocal done
        if neutralize:
            with pg.connect(conn.with_db(target)) as db:
                done = do_neutralize(db, source=f"{env.name}/{fetched.set_id}")

    try:
        try:
            restore_into(env, secrets, fetched, target, fs_dest, prepare, finish)
        except BaseException:
            # No half-restored database is left behind (a replaced one has its safety backup;
            # one that failed its checks or its safety backup is still there, untouched).
            if created:
                with pg.connect(conn.with_db("postgres")) as admin2:
                    drop_database(admin2, target)
            raise
        return RestoreResult(fetched.set_id, target, fs_dest, safety, time.monotonic() - t0, done)
    finally:
        fetched.cleanup()


def _safety_backup_of(env: EnvSpec, secrets: Secrets, dbname: str) -> str:
    """Back up another database of the same server/filestore root before replacing it."""
    from dataclasses import replace

    from .backup import create

    other = replace(
        env,
        db=replace(env.db, name=dbname),
        filestore=filestore_for(env, dbname) if env.filestore else None,
    )
    return create(other, secrets, label=f"pre-restore-{dbname}").id


def age_of(set_id: str) -> float:
    parsed = parse_id(set_id)
    return (datetime.now(UTC) - parsed[0]).total_seconds() if parsed else float("nan")
