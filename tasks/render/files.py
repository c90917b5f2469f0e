"""Everything `invoke render` writes for one environment, as {file name: text}."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..core.errors import BadInput
from ..core.secrets import Secrets
from . import caddy, compose, odooconf, pgconf
from .sizing import Neighbour, OdooSizing, db_limits, db_maxconn, droplet, odoo_sizing, pgtune
from .spec import RenderSpec

ADDONS_PATH = "/opt/odoo-addons,/opt/odoo/addons,/opt/odoo/odoo/addons"  # docker/Dockerfile
_LOCAL_DB = ("localhost", "127.0.0.1", "::1", "db", "postgres")


@dataclass(frozen=True)
class Rendered:
    files: dict[str, str]
    sizing: OdooSizing
    db_maxconn: int
    arithmetic: tuple[str, ...]


def service_host(spec: RenderSpec, subdomain: str) -> str:
    """ "n8n" beside erp.example.com is n8n.example.com; a name with a dot is taken as is."""
    if "." in subdomain:
        return subdomain
    parent = spec.domain.split(".", 1)[1] if spec.domain.count(".") >= 2 else spec.domain
    return f"{subdomain}.{parent}"


def render_all(
    spec: RenderSpec, secrets: Secrets, previous_admin_hash: str | None = None
) -> Rendered:
    """``previous_admin_hash``: admin_passwd of the odoo.conf rendered before, kept while it
    still matches the master password."""
    vcpus, ram = droplet(spec.size, spec.vcpus, spec.memory_mb)
    neighbours = [Neighbour(s.name, s.memory_mb, s.db_connections) for s in spec.services]
    sz = odoo_sizing(vcpus, ram, neighbours, spec.cron_separate, spec.os_reserve_mb)
    db_cpu, db_ram, limit = db_limits(spec.db_plan, spec.db_max_connections)
    processes = sz.workers + 1 + sz.cron_threads  # HTTP workers, gevent, cron
    maxconn, conn_line = db_maxconn(limit, spec.db_reserved, processes, neighbours)

    # Every secret the deployment needs must exist now: no placeholder is ever rendered.
    admin = secrets.require("ODOO_ADMIN_PASSWORD", "Odoo's master password, stored hashed")
    secrets.require("DB_PASSWORD", "the database password, deployed as a pgpass secret file")
    for s in spec.services:
        for key in s.secrets:
            secrets.require(key, f"a secret of service {s.name}")

    options: dict[str, object] = {
        "addons_path": ADDONS_PATH,
        "data_dir": "/var/lib/odoo",
        "admin_passwd": odooconf.hash_admin_password(admin.reveal(), previous_admin_hash),
        "db_host": spec.db_host,
        "db_port": spec.db_port,
        "db_user": spec.db_user,
        "db_name": spec.db_name,
        "dbfilter": spec.dbfilter,
        "db_sslmode": spec.db_sslmode,
        "db_maxconn": maxconn,
        "list_db": False,
        "proxy_mode": True,
        "http_port": 8069,
        "gevent_port": 8072,
        "workers": sz.workers,
        "max_cron_threads": 0 if sz.cron_separate else sz.cron_threads,
        "limit_memory_soft": sz.limit_memory_soft_mb * 1024 * 1024,
        "limit_memory_hard": sz.limit_memory_hard_mb * 1024 * 1024,
        "limit_time_cpu": 60,
        "limit_time_real": 120,
        "limit_request": 65536,
        "log_level": "info",
    }
    sites = [
        caddy.Site(
            spec.domain,
            "odoo:8069",
            "odoo:8072",
            refuse_db_manager=spec.production,
            upload_limit_mb=spec.upload_limit_mb,
        )
    ]
    sites += [
        caddy.Site(service_host(spec, s.subdomain), f"{s.name}:{s.port}")
        for s in spec.services
        if s.subdomain and s.port
    ]
    import yaml  # only `render` pays for it

    files = {
        "docker-compose.yml": "# Rendered by `invoke render` from stack.toml; do not edit.\n"
        + yaml.safe_dump(compose.render(spec, sz), sort_keys=False, width=100),
        "Caddyfile": caddy.render(sites, spec.acme_email),
        "odoo.conf": odooconf.render(options),
    }
    if db_ram and db_cpu:
        managed = spec.db_host not in _LOCAL_DB
        files["postgresql.conf.recommended"] = pgconf.render(
            pgtune(db_ram, db_cpu, limit), db_ram, db_cpu, managed
        )
    if spec.db_sslrootcert:
        ca = spec.root / spec.db_sslrootcert
        if not ca.is_file():
            raise BadInput(
                f"[env.{spec.name}.db] sslrootcert {ca} does not exist",
                hint="download the cluster's CA certificate from DigitalOcean into that path",
            )
        files["db-ca.crt"] = ca.read_text()
    return Rendered(files, sz, maxconn, (*sz.arithmetic, conn_line))


def drift(out: Path, files: dict[str, str]) -> list[str]:
    """Files under ``out`` that differ from what stack.toml renders now (or are missing)."""
    changed = []
    for name, text in sorted(files.items()):
        p = out / name
        if not p.is_file():
            changed.append(f"{name}: missing")
        elif p.read_text() != text:
            changed.append(f"{name}: differs")
    extra = sorted(
        p.name for p in out.iterdir() if p.is_file() and p.name not in files
    ) if out.is_dir() else []  # fmt: skip
    changed += [f"{n}: not rendered from stack.toml" for n in extra]
    return changed
