"""One command: odoo-stack's db.backup / db.restore against the formats people use today.

    python benchmarks/db_bench.py [--scale 1.0] [--keep]

Generates an Odoo-shaped database (scale 1.0: ~1.6 GB) and filestore (scale 1.0: 20,000
files, ~1 GB, half incompressible) on a throwaway PostgreSQL cluster, then times, in the
same run:
  * odoo-stack:      invoke db.backup / invoke db.restore --as NEW
  * click-odoo-zip:  click-odoo-contrib's "zip" format, reproduced with its commands:
                     plain pg_dump --no-owner to dump.sql + filestore copy + manifest.json,
                     zipped with Python's zipfile (deflate); restore: unzip, psql -f, copy
  * pg_dump -Fc:     pg_dump -Fc + tar czf of the filestore; restore: pg_restore + tar xzf
Reports wall time, size and peak RSS of each, and the ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT / "tests")]

import pgdist  # noqa: E402
from odoodb import Scale, populate, write_filestore  # noqa: E402
from services import start_pg  # noqa: E402

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


def du(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    import psycopg

    srv = start_pg()
    work = Path(srv.datadir.parent / "bench")
    work.mkdir()
    res: dict = {"scale": args.scale}
    try:
        kw = dict(host=srv.host, port=srv.port, user=srv.user, password=srv.password)
        with psycopg.connect(dbname="postgres", autocommit=True, **kw) as c:
            c.execute("CREATE DATABASE bench")
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

        # --- odoo-stack
        secs, rss = timed([*inv, "db.backup", "--env", "bench", "--json"], env)
        set_dir = next((proj / "backups").iterdir())
        res["ours"] = {"backup_s": secs, "backup_rss_kb": rss, "bytes": du(set_dir)}
        secs, rss = timed([*inv, "db.restore", "--env", "bench", "--as", "r_ours"], env)
        res["ours"].update(restore_s=secs, restore_rss_kb=rss, steps=list(STEPS))
        # The floor of any pg_restore-based restore here: the same dump, database only (no
        # filestore, no checks), with the same jobs and session settings as db.restore.
        _, _ = timed([str(bindir / "createdb"), "r_floor"], env)
        floor_env = dict(env, PGOPTIONS="-c maintenance_work_mem=512MB -c synchronous_commit=off")
        t = time.perf_counter()
        timed(
            [str(bindir / "pg_restore"), f"--jobs={args.jobs}", "--no-owner", "-d", "r_floor",
             str(set_dir / "db")],
            floor_env,
        )  # fmt: skip
        res["floor"] = {"pg_restore_db_only_s": time.perf_counter() - t}

        # --- click-odoo-contrib zip, reproduced
        z = work / "zip"
        (z / "tmp").mkdir(parents=True)
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
        shutil.rmtree(z / "tmp")
        t = time.perf_counter()
        _, r1 = timed([sys.executable, "-c", UNZIP_SCRIPT, str(z / "b.zip"), str(z / "x")], env)
        _, r2 = timed([str(bindir / "createdb"), "r_zip"], env)
        _, r3 = timed(
            [
                str(bindir / "psql"),
                "-q",
                "-X",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                "r_zip",
                "-f",
                str(z / "x" / "dump.sql"),
            ],
            env,
        )
        shutil.copytree(z / "x" / "filestore", proj / "var" / "filestore" / "r_zip")
        res["zip"].update(restore_s=time.perf_counter() - t, restore_rss_kb=max(r1, r2, r3))
        shutil.rmtree(z / "x")

        # --- pg_dump -Fc + tar czf
        f = work / "fc"
        f.mkdir()
        t = time.perf_counter()
        _, r1 = timed([str(bindir / "pg_dump"), "-Fc", "--file", str(f / "db.dump"), "bench"], env)
        _, r2 = timed(["tar", "czf", str(f / "filestore.tgz"), "-C", str(fs), "."], env)
        res["fc_tgz"] = {
            "backup_s": time.perf_counter() - t,
            "backup_rss_kb": max(r1, r2),
            "bytes": du(f),
        }
        t = time.perf_counter()
        _, r1 = timed([str(bindir / "createdb"), "r_fc"], env)
        _, r2 = timed(
            [
                str(bindir / "pg_restore"),
                f"--jobs={args.jobs}",
                "--no-owner",
                "-d",
                "r_fc",
                str(f / "db.dump"),
            ],
            env,
        )
        dest = proj / "var" / "filestore" / "r_fc"
        dest.mkdir(parents=True)
        _, r3 = timed(["tar", "xzf", str(f / "filestore.tgz"), "-C", str(dest)], env)
        res["fc_tgz"].update(restore_s=time.perf_counter() - t, restore_rss_kb=max(r1, r2, r3))
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
    print("ratios are odoo-stack / other (lower is better)")
    if "floor" in r:
        f = r["floor"]["pg_restore_db_only_s"]
        print(
            f"floor: pg_restore -j of the database alone takes {f:.1f}s = "
            f"{f / r['zip']['restore_s']:.2f}x the zip restore (with no filestore at all)"
        )


if __name__ == "__main__":
    main()
