"""PostgreSQL adapter: connections (psycopg 3) and the pg_dump/pg_restore binaries."""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..core.envconfig import DbSpec
from ..core.errors import BadInput
from ..core.proc import Result, run
from ..core.secrets import Secret

# Where client versions live, Debian's layout (<root>/<major>/bin); several roots may be
# listed, separated like PATH.
PG_LIB_DEFAULT = "/usr/lib/postgresql"


def pg_lib_roots() -> list[Path]:
    raw = os.environ.get("STACK_PG_LIB", PG_LIB_DEFAULT)
    return [Path(p) for p in raw.split(os.pathsep) if p]


@dataclass(frozen=True)
class Conn:
    """How to reach one database: spec + password (never printed)."""

    spec: DbSpec
    password: Secret | None
    dbname: str

    def with_db(self, dbname: str) -> Conn:
        return Conn(self.spec, self.password, dbname)

    def kwargs(self) -> dict:
        kw = {
            "host": self.spec.host,
            "port": self.spec.port,
            "user": self.spec.user,
            "dbname": self.dbname,
            "connect_timeout": 10,
            "application_name": "odoo-stack",
        }
        if self.password:
            kw["password"] = self.password.reveal()
        if self.spec.sslmode:
            kw["sslmode"] = self.spec.sslmode
        if self.spec.sslrootcert:
            kw["sslrootcert"] = str(self.spec.sslrootcert)
        return kw

    def env(self) -> dict[str, str]:
        """Environment for libpq tools: the password travels here, never on a command line."""
        env = dict(os.environ)
        env.update(
            PGHOST=self.spec.host,
            PGPORT=str(self.spec.port),
            PGUSER=self.spec.user,
            PGDATABASE=self.dbname,
            PGCONNECT_TIMEOUT="10",
            PGAPPNAME="odoo-stack",
        )
        if self.password:
            env["PGPASSWORD"] = self.password.reveal()
        if self.spec.sslmode:
            env["PGSSLMODE"] = self.spec.sslmode
        if self.spec.sslrootcert:
            env["PGSSLROOTCERT"] = str(self.spec.sslrootcert)
        return env

    def where(self) -> str:
        return f"{self.spec.user}@{self.spec.host}:{self.spec.port}/{self.dbname}"


def connect(conn: Conn, autocommit: bool = True):
    import psycopg

    try:
        return psycopg.connect(autocommit=autocommit, **conn.kwargs())
    except psycopg.OperationalError as e:
        msg = str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__
        if "password authentication failed" in str(e) or "no password supplied" in str(e):
            raise BadInput(
                f"database {conn.where()}: password authentication failed",
                hint="check DB_PASSWORD in the environment's .env file",
            ) from None
        raise BadInput(
            f"database {conn.where()}: cannot connect: {msg}",
            hint="check [env.<name>.db] host/port/sslmode and that the server is up",
        ) from None


def server_major(cur) -> int:
    cur.execute("SHOW server_version_num")
    return int(cur.fetchone()[0]) // 10000


def _tool_major(binary: str) -> int | None:
    res = run([binary, "--version"], timeout=20)
    m = re.search(r"(\d+)(?:\.\d+)?", res.stdout)
    return int(m.group(1)) if res.ok and m else None


def find_tool(tool: str, server: int) -> tuple[str, int]:
    """A pg_dump/pg_restore/psql whose major version is at least the server's.

    Exact match first, then the nearest newer one; never an older one (it would fail or
    silently miss objects).
    """
    found: dict[int, str] = {}
    for d in (d for root in pg_lib_roots() for d in sorted(root.glob("*/bin"))):
        b = d / tool
        if b.is_file():
            v = _tool_major(str(b))
            if v:
                found.setdefault(v, str(b))
    on_path = shutil.which(tool)
    if on_path:
        v = _tool_major(on_path)
        if v:
            found.setdefault(v, on_path)
    usable = sorted(v for v in found if v >= server)
    if not usable:
        have = ", ".join(f"{v} ({p})" for v, p in sorted(found.items())) or "none"
        raise BadInput(
            f"{tool} {server} or newer is needed for a PostgreSQL {server} server; found: {have}",
            hint=f"install postgresql-client-{server} (its binaries go to "
            f"{PG_LIB_DEFAULT}/{server}/bin), or list its root in STACK_PG_LIB",
        )
    return found[usable[0]], usable[0]


def run_tool(
    args: list[str],
    conn: Conn,
    timeout: float | None = None,
    extra_env: dict[str, str] | None = None,
) -> Result:
    env = conn.env()
    env.update(extra_env or {})
    return run(args, env=env, timeout=timeout)
