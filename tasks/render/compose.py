"""docker-compose.yml: Odoo (HTTP + gevent), an optional cron process, Caddy, neighbours."""

from __future__ import annotations

from typing import Any

from .sizing import CADDY_MB, OdooSizing
from .spec import RenderSpec

CADDY_IMAGE = "caddy:2.11-alpine"
HEALTH = (
    "import sys, urllib.request as u; "
    "sys.exit(u.urlopen('http://127.0.0.1:8069/web/health', timeout=4).status != 200)"
)
LOGGING = {"driver": "json-file", "options": {"max-size": "20m", "max-file": "5"}}


def _limits(mb: int, cpus: float | None = None) -> dict[str, Any]:
    lim: dict[str, Any] = {"memory": f"{mb}M"}
    if cpus:
        lim["cpus"] = f"{cpus:g}"
    return {"resources": {"limits": lim, "reservations": {"memory": f"{mb}M"}}}


def render(spec: RenderSpec, sz: OdooSizing) -> dict[str, Any]:
    odoo_common: dict[str, Any] = {
        "image": spec.image,
        "restart": "unless-stopped",
        "read_only": True,
        "tmpfs": ["/tmp"],  # noqa: S108  (a tmpfs inside the container)
        "user": "101:101",
        # libpq reads the password from a file and the CA from a path: no secret in the env.
        "environment": {"PGPASSFILE": "/run/secrets/pgpass"},
        # Outside Swarm a secret is a bind mount: deploy writes it 0600, owned by UID 101.
        "secrets": ["pgpass"],
        "configs": [{"source": "odoo_conf", "target": "/etc/odoo/odoo.conf"}],
        "volumes": ["odoo-data:/var/lib/odoo"],
        "networks": ["internal"],
        "logging": LOGGING,
    }
    if spec.db_sslrootcert:
        odoo_common["environment"]["PGSSLROOTCERT"] = "/etc/odoo/db-ca.crt"
        odoo_common["configs"].append({"source": "db_ca", "target": "/etc/odoo/db-ca.crt"})
    services: dict[str, Any] = {
        "odoo": {
            **odoo_common,
            "command": ["--config=/etc/odoo/odoo.conf"],
            "healthcheck": {
                "test": ["CMD", "python", "-c", HEALTH],
                "interval": "30s",
                "timeout": "5s",
                "retries": 3,
                "start_period": "60s",
            },
            "deploy": _limits(sz.odoo_mb),
        }
    }
    if sz.cron_separate:
        services["odoo-cron"] = {
            **odoo_common,
            # No HTTP: this process only runs scheduled actions.
            "command": [
                "--config=/etc/odoo/odoo.conf",
                "--no-http",
                "--workers=0",
                f"--max-cron-threads={sz.cron_threads}",
            ],
            "deploy": _limits(sz.cron_mb),
        }
    services["caddy"] = {
        "image": CADDY_IMAGE,
        "restart": "unless-stopped",
        "ports": ["80:80", "443:443", "443:443/udp"],
        "configs": [{"source": "caddyfile", "target": "/etc/caddy/Caddyfile"}],
        "volumes": ["caddy-data:/data", "caddy-config:/config"],
        "networks": ["internal"],
        "depends_on": {"odoo": {"condition": "service_started"}},
        # Caddy's admin endpoint answers inside the container only.
        "healthcheck": {
            "test": ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:2019/config/"],
            "interval": "30s",
            "timeout": "5s",
            "retries": 3,
        },
        "logging": LOGGING,
        "deploy": _limits(CADDY_MB),
    }
    volumes: dict[str, Any] = {"odoo-data": {}, "caddy-data": {}, "caddy-config": {}}
    secrets: dict[str, Any] = {"pgpass": {"file": "./secrets/pgpass"}}
    for s in spec.services:
        svc: dict[str, Any] = {
            "image": s.image,
            "restart": "unless-stopped",
            "networks": ["internal"],
            "logging": LOGGING,
            "deploy": _limits(s.memory_mb, s.cpus),
        }
        if s.volume:
            svc["volumes"] = [f"{s.name}-data:{s.volume}"]
            volumes[f"{s.name}-data"] = {}
        if s.secrets:
            svc["secrets"] = [k.lower() for k in s.secrets]
            for k in s.secrets:
                secrets[k.lower()] = {"file": f"./secrets/{k.lower()}"}
        services[s.name] = svc
    configs: dict[str, Any] = {
        "odoo_conf": {"file": "./odoo.conf"},
        "caddyfile": {"file": "./Caddyfile"},
    }
    if spec.db_sslrootcert:
        configs["db_ca"] = {"file": "./db-ca.crt"}
    return {
        "name": f"odoo-{spec.name}",
        "services": services,
        # Private to the droplet: only Caddy publishes ports; not `internal: true`, since
        # Odoo must reach the managed database and the mail server.
        "networks": {"internal": {"driver": "bridge"}},
        "volumes": volumes,
        "secrets": secrets,
        "configs": configs,
    }
