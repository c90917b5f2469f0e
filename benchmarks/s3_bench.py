"""One command: the offsite upload of a backup set against what people use today.

    python benchmarks/s3_bench.py [--tables 600] [--delay 0.1] [--scale 1.0]

A backup set is made with `invoke db.backup` from an Odoo-shaped database whose table
count is that of a real Odoo installation (pg_dump's directory format writes one file per
table: hundreds), then uploaded to a real S3 server (`rclone serve s3` on 127.0.0.1),
twice: on loopback, and through `delayproxy.py` (`--delay` seconds each way: a laptop or a
droplet talking to Spaces in another region). In the same run:
  * odoo-stack:  invoke db.upload (files side by side, one checked PUT per small file)
  * rclone:      rclone copy of the set's folder (its defaults: 4 transfers, md5 checked)
  * sequential:  a boto3 loop of upload_file + head_object per file, as a hand-written
                 backup script does (and as odoo-stack did before)
Then each fetches the set back (for odoo-stack: what a restore from S3 does first, the
download and every sha256 checked; the sequential loop: download_file per object).
Reports wall seconds and ratios (odoo-stack / other); saved to results/s3-latest.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT / "tests")]

import pgdist  # noqa: E402
from delayproxy import DelayProxy  # noqa: E402
from odoodb import CREATE_DATABASE, Scale, populate, write_filestore  # noqa: E402
from services import rclone_bin, start_pg, start_s3  # noqa: E402

SEQUENTIAL = r"""
import os, sys, boto3
from pathlib import Path
from botocore.config import Config
src, bucket, prefix = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
s3 = boto3.client("s3", endpoint_url=os.environ["EP"], region_name="us-east-1",
                  aws_access_key_id=os.environ["AK"], aws_secret_access_key=os.environ["SK"],
                  config=Config(request_checksum_calculation="when_required"))
for p in sorted(x for x in src.rglob("*") if x.is_file()):
    key = f"{prefix}/{p.relative_to(src)}"
    s3.upload_file(str(p), bucket, key)
    s3.head_object(Bucket=bucket, Key=key)
"""

# What a restore from S3 does before pg_restore: the set fetched and every sha256 checked.
FETCH = r"""
import sys
from pathlib import Path
from tasks.core import config
from tasks.core.envconfig import env_spec
from tasks.core.secrets import Secrets
from tasks.db.s3store import S3Store
from tasks.db.sets import check_artifacts
net, set_id, dest = sys.argv[1], sys.argv[2], Path(sys.argv[3])
env = env_spec(config.load(), net)
check_artifacts(dest, S3Store(env.backup.s3, Secrets(env.env_file)).download_set(set_id, dest))
"""
SEQUENTIAL_GET = r"""
import os, sys, boto3
from pathlib import Path
from botocore.config import Config
bucket, prefix, dest = sys.argv[1], sys.argv[2], Path(sys.argv[3])
s3 = boto3.client("s3", endpoint_url=os.environ["EP"], region_name="us-east-1",
                  aws_access_key_id=os.environ["AK"], aws_secret_access_key=os.environ["SK"],
                  config=Config(response_checksum_validation="when_required"))
for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix + "/"):
    for o in page.get("Contents", []):
        target = dest / o["Key"][len(prefix) + 1 :]
        target.parent.mkdir(parents=True, exist_ok=True)
        s3.download_file(bucket, o["Key"], str(target))
"""


def timed(cmd: list[str], env: dict, cwd: Path | None = None) -> float:
    t = time.perf_counter()
    cp = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    dt = time.perf_counter() - t
    if cp.returncode:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{cp.stdout}\n{cp.stderr[-3000:]}")
    return dt


def many_tables(cur, n: int) -> None:
    """Odoo's long tail: hundreds of small tables (config, sequences, translations, ...)."""
    for i in range(n):
        cur.execute(
            f"CREATE TABLE x_model_{i} (id serial PRIMARY KEY, name varchar, value numeric, "
            "write_date timestamp)"
        )
        cur.execute(
            f"INSERT INTO x_model_{i} (name, value, write_date) SELECT 'record ' || g, g * 1.5, "
            "timestamp '2024-01-01' + g * interval '1 hour' FROM generate_series(1, %s) g",
            ((i * 7919) % 3000,),
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tables", type=int, default=600, help="extra small tables in the dump")
    ap.add_argument("--scale", type=float, default=0.05, help="odoodb scale of the big tables")
    ap.add_argument("--delay", type=float, default=0.1, help="WAN delay each way (s)")
    args = ap.parse_args()
    import psycopg

    work = Path(tempfile.mkdtemp(prefix="stack-s3-bench-", dir="/tmp"))
    srv = start_pg()
    s3 = start_s3(work / "s3")
    res: dict = {"tables": args.tables, "delay_s": args.delay}
    try:
        kw = dict(host=srv.host, port=srv.port, user=srv.user, password=srv.password)
        with psycopg.connect(dbname="postgres", autocommit=True, **kw) as c:
            c.execute(CREATE_DATABASE.format("bench"))
        proj = work / "proj"
        sc = Scale(
            partners=int(300_000 * args.scale),
            move_lines=int(7_500_000 * args.scale),
            messages=int(800_000 * args.scale),
            files=int(20_000 * args.scale),
            mean_file_kb=52,
        )
        with psycopg.connect(dbname="bench", autocommit=True, **kw) as c, c.cursor() as cur:
            populate(cur, sc)
            many_tables(cur, args.tables)
            write_filestore(cur, proj / "var" / "filestore" / "bench", sc)
        envs = ""
        with DelayProxy(int(s3.endpoint.rsplit(":", 1)[1]), args.delay) as wan:
            endpoints = {"loopback": s3.endpoint, "wan": f"http://127.0.0.1:{wan.port}"}
            for net, ep in endpoints.items():
                envs += f"""
[env.{net}.db]
host = "127.0.0.1"
port = {srv.port}
name = "bench"
user = "postgres"
[env.{net}.filestore]
path = "var/filestore/bench"
[env.{net}.backup]
dir = "backups"
s3 = {{ endpoint = "{ep}", bucket = "{s3.bucket}", prefix = "ours-{net}", region = "us-east-1" }}
"""
            # The set itself is made once by an env without s3, so that every tool uploads
            # the very same files.
            source = envs.split("s3 = ", 1)[0].replace("[env.loopback", "[env.source")
            (proj / "stack.toml").write_text(f'[odoo]\nversion = "19.0"\n{source}{envs}')
            secrets = (
                f"DB_PASSWORD={srv.password}\nS3_ACCESS_KEY_ID={s3.access_key}\n"
                f"S3_SECRET_ACCESS_KEY={s3.secret_key}\n"
            )
            for net in ("source", *endpoints):
                (proj / f".env.{net}").write_text(secrets)
            env = dict(os.environ, STACK_ROOT=str(proj), STACK_PG_LIB=pgdist.pg_lib_path())
            inv = [sys.executable, "-m", "invoke", "-r", str(ROOT)]
            timed([*inv, "db.backup", "--env", "source"], env)
            set_dir = next((proj / "backups").iterdir())
            files = [p for p in set_dir.rglob("*") if p.is_file()]
            res["set"] = {"files": len(files), "bytes": sum(p.stat().st_size for p in files)}
            print(
                f"set {set_dir.name}: {len(files)} files, {res['set']['bytes'] / 1e6:.0f} MB",
                file=sys.stderr,
            )
            rclone_env = dict(
                env,
                RCLONE_CONFIG_B_TYPE="s3",
                RCLONE_CONFIG_B_PROVIDER="Other",
                RCLONE_CONFIG_B_ACCESS_KEY_ID=s3.access_key,
                RCLONE_CONFIG_B_SECRET_ACCESS_KEY=s3.secret_key,
                RCLONE_CONFIG_B_REGION="us-east-1",
                RCLONE_CONFIG=os.devnull,
            )
            for net, ep in endpoints.items():
                r: dict = {}
                r["ours"] = timed([*inv, "db.upload", "--env", net], env)
                r["rclone"] = timed(
                    [rclone_bin(), "copy", str(set_dir), f"B:{s3.bucket}/rclone-{net}/x"],
                    dict(rclone_env, RCLONE_CONFIG_B_ENDPOINT=ep),
                )
                r["sequential"] = timed(
                    [sys.executable, "-c", SEQUENTIAL, str(set_dir), s3.bucket, f"seq-{net}/x"],
                    dict(env, EP=ep, AK=s3.access_key, SK=s3.secret_key),
                )
                # Downloads, each tool into a folder of its own (a restore's fetch).
                get = work / f"get-{net}"
                keys = dict(env, EP=ep, AK=s3.access_key, SK=s3.secret_key, PYTHONPATH=str(ROOT))
                r["get_ours"] = timed(
                    [sys.executable, "-c", FETCH, net, set_dir.name, str(get / "ours")], keys
                )
                r["get_rclone"] = timed(
                    [rclone_bin(), "copy", f"B:{s3.bucket}/rclone-{net}/x", str(get / "rclone")],
                    dict(rclone_env, RCLONE_CONFIG_B_ENDPOINT=ep),
                )
                r["get_sequential"] = timed(
                    [sys.executable, "-c", SEQUENTIAL_GET, s3.bucket, f"seq-{net}/x",
                     str(get / "seq")],
                    keys,
                )  # fmt: skip
                res[net] = r
                print(
                    f"{net}: " + ", ".join(f"{k} {v:.1f}s" for k, v in r.items()), file=sys.stderr
                )
    finally:
        s3.stop()
        srv.stop()
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(srv.datadir.parent, ignore_errors=True)  # the cluster lives apart
    report(res)
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "s3-latest.json").write_text(json.dumps(res, indent=2) + "\n")


def report(r: dict) -> None:
    s = r["set"]
    print(f"\nupload of one backup set: {s['files']} files, {s['bytes'] / 1e6:.0f} MB")
    _table(r, "")
    print("\nthe same set fetched back (ours: download and every sha256 checked)")
    _table(r, "get_")
    print("ratios are odoo-stack / other (lower is better)")


def _table(r: dict, prefix: str) -> None:
    print(f"{'':12}{'odoo-stack':>12}{'rclone':>10}{'sequential':>12}{'/rclone':>9}{'/seq':>7}")
    for net in ("loopback", "wan"):
        ours, rc, seq = (r[net][prefix + k] for k in ("ours", "rclone", "sequential"))
        label = net if net == "loopback" else f"wan {2 * r['delay_s'] * 1000:.0f}ms"
        print(
            f"{label:12}{ours:>11.1f}s{rc:>9.1f}s{seq:>11.1f}s{ours / rc:>8.2f}x{ours / seq:>6.2f}x"
        )


if __name__ == "__main__":
    main()
