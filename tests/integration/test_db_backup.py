"""db.backup / restore / verify / list against a real PostgreSQL server."""

import json

import pytest

pytestmark = pytest.mark.integration


def backup(env, *args):
    r = env.project.run("db.backup", "--env", "local", "--json", *args)
    assert r.code == 0, r.err
    return json.loads(r.out)


def test_backup_set_has_manifest_checksums_and_counts(odoo_env):
    out = backup(odoo_env, "--label", "first")
    set_dir = odoo_env.backups / out["id"]
    assert out["id"].endswith("-first")
    man = json.loads((set_dir / "manifest.json").read_text())
    assert man["database"] == odoo_env.dbname and man["odoo_version"] == "19.0.1.0.0"
    assert man["modules"]["queue_job"] == "19.0.1.0.0" and "hr" not in man["modules"]
    assert man["tables"]["public.account_move_line"] == 2000
    assert man["filestore"] == {
        "path": str(odoo_env.filestore),
        "files": odoo_env.files,
        "bytes": odoo_env.bytes,
        "attachments": {"referenced": odoo_env.files, "missing": 0, "sample": []},
    }
    assert man["server_major"] >= 15 and man["pg_dump"]["major"] >= man["server_major"]
    paths = {a["path"] for a in man["artifacts"]}
    assert "filestore.tar.zst" in paths and "db/toc.dat" in paths
    # Table data compressed with zstd where pg_dump has it (16+, as production), else gzip.
    data_suffix = ".dat.zst" if man["pg_dump"]["major"] >= 16 else ".dat.gz"
    assert any(p.endswith(data_suffix) for p in paths), sorted(paths)
    assert all(len(a["sha256"]) == 64 for a in man["artifacts"])
    assert not [p for p in odoo_env.backups.iterdir() if p.name.startswith(".")]


def test_restore_as_new_name_with_filestore_and_neutralize(odoo_env):
    out = backup(odoo_env)
    r = odoo_env.project.run(
        "db.restore", "--env", "local", "--as", odoo_env.dbname + "_staging", "--neutralize"
    )
    assert r.code == 0, r.err
    new = odoo_env.dbname + "_staging"
    assert odoo_env.sql("SELECT count(*) FROM account_move_line", new) == [(2000,)]
    fs = odoo_env.filestore.parent / new
    assert sum(1 for p in fs.rglob("*") if p.is_file()) == odoo_env.files
    assert odoo_env.sql("SELECT bool_or(active) FROM ir_mail_server", new) == [(False,)]
    assert odoo_env.sql("SELECT name FROM ir_cron WHERE active", new) == [("autovacuum_job",)]
    assert odoo_env.sql(
        "SELECT value FROM ir_config_parameter WHERE key = 'database.is_neutralized'", new
    ) == [("True",)]
    marker = odoo_env.sql(
        "SELECT value FROM ir_config_parameter WHERE key = 'odoo_stack.copy_of'", new
    )[0][0]
    assert marker.startswith(f"COPY of local/{out['id']}")
    # the source stays untouched
    assert odoo_env.sql("SELECT bool_and(active) FROM ir_mail_server") == [(True,)]


def test_restore_onto_existing_database_needs_force_and_takes_safety_backup(odoo_env):
    first = backup(odoo_env)["id"]
    odoo_env.sql("DELETE FROM mail_message WHERE id > 100")
    r = odoo_env.project.run("db.restore", "--env", "local", "--backup", first)
    assert r.code == 2 and "already exists" in r.err and "--force" in r.err
    assert odoo_env.sql("SELECT count(*) FROM mail_message") == [(100,)]
    r = odoo_env.project.run("db.restore", "--env", "local", "--backup", first, "--force", "--json")
    assert r.code == 0, r.err
    out = json.loads(r.out)
    assert out["safety_backup"] and out["safety_backup"].endswith("pre-restore-" + odoo_env.dbname)
    assert odoo_env.sql("SELECT count(*) FROM mail_message") == [(500,)]
    safety = json.loads((odoo_env.backups / out["safety_backup"] / "manifest.json").read_text())
    assert safety["tables"]["public.mail_message"] == 100


def test_verify_measures_rto_rpo_and_marks_verified(odoo_env):
    out = backup(odoo_env)
    r = odoo_env.project.run("db.verify", "--env", "local", "--json")
    assert r.code == 0, r.err
    v = json.loads(r.out)
    assert v["ok"] and v["id"] == out["id"] and v["rto_seconds"] > 0 and v["rpo_seconds"] >= 0
    assert v["filestore_files"] == odoo_env.files
    assert (odoo_env.backups / out["id"] / "verified.json").is_file()
    dbs = odoo_env.sql(
        "SELECT datname FROM pg_database WHERE datname LIKE %s",
        None,
        (odoo_env.dbname + "_verify%",),
    )
    assert dbs == []  # scratch database dropped
    r = odoo_env.project.run("db.list", "--env", "local", "--json")
    (listed,) = json.loads(r.out)["backups"]
    assert listed["verified"]["ok"] and listed["locations"] == ["local"]


def test_attachments_without_their_file_are_reported_and_verify_counts_them(odoo_env):
    (fname,) = odoo_env.sql("SELECT store_fname FROM ir_attachment ORDER BY id LIMIT 1")[0]
    (odoo_env.filestore / fname).unlink()  # lost before the backup: prod already lacks it
    r = odoo_env.project.run("db.backup", "--env", "local", "--json")
    assert r.code == 0, r.err
    assert f"1 of {odoo_env.files} stored attachments have no file" in r.err and fname in r.err
    set_id = json.loads(r.out)["id"]
    man_path = odoo_env.backups / set_id / "manifest.json"
    man = json.loads(man_path.read_text())
    assert man["filestore"]["attachments"]["missing"] == 1
    r = odoo_env.project.run("db.verify", "--env", "local")
    assert r.code == 0, r.err  # no worse than its source
    # A set whose filestore lacks more than its source did fails verification, naming one.
    man["filestore"]["attachments"] = {"referenced": odoo_env.files, "missing": 0, "sample": []}
    man_path.write_text(json.dumps(man))
    r = odoo_env.project.run("db.verify", "--env", "local")
    assert r.code == 1, r.err
    assert "ir_attachment: 1 of" in r.err and "(0 at backup)" in r.err and fname in r.err


def test_flipped_byte_fails_verify_naming_the_file(odoo_env):
    out = backup(odoo_env)
    victim = odoo_env.backups / out["id"] / "filestore.tar.zst"
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0x01
    victim.write_bytes(bytes(data))
    r = odoo_env.project.run("db.verify", "--env", "local")
    assert r.code == 1 and "filestore.tar.zst: sha256 mismatch" in r.err


def _flip(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def test_failed_restore_leaves_no_database_no_filestore_and_replaces_nothing(odoo_env):
    out = backup(odoo_env)
    dump = odoo_env.backups / out["id"] / "db"
    victim = max(dump.glob("*.dat*"), key=lambda p: p.stat().st_size)
    _flip(victim)
    fs_root = odoo_env.filestore.parent
    new = odoo_env.dbname + "_bad"
    r = odoo_env.project.run("db.restore", "--env", "local", "--as", new)
    assert r.code == 1 and f"{victim.name}: sha256 mismatch" in r.err
    assert odoo_env.sql("SELECT 1 FROM pg_database WHERE datname = %s", params=(new,)) == []
    # The filestore extraction had started beside the checks: nothing of it is left.
    assert sorted(p.name for p in fs_root.iterdir()) == [odoo_env.dbname]
    # --force onto the live database: refused before it is touched.
    count = "SELECT count(*) FROM account_move_line"
    before = odoo_env.sql(count)
    r = odoo_env.project.run("db.restore", "--env", "local", "--force")
    assert r.code == 1 and f"{victim.name}: sha256 mismatch" in r.err
    assert odoo_env.sql(count) == before
    assert sorted(p.name for p in fs_root.iterdir()) == [odoo_env.dbname]
    assert odoo_env.filestore.exists() and len(list(odoo_env.filestore.rglob("*"))) > 0
    assert [p.name for p in odoo_env.backups.iterdir() if "pre-restore" in p.name] == []


def test_damaged_filestore_archive_fails_restore_and_drops_the_new_database(odoo_env):
    out = backup(odoo_env)
    _flip(odoo_env.backups / out["id"] / "filestore.tar.zst")
    new = odoo_env.dbname + "_badfs"
    r = odoo_env.project.run("db.restore", "--env", "local", "--as", new)
    assert r.code == 1 and "filestore.tar.zst" in r.err, r.err
    assert odoo_env.sql("SELECT 1 FROM pg_database WHERE datname = %s", params=(new,)) == []
    assert sorted(p.name for p in odoo_env.filestore.parent.iterdir()) == [odoo_env.dbname]


def test_restore_recreates_the_databases_encoding_and_locale(odoo_env):
    # The source was made as Odoo makes databases (LC_COLLATE 'C'); this server's default
    # (initdb's) is C.UTF-8, so a database made with its defaults would not match.
    loc = "SELECT pg_encoding_to_char(encoding), datcollate, datctype FROM pg_database "
    mine = odoo_env.sql(loc + "WHERE datname = current_database()")
    assert mine == [("UTF8", "C", "C.UTF-8")]
    assert odoo_env.sql(loc + "WHERE datname = 'template1'") != mine
    out = backup(odoo_env)
    manifest = json.loads((odoo_env.backups / out["id"] / "manifest.json").read_text())
    assert manifest["locale"] == {
        "encoding": "UTF8", "collate": "C", "ctype": "C.UTF-8", "provider": "libc"
    }  # fmt: skip
    new = odoo_env.dbname + "_loc"
    r = odoo_env.project.run("db.restore", "--env", "local", "--as", new)
    assert r.code == 0, r.err
    assert odoo_env.sql(loc + "WHERE datname = current_database()", new) == mine
    # A locale this server does not have: one line naming it, exit 2, nothing created.
    man_path = odoo_env.backups / out["id"] / "manifest.json"
    manifest["locale"]["collate"] = manifest["locale"]["ctype"] = "xx_YY.UTF-8"
    man_path.write_text(json.dumps(manifest))
    other = odoo_env.dbname + "_noloc"
    r = odoo_env.project.run("db.restore", "--env", "local", "--as", other)
    assert r.code == 2, r.err
    assert "cannot create database" in r.err and "xx_YY.UTF-8" in r.err
    assert odoo_env.sql("SELECT 1 FROM pg_database WHERE datname = %s", params=(other,)) == []
    assert not (odoo_env.filestore.parent / other).exists()


def test_truncated_manifest_is_not_listed_and_fails_restore(odoo_env):
    out = backup(odoo_env)
    man = odoo_env.backups / out["id"] / "manifest.json"
    man.write_text(man.read_text()[:100])
    r = odoo_env.project.run("db.verify", "--env", "local", "--backup", out["id"])
    assert r.code == 1 and "manifest.json: unreadable manifest" in r.err
    r = odoo_env.project.run("db.list", "--env", "local")
    assert "DAMAGED: unreadable manifest" in r.out
    r = odoo_env.project.run("db.restore", "--env", "local", "--as", "x_" + odoo_env.dbname)
    assert r.code == 1 and "every backup of env local is damaged" in r.err


def test_wrong_password_and_unreachable_server(odoo_env):
    (odoo_env.project.root / ".env.local").write_text("DB_PASSWORD=wrong\n")
    r = odoo_env.project.run("db.backup", "--env", "local")
    assert r.code == 2 and "password authentication failed" in r.err
    assert "wrong" not in r.err
    stack = (odoo_env.project.root / "stack.toml").read_text()
    (odoo_env.project.root / "stack.toml").write_text(
        stack.replace(f"port = {odoo_env.server.port}", "port = 1")
    )
    r = odoo_env.project.run("db.backup", "--env", "local")
    assert r.code == 2 and "cannot connect" in r.err
    assert not odoo_env.backups.exists() or not list(odoo_env.backups.iterdir())


def test_restore_sizes_its_sorts_by_the_plan_and_refuses_an_unknown_one(odoo_env):
    backup(odoo_env)
    stack = odoo_env.project.root / "stack.toml"
    text = stack.read_text()
    port = f"port = {odoo_env.server.port}"
    stack.write_text(text.replace(port, f'{port}\nplan = "db-s-huge"'))
    new = odoo_env.dbname + "_plan"
    r = odoo_env.project.run("db.restore", "--env", "local", "--as", new)
    assert r.code == 2 and "'db-s-huge'" in r.err and "slug" in r.err
    assert odoo_env.sql("SELECT count(*) FROM pg_database WHERE datname = %s", params=(new,)) == [
        (0,)
    ]
    # A 1 GB plan: 128 MB per index build with 2 jobs; the restore is whole.
    stack.write_text(text.replace(port, f'{port}\nplan = "db-s-1vcpu-1gb"'))
    r = odoo_env.project.run("db.restore", "--env", "local", "--as", new)
    assert r.code == 0, r.err
    assert odoo_env.sql("SELECT count(*) FROM mail_message", new) == [(500,)]


def test_unknown_env_and_missing_backup_table(odoo_env):
    r = odoo_env.project.run("db.backup", "--env", "lcoal")
    assert r.code == 2 and "no [env.lcoal]" in r.err and "did you mean 'local'" in r.err
    r = odoo_env.project.run("db.list", "--env", "local")
    assert r.code == 0 and "no backups" in r.err


def test_encrypted_backup_restores_only_with_the_identity(odoo_env):
    import pyrage

    ident = pyrage.x25519.Identity.generate()
    stack = odoo_env.project.root / "stack.toml"
    stack.write_text(
        stack.read_text().replace(
            'dir = "backups"',
            f'dir = "backups"\nencrypt = {{ recipients = ["{ident.to_public()}"] }}',
        )
    )
    out = backup(odoo_env)
    set_dir = odoo_env.backups / out["id"]
    files = [p for p in set_dir.rglob("*") if p.is_file() and p.name not in ("manifest.json",)]
    assert files and all(p.name.endswith(".age") for p in files)
    raw = (set_dir / "filestore.tar.zst.age").read_bytes()
    assert raw.startswith(b"age-encryption.org/v1")
    assert b"Partner 1" not in b"".join(p.read_bytes() for p in files)
    # Without the identity: named, exit 2.
    r = odoo_env.project.run("db.verify", "--env", "local")
    assert r.code == 2 and "secret BACKUP_AGE_IDENTITY is missing" in r.err
    # With a wrong identity: exit 1.
    env_file = odoo_env.project.root / ".env.local"
    base = env_file.read_text()
    env_file.write_text(base + f"BACKUP_AGE_IDENTITY={pyrage.x25519.Identity.generate()}\n")
    r = odoo_env.project.run("db.verify", "--env", "local")
    assert r.code == 1 and "cannot decrypt" in r.err
    env_file.write_text(base + f"BACKUP_AGE_IDENTITY={ident}\n")
    r = odoo_env.project.run("db.verify", "--env", "local")
    assert r.code == 0, r.err
    assert str(ident) not in r.out + r.err
    assert not [p for p in odoo_env.backups.iterdir() if p.name.startswith(".")]


def test_snapshot_is_a_labelled_backup(odoo_env):
    r = odoo_env.project.run("db.snapshot", "--env", "local", "--json")
    assert r.code == 0, r.err
    sid = json.loads(r.out)["id"]
    assert sid.endswith("-pre-deploy")
    r = odoo_env.project.run("db.list", "--env", "local", "--json")
    (b,) = json.loads(r.out)["backups"]
    assert b["label"] == "pre-deploy" and b["id"] == sid


def table_digest(env, table: str, dbname: str) -> str:
    query = f"SELECT md5(string_agg(t::text, '|' ORDER BY t.id)) FROM {table} t"
    return env.sql(query, dbname)[0][0]


def test_restore_splits_big_tables_across_parallel_copies_losslessly(odoo_env):
    # Rows that stress COPY's text format: newlines, tabs, backslashes, "\." lines, NULLs.
    odoo_env.sql(
        "INSERT INTO mail_message (model, res_id, body) VALUES "
        "('x', 1, E'line\\n\\\\.\\nafter a backslash-dot line\\ttab \\\\ back'), "
        "('x', 2, NULL), ('x', 3, 'ünïcødé ✓')"
    )
    backup(odoo_env)
    new = odoo_env.dbname + "_split"
    # Every table's data split (by default only one over 1/jobs of the data and ≥ 32 MB).
    r = odoo_env.project.run(
        "db.restore", "--env", "local", "--as", new, extra_env={"STACK_SPLIT_MIN_MB": "0"}
    )
    assert r.code == 0, r.err
    assert "COPY streams" in r.err and "account_move_line" in r.err
    for table in ("account_move_line", "mail_message", "res_partner", "ir_attachment"):
        assert table_digest(odoo_env, table, new) == table_digest(
            odoo_env, table, odoo_env.dbname
        ), table
    # Sequences (pg_restore's part of the data section) and indexes (post-data) are there.
    seq = "SELECT last_value FROM mail_message_id_seq"
    assert odoo_env.sql(seq, new) == odoo_env.sql(seq)
    idx = "SELECT count(*) FROM pg_indexes WHERE tablename = 'account_move_line'"
    assert odoo_env.sql(idx, new) == odoo_env.sql(idx) != [(0,)]
    r = odoo_env.project.run("db.verify", "--env", "local", extra_env={"STACK_SPLIT_MIN_MB": "0"})
    assert r.code == 0, r.err


def test_split_restore_builds_other_tables_beside_it_and_what_needs_it_after(odoo_env):
    # Objects that need the split table's data or its primary key: a foreign key to it from
    # another table, one from it, a comment on its index; and another table's own index.
    odoo_env.sql(
        "CREATE TABLE account_partial_reconcile (id serial PRIMARY KEY, "
        "  debit_move_id int REFERENCES account_move_line(id));"
        "INSERT INTO account_partial_reconcile (debit_move_id) "
        "  SELECT id FROM account_move_line ORDER BY id LIMIT 50;"
        "ALTER TABLE account_move_line ADD CONSTRAINT aml_partner_fkey "
        "  FOREIGN KEY (partner_id) REFERENCES res_partner(id);"
        "COMMENT ON INDEX account_move_line_date IS 'by date';"
        "CREATE INDEX res_partner_email ON res_partner(email)"
    )
    info = backup(odoo_env)
    sizes = sorted(p.stat().st_size for p in (odoo_env.backups / info["id"] / "db").glob("*.dat*"))
    # Only the biggest data file (account_move_line's) is split.
    mb = (sizes[-1] + sizes[-2]) / 2 / (1 << 20)
    new = odoo_env.dbname + "_overlap"
    r = odoo_env.project.run(
        "db.restore", "--env", "local", "--as", new, extra_env={"STACK_SPLIT_MIN_MB": f"{mb:.6f}"}
    )
    assert r.code == 0, r.err
    assert "indexes and constraints of account_move_line" in r.err
    constraints = (
        "SELECT conname, convalidated FROM pg_constraint WHERE conrelid IN "
        "('account_partial_reconcile'::regclass, 'account_move_line'::regclass) ORDER BY 1"
    )
    assert odoo_env.sql(constraints, new) == odoo_env.sql(constraints)
    assert ("aml_partner_fkey", True) in odoo_env.sql(constraints, new)
    indexes = "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1"
    assert odoo_env.sql(indexes, new) == odoo_env.sql(indexes)
    comment = "SELECT obj_description('account_move_line_date'::regclass, 'pg_class')"
    assert odoo_env.sql(comment, new) == [("by date",)]
    for table in ("account_move_line", "account_partial_reconcile", "res_partner"):
        assert table_digest(odoo_env, table, new) == table_digest(
            odoo_env, table, odoo_env.dbname
        ), table


def test_split_copy_failure_is_one_clear_error_and_no_hang(odoo_env, tmp_path):
    from tasks.core.envconfig import DbSpec
    from tasks.core.errors import CheckFailed
    from tasks.core.secrets import Secret
    from tasks.db import pg
    from tasks.db.splitload import TableData, load_split

    srv = odoo_env.server
    conn = pg.Conn(
        DbSpec(srv.host, srv.port, odoo_env.dbname, srv.user), Secret(srv.password), odoo_env.dbname
    )
    odoo_env.sql("CREATE TABLE split_t (id int PRIMARY KEY, name text)")
    good = b"".join(b"%d\tname %d\n" % (i, i) for i in range(1, 20001))
    f = tmp_path / "9.dat"
    f.write_bytes(good + b"oops\tnot an int\n" + good.replace(b"\t", b"0\t") + b"\\.\n")
    t = TableData("9", "public", "split_t", f)
    with pytest.raises(CheckFailed, match=r"loading public\.split_t: .*integer"):
        load_split(conn, t, 2, "UTF8")
    # The stream that met the bad row rolled back; nothing of it is visible.
    assert odoo_env.sql("SELECT count(*) FROM split_t WHERE name = 'not an int'") == [(0,)]
    f.write_bytes(good + b"\\.\n")
    odoo_env.sql("TRUNCATE split_t")
    assert load_split(conn, t, 3, "UTF8") == len(good)
    assert odoo_env.sql("SELECT count(*), sum(id) FROM split_t") == [(20000, 200010000)]


def reloptions(env, dbname: str) -> dict[str, list[str] | None]:
    rows = env.sql(
        "SELECT c.relname, c.reloptions FROM pg_class c WHERE c.relkind = 'r' "
        "AND c.relnamespace = 'public'::regnamespace",
        dbname,
    )
    return dict(rows)


def test_autovacuum_is_held_off_during_restore_and_back_after(odoo_env):
    import psycopg

    from tasks.db import autovac

    # A table that carries its own setting in the dump keeps it, whatever restore does.
    odoo_env.sql("ALTER TABLE mail_message SET (autovacuum_enabled = false)")
    odoo_env.sql("ALTER TABLE res_partner SET (fillfactor = 90)")
    srv = odoo_env.server
    kw = dict(host=srv.host, port=srv.port, user=srv.user, password=srv.password)
    with psycopg.connect(dbname=odoo_env.dbname, autocommit=True, **kw) as c:
        paused = autovac.pause(c.cursor())
        opts = reloptions(odoo_env, odoo_env.dbname)
        names = {name for _kind, _schema, name in paused}
        assert "mail_message" not in names and {"account_move_line", "res_partner"} <= names
        assert opts["account_move_line"] == ["autovacuum_enabled=false"]
        assert opts["res_partner"] == ["fillfactor=90", "autovacuum_enabled=false"]
        autovac.resume(c.cursor(), paused)
    opts = reloptions(odoo_env, odoo_env.dbname)
    assert opts["account_move_line"] is None and opts["res_partner"] == ["fillfactor=90"]
    assert opts["mail_message"] == ["autovacuum_enabled=false"]

    backup(odoo_env)
    new = odoo_env.dbname + "_av"
    r = odoo_env.project.run("db.restore", "--env", "local", "--as", new)
    assert r.code == 0, r.err
    assert reloptions(odoo_env, new) == reloptions(odoo_env, odoo_env.dbname)
