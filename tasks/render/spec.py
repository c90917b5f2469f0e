"""[env.<name>] as `invoke render` needs it: the droplet, domain, database, neighbours."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..core.config import StackConfig
from ..core.envconfig import env_table
from ..core.errors import BadInput


@dataclass(frozen=True)
class Service:
    name: str
    image: str
    memory_mb: int
    cpus: float | None
    subdomain: str | None
    port: int | None
    db_connections: int
    volume: str | None  # a path inside the container that keeps data
    secrets: tuple[str, ...]


@dataclass(frozen=True)
class RenderSpec:
    name: str
    root: Path
    production: bool
    domain: str
    acme_email: str | None
    size: str | None
    vcpus: int | None
    memory_mb: int | None
    os_reserve_mb: int | None
    image: str
    cron_separate: bool
    upload_limit_mb: int
    dbfilter: str
    db_host: str
    db_port: int
    db_name: str
    db_user: str
    db_sslmode: str
    db_sslrootcert: str | None
    db_plan: str | None
    db_max_connections: int | None
    db_reserved: int
    services: tuple[Service, ...]

    @property
    def env_file(self) -> Path:
        return self.root / f".env.{self.name}"


def render_spec(cfg: StackConfig, name: str) -> RenderSpec:
    t = env_table(cfg, name)
    where = f"{cfg.stack_file}: [env.{name}]"
    if "domain" not in t:
        raise BadInput(f"{where} domain is missing", hint='e.g. domain = "erp.example.com"')
    if "droplet" not in t:
        raise BadInput(f"{where}.droplet is missing", hint='e.g. size = "s-2vcpu-4gb"')
    db = t.get("db", {})
    odoo = t.get("odoo", {})
    if "image" not in odoo:
        raise BadInput(
            f"{where}.odoo image is missing",
            hint='the image to run, e.g. image = "registry.digitalocean.com/acme/odoo:<tag>"',
        )
    services = []
    for sname, s in t.get("services", {}).items():
        services.append(
            Service(
                sname,
                s["image"],
                s["memory_mb"],
                s.get("cpus"),
                s.get("subdomain"),
                s.get("port"),
                s.get("db_connections", 0),
                s.get("volume"),
                tuple(s.get("secrets", [])),
            )
        )
        if s.get("subdomain") and not s.get("port"):
            raise BadInput(f"{where}.services.{sname} has a subdomain but no port to proxy to")
    d = t["droplet"]
    return RenderSpec(
        name=name,
        root=cfg.root,
        production=t.get("production", name.startswith("prod")),
        domain=t["domain"],
        acme_email=t.get("acme_email"),
        size=d.get("size"),
        vcpus=d.get("vcpus"),
        memory_mb=d.get("memory_mb"),
        os_reserve_mb=d.get("os_reserve_mb"),
        image=odoo["image"],
        cron_separate=odoo.get("cron", "separate") == "separate",
        upload_limit_mb=odoo.get("upload_limit_mb", 128),
        dbfilter=odoo.get("dbfilter", f"^{db.get('name', 'odoo')}$"),
        db_host=db["host"],
        db_port=db.get("port", 5432),
        db_name=db["name"],
        db_user=db["user"],
        db_sslmode=db.get("sslmode", "prefer"),
        db_sslrootcert=db.get("sslrootcert"),
        db_plan=db.get("plan"),
        db_max_connections=db.get("max_connections"),
        db_reserved=db.get("reserved_connections", 3),
        services=tuple(services),
    )
