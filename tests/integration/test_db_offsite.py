"""Offsite copies on a real S3-compatible server (rclone serve s3): upload, list, restore from
S3 only, a server dying mid-upload, and retention in both places."""

import json
import shutil
import textwrap

import pytest
from services import CuttingProxy, start_s3

pytestmark = pytest.mark.integration


def with_s3(odoo_env, endpoint, server, extra=""):
    stack = odoo_env.project.root / "stack.toml"
    text = stack.read_text().replace(
        'dir = "backups"',
        f'dir = "backups"\n{extra}s3 = {{ endpoint = "{endpoint}", bucket = "{server.bucket}", '
        f'prefix = "prod/odoo", region = "us-east-1" }}',
    )
    stack.write_text(text)
    (odoo_env.project.root / ".env.local").write_text(
        textwrap.dedent(f"""\
        DB_PASSWORD={odoo_env.server.password}
        S3_ACCESS_KEY_ID={server.access_key}
        S3_SECRET_ACCESS_KEY={server.secret_key}
    """)
    )


def s3_objects(server):
    root = server.root / server.bucket
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_upload_list_and_restore_from_s3_only(odoo_env, s3_server):
    with_s3(odoo_env, s3_server.endpoint, s3_server)
    r = odoo_env.project.run("db.backup", "--env", "local", "--json")
    assert r.code == 0, r.err
    set_id = json.loads(r.out)["id"]
    assert json.loads(r.out)["uploaded"] == [set_id]
    objs = s3_objects(s3_server)
    assert f"prod/odoo/{set_id}/manifest.json" in objs
    assert f"prod/odoo/{set_id}/filestore.tar.zst" in objs
    assert s3_server.secret_key not in r.out + r.err
    r = odoo_env.project.run("db.list", "--env", "local", "--json")
    (b,) = json.loads(r.out)["backups"]
    assert b["locations"] == ["local", "s3"]
    # The laptop lost its copy: verify and restore come from S3.
    shutil.rmtree(odoo_env.backups / set_id)
    r = odoo_env.project.run("db.verify", "--env", "local", "--json")
    assert r.code == 0, r.err
    assert f"prod/odoo/{set_id}/verified.json" in s3_objects(s3_server)
    r = odoo_env.project.run("db.restore", "--env", "local", "--as", odoo_env.dbname + "_dr")
    assert r.code == 0, r.err
    assert odoo_env.sql("SELECT count(*) FROM res_partner", odoo_env.dbname + "_dr") == [(200,)]
    r = odoo_env.project.run("db.list", "--env", "local")
    assert "yes" in r.out and " s3" in r.out


def test_server_killed_mid_upload_then_retry_recovers(odoo_env, s3_server):
    # Enough incompressible filestore for a multipart upload of several 5 MB parts.
    big = odoo_env.filestore / "ff" / "big"
    big.parent.mkdir(parents=True, exist_ok=True)
    import random
    import signal

    big.write_bytes(random.Random(1).randbytes(12 * 1024 * 1024))
    port = int(s3_server.endpoint.rsplit(":", 1)[1])
    # The real server is SIGKILLed once 7 MB went up: inside the filestore's multipart upload.
    proxy = CuttingProxy(port, on_cut=lambda: s3_server.proc.send_signal(signal.SIGKILL))
    revived = None
    try:
        with_s3(odoo_env, f"http://127.0.0.1:{proxy.port}", s3_server)
        proxy.cut_after = 7 * 1024 * 1024
        env = {"STACK_S3_PART_MB": "5"}
        r = odoo_env.project.run("db.backup", "--env", "local", extra_env=env)
        assert r.code == 1, r.out + r.err
        assert "upload of" in r.err and "failed" in r.err
        assert s3_server.proc.wait(10) == -signal.SIGKILL
        first = [p.name for p in odoo_env.backups.iterdir()]
        assert len(first) == 1  # the local set is complete and kept for the retry
        assert not any(o.endswith("manifest.json") for o in s3_objects(s3_server))
        # The server comes back (same port, same storage, the upload's parts lost).
        revived = start_s3(s3_server.root, port=port)
        proxy.heal()
        r = odoo_env.project.run("db.list", "--env", "local", "--json", extra_env=env)
        (b,) = json.loads(r.out)["backups"]
        assert b["locations"] == ["local"]  # not listed as complete on S3
        r = odoo_env.project.run("db.upload", "--env", "local", "--json", extra_env=env)
        assert r.code == 0, r.err
        assert json.loads(r.out)["uploaded"] == first
        r = odoo_env.project.run("db.upload", "--env", "local", extra_env=env)
        assert r.code == 0 and "S3 already has every local set" in r.out
        # The next backup uploads only itself.
        r = odoo_env.project.run("db.backup", "--env", "local", "--json", extra_env=env)
        assert r.code == 0, r.err
        assert json.loads(r.out)["uploaded"] == [json.loads(r.out)["id"]]
        r = odoo_env.project.run("db.list", "--env", "local", "--json", extra_env=env)
        assert all(x["locations"] == ["local", "s3"] for x in json.loads(r.out)["backups"])
        shutil.rmtree(odoo_env.backups / first[0])
        r = odoo_env.project.run("db.verify", "--env", "local", "--backup", first[0], extra_env=env)
        assert r.code == 0, r.err
    finally:
        proxy.close()
        if revived:
            revived.stop()


def test_upload_needs_s3_configured(odoo_env):
    r = odoo_env.project.run("db.upload", "--env", "local")
    assert r.code == 2 and "[env.local.backup] has no s3" in r.err


def test_missing_s3_secret_is_named(odoo_env, s3_server):
    with_s3(odoo_env, s3_server.endpoint, s3_server)
    (odoo_env.project.root / ".env.local").write_text(f"DB_PASSWORD={odoo_env.server.password}\n")
    r = odoo_env.project.run("db.list", "--env", "local")
    assert r.code == 2 and "secret S3_ACCESS_KEY_ID is missing" in r.err and ".env.local" in r.err


def test_prune_applies_retention_in_both_places(odoo_env, s3_server):
    from datetime import UTC, datetime, timedelta

    r = odoo_env.project.run("db.backup", "--env", "local", "--json")
    real = odoo_env.backups / json.loads(r.out)["id"]
    now = datetime.now(UTC)
    ids = {}
    for days in (1, 2, 10, 40, 100):
        sid = (now - timedelta(days=days)).strftime("%Y%m%dT%H%M%SZ")
        shutil.copytree(real, odoo_env.backups / sid)
        man = json.loads((odoo_env.backups / sid / "manifest.json").read_text())
        man["id"] = sid
        (odoo_env.backups / sid / "manifest.json").write_text(json.dumps(man))
        ids[days] = sid
    (odoo_env.backups / ids[100] / "verified.json").write_text('{"ok": true}')
    with_s3(odoo_env, s3_server.endpoint, s3_server)
    r = odoo_env.project.run("db.backup", "--env", "local", "--json")  # uploads all sets
    assert r.code == 0, r.err
    newest = json.loads(r.out)["id"]
    assert len(json.loads(r.out)["uploaded"]) == 7

    r = odoo_env.project.run("db.prune", "--env", "local", "--dry-run", "--json")
    assert r.code == 0, r.err
    plan = {x["id"]: x for x in json.loads(r.out)["sets"]}
    assert plan[newest]["action"] == "keep" and "daily" in plan[newest]["why"]
    assert plan[ids[1]]["action"] == "keep"
    assert plan[ids[100]]["action"] == "keep" and "newest verified" in plan[ids[100]]["why"]
    gone = {ids[2], ids[10], ids[40], real.name}
    assert {k for k, v in plan.items() if v["action"] == "would delete"} == gone
    assert all("outside retention (2 daily, 1 weekly, 1 monthly)" in plan[g]["why"] for g in gone)
    assert all((odoo_env.backups / g).exists() for g in gone)  # dry run: nothing deleted

    r = odoo_env.project.run("db.prune", "--env", "local")
    assert r.code == 0, r.err
    left = {p.name for p in odoo_env.backups.iterdir()}
    assert left == {newest, ids[1], ids[100]}
    on_s3 = {o.split("/")[2] for o in s3_objects(s3_server)}
    assert on_s3 == left
