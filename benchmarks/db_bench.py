"""One command: odoo-stack's db.backup / db.restore against the formats people use today.

    python benchmarks/db_bench.py [--scale 1.0] [--keep]

Generates an Odoo-shaped database (scale 1.0: ~1.6 GB) and filestore (scale 1.0: 20,000
files, ~1 GB, half incompressible) on a throwaway PostgreSQL cluster, then times, in the
same run:
  * odoo-stack:      invoke db.backup / invoke db.restore --as NEW
  * click-odoo-zip:  click-odoo-contrib's "zip" format, reproduced with its commands:
                     plain pg_dump --no-owner to dump.sql + filestore copy + manifest.json,
                     zipped with Python's zipfile (deflate); restore as Odoo's restore_db
                     does it: unzip into a temp dir, psql -f, then shutil.move of the
                     filestore — a copy in the deployment we target (the temp dir in the
                     container's own layer, the filestore on a volume), so copied here; the
                     temp dir's removal is not timed
  * pg_dump -Fc:     pg_dump -Fc + tar czf of the filestore; restore: pg_restore + tar xzf
Reports wall time, size and peak RSS of each, and the ratios.

No file tree is deleted until every timing is taken: restores go to fresh names each round
and only the (few-file) databases are dropped. On a filesystem without a journal (these
machines' ext4) the inode allocator skips every inode freed in the last 60 s — 360 s while
its inode table block is dirty — one lookup each, so creating 20,000 files right after a
20,000-file delete cost several times the extraction itself, and that cost landed on
whichever tool ran next. A journaled disk (a droplet's) has no such penalty.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT / "tests"), str(ROOT)]

import pgdist  # noqa: E402
from odoodb import (  # noqa: E402
    CREATE_DATABASE,
    CREATEDB_ARGS,
    Scale,
    populate,
    write_filestore,
)
from services import start_pg  # noqa: E402

from tasks.db.restore import SORT_MEM_MB  # noqa: E402  (the same session settings)

ZIP_SCRIPT = r"""
import json, os, shutil, sys, zipfile
work, zip_path, fs = sys.argv[1:4]
shutil.copytree(fs, os.path.join(work, "filestore"))
with open(os.path.join(work, "manifest.json"), "w") as f:
    json.dump({"odoo_dump": "1", "db_name": "bench"}, f)
with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as z:
    for root, _dirs, files in os.walk(work):
        for name in sorted(files):
            p = os.path.join(root, name)
            z.write(p, os.path.relpath(p, work))
"""
UNZIP_SCRIPT = r"""
import sys, zipfile
zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])
"""


STEPS: list[str] = []  # odoo-stack's own step timings, for the record


def timed(cmd, env=None, cwd=None) -> tuple[float, int]:
    """Wall seconds and peak RSS (KB) of the command's own process, via GNU time."""
    t = time.perf_counter()
    cp = subprocess.run(
        ["/usr/bin/time", "-f", "%M", *cmd],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    dt = time.perf_counter() - t
    if cp.returncode:
        raise SystemExit(f"failed: {' '.join(map(str, cmd))}\n{cp.stdout}\n{cp.stderr[-3000:]}")
    lines = cp.stderr.strip().splitlines()
    STEPS.extend(ln for ln in lines[:-1] if ln.startswith(("-->", "    done")))
    return dt, int(lines[-1])


def settle() -> None:
    """Before each timed step: flush what earlier steps left dirty, so that no step pays
    for another's writeback (kernel flusher threads share the same two cores)."""
    os.sync()
    time.sleep(2)


def du(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3, help="restore rounds (median)")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    import psycopg

    # The source, its backups, one database at a time and every round's file trees.
    need = (8 + 4 * args.rounds) * args.scale * 1e9
    free = shutil.disk_usage("/tmp").free
    if free < need:
        raise SystemExit(
            f"db_bench: /tmp has {free / 1e9:.0f} GB free, this run needs about "
            f"{need / 1e9:.0f} GB; free some space or pass fewer --rounds or a smaller --scale"
        )
    srv = start_pg()
    work = Path(srv.datadir.parent / "bench")
    work.mkdir()
    res: dict = {"scale": args.scale}
    try:
        kw = dict(host=srv.host, port=srv.port, user=srv.user, password=srv.password)
        with psycopg.connect(dbname="postgres", autocommit=True, **kw) as c:
            c.execute(CREATE_DATABASE.format("bench"))
        sc = Scale(
            partners=int(300_000 * args.scale),
            move_lines=int(7_500_000 * args.scale),
            messages=int(800_000 * args.scale),
            files=int(20_000 * args.scale),
            mean_file_kb=52,
        )
        proj = work / "proj"
        fs = proj / "var" / "filestore" / "bench"
        t = time.perf_counter()
        with psycopg.connect(dbname="bench", autocommit=True, **kw) as c, c.cursor() as cur:
            populate(cur, sc)
            files, fs_bytes = write_filestore(cur, fs, sc)
            cur.execute("VACUUM ANALYZE")
            cur.execute("SELECT pg_database_size('bench')")
            db_bytes = cur.fetchone()[0]
        res["generated"] = {
            "db_bytes": db_bytes,
            "filestore_files": files,
            "filestore_bytes": fs_bytes,
            "seconds": time.perf_counter() - t,
        }
        print(
            f"generated: database {db_bytes / 1e9:.2f} GB, filestore {files} files "
            f"{fs_bytes / 1e9:.2f} GB in {res['generated']['seconds']:.0f}s",
            file=sys.stderr,
        )
        (proj / "stack.toml").write_text(f"""
[odoo]
version = "19.0"
[env.bench.db]
host = "127.0.0.1"
port = {srv.port}
name = "bench"
user = "postgres"
[env.bench.filestore]
path = "var/filestore/bench"
[env.bench.backup]
dir = "backups"
jobs = {args.jobs}
""")
        (proj / ".env.bench").write_text(f"DB_PASSWORD={srv.password}\n")
        env = dict(
            os.environ,
            STACK_ROOT=str(proj),
            STACK_PG_LIB=pgdist.pg_lib_path(),
            PGPASSWORD=srv.password,
            PGHOST=srv.host,
            PGPORT=str(srv.port),
            PGUSER=srv.user,
        )
        bindir = srv.bindir
        inv = [sys.executable, "-m", "invoke", "-r", str(ROOT)]

        def drop(db: str) -> None:
            with psycopg.connect(dbname="postgres", autocommit=True, **kw) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{db}"')

        def wait_quiet() -> None:
            """No step pays for another's leftovers: a checkpoint, the page cache's dirty
            data written, and no autovacuum worker still busy (bounded: 5 minutes)."""
            with psycopg.connect(dbname="postgres", autocommit=True, **kw) as c:
                for _ in range(300):
                    n = c.execute(
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE backend_type = 'autovacuum worker'"
                    ).fetchone()[0]
                    if not n:
                        break
                    time.sleep(1)
                c.execute("CHECKPOINT")
            settle()

        # --- backups, once each
        wait_quiet()
        secs, rss = timed([*inv, "db.backup", "--env", "bench", "--json"], env)
        set_dir = next((proj / "backups").iterdir())
        res["ours"] = {"backup_s": secs, "backup_rss_kb": rss, "bytes": du(set_dir)}
        # click-odoo-contrib's zip, reproduced
        z = work / "zip"
        (z / "tmp").mkdir(parents=True)
        wait_quiet()
        t = time.perf_counter()
        _d1, r1 = timed(
            [str(bindir / "pg_dump"), "--no-owner", "--file", str(z / "tmp" / "dump.sql"), "bench"],
            env,
        )
        _d2, r2 = timed(
            [sys.executable, "-c", ZIP_SCRIPT, str(z / "tmp"), str(z / "b.zip"), str(fs)], env
        )
        res["zip"] = {
            "backup_s": time.perf_counter() - t,
            "backup_rss_kb": max(r1, r2),
            "bytes": du(z / "b.zip"),
        }
        (z / "tmp" / "dump.sql").unlink()  # one inode; the tree stays (see the docstring)
        # pg_dump -Fc + tar czf
        f = work / "fc"
        f.mkdir()
        wait_quiet()
        t = time.perf_counter()
        _, r1 = timed([str(bindir / "pg_dump"), "-Fc", "--file", str(f / "db.dump"), "bench"], env)
        _, r2 = timed(["tar", "czf", str(f / "filestore.tgz"), "-C", str(fs), "."], env)
        res["fc_tgz"] = {
            "backup_s": time.perf_counter() - t,
            "backup_rss_kb": max(r1, r2),
            "bytes": du(f),
        }

        # --- restores: rounds that alternate the tools, each timed from a quiet machine and
        # cleaned up after, the median reported (these machines are shared and noisy).
        fs_root = proj / "var" / "filestore"

        def restore_ours(db: str) -> tuple[float, int]:
            STEPS.clear()
            out = timed([*inv, "db.restore", "--env", "bench", "--as", db], env)
            res["ours"]["steps"] = list(STEPS)
            return out

        def restore_zip(db: str) -> tuple[float, int]:
            t = time.perf_counter()
            x = z / db
            _, r1 = timed([sys.executable, "-c", UNZIP_SCRIPT, str(z / "b.zip"), str(x)], env)
            _, r2 = timed([str(bindir / "createdb"), *CREATEDB_ARGS, db], env)
            _, r3 = timed(
                [str(bindir / "psql"), "-q", "-X", "-v", "ON_ERROR_STOP=1", "-d", db,
                 "-f", str(x / "dump.sql")],
                env,
            )  # fmt: skip
            shutil.copytree(x / "filestore", fs_root / db)
            took = time.perf_counter() - t
            (x / "dump.sql").unlink()
            return took, max(r1, r2, r3)

        def restore_fc(db: str) -> tuple[float, int]:
            t = time.perf_counter()
            _, r1 = timed([str(bindir / "createdb"), *CREATEDB_ARGS, db], env)
            _, r2 = timed(
                [str(bindir / "pg_restore"), f"--jobs={args.jobs}", "--no-owner", "-d", db,
                 str(f / "db.dump")],
                env,
            )  # fmt: skip
            dest = fs_root / db
            dest.mkdir(parents=True)
            _, r3 = timed(["tar", "xzf", str(f / "filestore.tgz"), "-C", str(dest)], env)
            return time.perf_counter() - t, max(r1, r2, r3)

        def restore_floor(db: str) -> tuple[float, int]:
            # For scale: a plain `pg_restore -j` of our dump, database only (no filestore,
            # no checks), with the same jobs and session settings as db.restore.
            t = time.perf_counter()
            timed([str(bindir / "createdb"), *CREATEDB_ARGS, db], env)
            floor_env = dict(
                env, PGOPTIONS=f"-c maintenance_work_mem={SORT_MEM_MB}MB -c synchronous_commit=off"
            )
            _, rss = timed(
                [str(bindir / "pg_restore"), f"--jobs={args.jobs}", "--no-owner", "-d",
                 db, str(set_dir / "db")],
                floor_env,
            )  # fmt: skip
            return time.perf_counter() - t, rss

        runs = {
            "ours": restore_ours,
            "zip": restore_zip,
            "fc_tgz": restore_fc,
            "floor": restore_floor,
        }
        samples: dict[str, list[tuple[float, int]]] = {k: [] for k in runs}
        for rnd in range(args.rounds):
            order = list(runs) if rnd % 2 == 0 else list(reversed(runs))
            for key in order:
                db = f"r_{key}_{rnd}"
                wait_quiet()
                samples[key].append(runs[key](db))
                drop(db)  # the database only: its few files free few inodes
            print(
                f"restore round {rnd + 1}/{args.rounds}: "
                + ", ".join(f"{k} {samples[k][-1][0]:.1f}s" for k in runs),
                file=sys.stderr,
            )

        def samples_in_order(key: str) -> list[float]:
            return [x[0] for x in samples[key]]

        for key, got in samples.items():
            secs = sorted(x[0] for x in got)
            entry = res.setdefault(key, {})
            entry.update(
                restore_s=statistics.median(secs),
                restore_samples_s=secs,
                restore_rounds_s=[x[0] for x in got],  # in round order, for the pairs
                restore_rss_kb=max(x[1] for x in got),
            )
        # Each round's own ratio: the two restores of a round ran minutes apart at most, on
        # a machine whose speed drifts over longer spans (the zip's median moved 25-33 s
        # between runs), so the pairs' median is the steadier estimate of the two.
        paired = [
            a / b for a, b in zip(samples_in_order("ours"), samples_in_order("zip"), strict=True)
        ]
        res["restore_paired_ratios"] = paired
        res["floor"]["pg_restore_db_only_s"] = res["floor"]["restore_s"]
    finally:
        srv.stop()
        if not args.keep:
            shutil.rmtree(srv.datadir.parent, ignore_errors=True)
    report(res)
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "db-latest.json").write_text(json.dumps(res, indent=2) + "\n")


def report(r: dict) -> None:
    g = r["generated"]
    print(
        f"\ndatabase {g['db_bytes'] / 1e9:.2f} GB, filestore {g['filestore_files']} files "
        f"{g['filestore_bytes'] / 1e9:.2f} GB"
    )
    print(
        f"{'':16}{'backup':>10}{'restore':>10}{'size':>10}{'RSS b/r (MB)':>16}"
        f"{'backup':>9}{'restore':>9}{'size':>7}"
    )
    o = r["ours"]
    for key, name in (("ours", "odoo-stack"), ("zip", "click-odoo zip"), ("fc_tgz", "-Fc + tgz")):
        m = r[key]
        ratio = (
            ""
            if key == "ours"
            else f"{o['backup_s'] / m['backup_s']:>8.2f}x{o['restore_s'] / m['restore_s']:>8.2f}x"
            f"{o['bytes'] / m['bytes']:>6.2f}x"
        )
        print(
            f"{name:16}{m['backup_s']:>9.1f}s{m['restore_s']:>9.1f}s"
            f"{m['bytes'] / 1e9:>8.2f}GB{m['backup_rss_kb'] / 1024:>9.0f}/"
            f"{m['restore_rss_kb'] / 1024:<6.0f}{ratio}"
        )
    print("ratios are odoo-stack / other (lower is better); restore: the median of")
    for key in ("ours", "zip", "fc_tgz", "floor"):
        if "restore_samples_s" in r.get(key, {}):
            got = ", ".join(f"{x:.1f}" for x in r[key]["restore_samples_s"])
            print(f"  {key:8} restores: {got} s")
    if r.get("restore_paired_ratios"):
        pr = r["restore_paired_ratios"]
        print(
            f"restore, round by round (odoo-stack / zip of the same round): median "
            f"{statistics.median(pr):.2f}x, range {min(pr):.2f}-{max(pr):.2f}x"
        )
    if "floor" in r:
        f = r["floor"]["pg_restore_db_only_s"]
        print(
            f"for scale: a plain pg_restore -j of the database alone (no filestore) takes "
            f"{f:.1f}s = {f / r['zip']['restore_s']:.2f}x the zip restore"
        )


if __name__ == "__main__":
    main()
