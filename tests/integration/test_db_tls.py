"""Backups over TLS, as production reaches DigitalOcean Managed PostgreSQL: sslmode
verify-full against the provider's CA, on a server that refuses connections without TLS."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def make_ca(d: Path, name: str) -> tuple[Path, Path]:
    d.mkdir(parents=True, exist_ok=True)
    key, crt = d / f"{name}.key", d / f"{name}.crt"
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-keyout", str(key), "-out", str(crt), "-subj", f"/CN={name}")  # fmt: skip
    return crt, key


def server_cert(d: Path, ca: tuple[Path, Path]) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (an IP SAN: verify-full checks it) signed by ``ca``."""
    key, csr, crt, ext = d / "server.key", d / "server.csr", d / "server.crt", d / "ext.cnf"
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr),
             "-subj", "/CN=db.example.internal")  # fmt: skip
    ext.write_text("subjectAltName = IP:127.0.0.1, DNS:db.example.internal\n")
    _openssl("x509", "-req", "-in", str(csr), "-CA", str(ca[0]), "-CAkey", str(ca[1]),
             "-CAcreateserial", "-days", "2", "-out", str(crt), "-extfile", str(ext))  # fmt: skip
    return crt, key


@pytest.fixture(scope="module")
def tls_pg(tmp_path_factory):
    from conftest import need

    need(shutil.which("openssl") is not None, "openssl", "apt-get install openssl")
    import pgdist
    from services import pg_bindir, start_pg

    need(pg_bindir() is not None, "PostgreSQL server binaries", "python tests/pgdist.py")
    d = tmp_path_factory.mktemp("tls")
    ca = make_ca(d, "do-managed-ca")
    other = make_ca(d, "someone-else")
    server = start_pg(tls=server_cert(d, ca))
    os.environ["STACK_PG_LIB"] = pgdist.pg_lib_path()
    try:
        yield server, ca[0], other[0]
    finally:
        server.stop()
        shutil.rmtree(server.datadir.parent, ignore_errors=True)


def test_backup_verify_restore_over_verify_full_tls(project, tls_pg):
    import psycopg

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from odoodb import CREATE_DATABASE, Scale, populate, write_filestore

    server, ca, other_ca = tls_pg
    kw = dict(host=server.host, port=server.port, user=server.user, password=server.password)
    kw |= dict(sslmode="verify-full", sslrootcert=str(ca))
    with psycopg.connect(dbname="postgres", autocommit=True, **kw) as c:
        c.execute(CREATE_DATABASE.format("odoo_tls"))
    with psycopg.connect(dbname="odoo_tls", autocommit=True, **kw) as c, c.cursor() as cur:
        populate(cur, Scale())
        write_filestore(cur, project.root / "var" / "filestore" / "odoo_tls", Scale())
    (project.root / "certs").mkdir()
    shutil.copy(ca, project.root / "certs" / "db-ca.crt")
    shutil.copy(other_ca, project.root / "certs" / "other-ca.crt")

    def stack(sslmode: str, cert: str) -> None:
        project.write_stack(f"""
            [odoo]
            version = "19.0"
            [env.prod.db]
            host = "127.0.0.1"
            port = {server.port}
            name = "odoo_tls"
            user = "postgres"
            sslmode = "{sslmode}"
            sslrootcert = "certs/{cert}"
            [env.prod.filestore]
            path = "var/filestore/odoo_tls"
            [env.prod.backup]
            dir = "backups"
        """)

    (project.root / ".env.prod").write_text(f"DB_PASSWORD={server.password}\n")
    stack("verify-full", "db-ca.crt")
    r = project.run("db.backup", "--env", "prod", "--json")
    assert r.code == 0, r.err
    set_id = json.loads(r.out)["id"]
    r = project.run("db.verify", "--env", "prod", "--json")
    assert r.code == 0, r.err
    assert json.loads(r.out)["id"] == set_id and json.loads(r.out)["ok"]
    r = project.run("db.restore", "--env", "prod", "--as", "odoo_tls_copy", "--neutralize")
    assert r.code == 0, r.err
    with psycopg.connect(dbname="odoo_tls_copy", autocommit=True, **kw) as c:
        assert c.execute("SELECT count(*) FROM res_partner").fetchone() == (200,)
        assert c.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone()[0]

    # A certificate the configured CA did not sign: refused before anything is written.
    stack("verify-full", "other-ca.crt")
    r = project.run("db.backup", "--env", "prod")
    assert r.code == 2, r.out + r.err
    assert "cannot connect" in r.err and "certificate verify failed" in r.err
    assert "Traceback" not in r.err and server.password not in r.err
    assert [p.name for p in (project.root / "backups").iterdir()] == [set_id]
    # The CA file missing: named, as bad input.
    stack("verify-full", "missing.crt")
    r = project.run("db.backup", "--env", "prod")
    assert r.code == 2 and "sslrootcert" in r.err and "missing.crt" in r.err, r.err
    # Without TLS the server (like a managed one) refuses the connection.
    stack("disable", "db-ca.crt")
    r = project.run("db.list", "--env", "prod")
    assert r.code == 0  # listing needs no database
    r = project.run("db.backup", "--env", "prod")
    assert r.code == 2 and "cannot connect" in r.err and "no encryption" in r.err, r.err
