"""Every sizing number `invoke render` writes, as plain functions (see docs/adr/0003).

Sources: Odoo's deployment documentation (workers = 2 x vCPU + 1; a light worker ~150 MB,
a heavy one ~1 GB, about 1 heavy in 5), DigitalOcean's plan sizes and managed-database
connection limits, and pgtune's "web application" profile.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..core.errors import BadInput, CheckFailed

# DigitalOcean droplet slugs -> (vCPUs, MB of RAM). Suffixes -amd/-intel keep the numbers.
DROPLETS: dict[str, tuple[int, int]] = {
    "s-1vcpu-512mb-10gb": (1, 512),
    "s-1vcpu-1gb": (1, 1024),
    "s-1vcpu-2gb": (1, 2048),
    "s-2vcpu-2gb": (2, 2048),
    "s-2vcpu-4gb": (2, 4096),
    "s-2vcpu-8gb": (2, 8192),
    "s-4vcpu-8gb": (4, 8192),
    "s-4vcpu-16gb": (4, 16384),
    "s-8vcpu-16gb": (8, 16384),
    "s-8vcpu-32gb": (8, 32768),
    "c-2": (2, 4096),
    "c-4": (4, 8192),
    "c-8": (8, 16384),
    "g-2vcpu-8gb": (2, 8192),
    "g-4vcpu-16gb": (4, 16384),
    "g-8vcpu-32gb": (8, 32768),
    "m-2vcpu-16gb": (2, 16384),
    "m-4vcpu-32gb": (4, 32768),
}
# DigitalOcean managed PostgreSQL plans -> (vCPUs, MB of RAM).
DB_PLANS: dict[str, tuple[int, int]] = {
    "db-s-1vcpu-1gb": (1, 1024),
    "db-s-1vcpu-2gb": (1, 2048),
    "db-s-2vcpu-4gb": (2, 4096),
    "db-s-4vcpu-8gb": (4, 8192),
    "db-s-6vcpu-16gb": (6, 16384),
    "db-s-8vcpu-32gb": (8, 32768),
    "db-s-16vcpu-64gb": (16, 65536),
}

LIGHT_WORKER_MB = 150  # Odoo's deployment docs: a worker serving light requests
HEAVY_WORKER_MB = 1024  # ... and one serving heavy ones (reports, imports)
HEAVY_RATIO = 0.2  # ... about one in five
PER_WORKER_MB = round((1 - HEAVY_RATIO) * LIGHT_WORKER_MB + HEAVY_RATIO * HEAVY_WORKER_MB)  # 325
GEVENT_MB = LIGHT_WORKER_MB  # the websocket/longpolling worker holds no large requests
CADDY_MB = 128
MIN_DB_MAXCONN = 3  # per Odoo process: a request cursor, a bus/cron cursor, one spare


def droplet(size: str | None, vcpus: int | None, memory_mb: int | None) -> tuple[int, int]:
    """(vCPUs, MB) from a slug, or from explicit numbers (which win)."""
    if size is not None:
        base = size.removesuffix("-amd").removesuffix("-intel")
        if base not in DROPLETS:
            raise BadInput(
                f"droplet size {size!r} is not a DigitalOcean slug we know",
                hint="e.g. s-2vcpu-4gb, or give vcpus and memory_mb instead",
            )
        cpu, mem = DROPLETS[base]
        return vcpus or cpu, memory_mb or mem
    if vcpus is None or memory_mb is None:
        raise BadInput("the droplet needs size, or both vcpus and memory_mb")
    return vcpus, memory_mb


def os_reserve_mb(ram_mb: int) -> int:
    """The OS, dockerd, sshd and a little page cache: 256 MB + 5% of RAM."""
    return 256 + math.ceil(ram_mb * 0.05)


@dataclass(frozen=True)
class Neighbour:
    name: str
    memory_mb: int
    db_connections: int = 0


@dataclass(frozen=True)
class OdooSizing:
    vcpus: int
    ram_mb: int
    os_reserve_mb: int
    neighbours_mb: int
    odoo_budget_mb: int  # what is left for Odoo's processes
    workers: int
    workers_by_cpu: int
    workers_by_ram: int
    cron_threads: int
    cron_separate: bool
    cron_mb: int  # the separate cron container's limit (0 when inline)
    odoo_mb: int  # the HTTP container's limit: workers + gevent + master
    limit_memory_soft_mb: int
    limit_memory_hard_mb: int
    arithmetic: tuple[str, ...]


def odoo_sizing(
    vcpus: int,
    ram_mb: int,
    neighbours: list[Neighbour],
    cron_separate: bool = True,
    reserve_mb: int | None = None,
) -> OdooSizing:
    """Workers from CPU ((2 x vCPU) + 1) capped by the RAM left after everything else."""
    reserve = reserve_mb if reserve_mb is not None else os_reserve_mb(ram_mb)
    others = sum(n.memory_mb for n in neighbours)
    budget = ram_mb - reserve - CADDY_MB - others
    cron_threads = 2 if vcpus >= 4 else 1
    cron_mb = PER_WORKER_MB * cron_threads + LIGHT_WORKER_MB if cron_separate else 0
    by_cpu = 2 * vcpus + 1
    for_workers = budget - cron_mb - GEVENT_MB - LIGHT_WORKER_MB  # the last: the master process
    by_ram = max(0, for_workers // PER_WORKER_MB)
    workers = min(by_cpu, by_ram)
    lines = (
        f"RAM {ram_mb} MB - OS reserve {reserve} - Caddy {CADDY_MB} - neighbours {others} "
        f"({', '.join(f'{n.name} {n.memory_mb}' for n in neighbours) or 'none'}) "
        f"= {budget} MB for Odoo",
        f"{budget} - cron {cron_mb} - gevent {GEVENT_MB} - master {LIGHT_WORKER_MB} "
        f"= {for_workers} MB for HTTP workers at {PER_WORKER_MB} MB each -> {by_ram}",
        f"CPU: 2 x {vcpus} + 1 = {by_cpu}; workers = min({by_cpu}, {by_ram}) = {workers}",
    )
    if workers < 2:
        raise CheckFailed(
            "the droplet is too small for what is declared: Odoo needs at least 2 HTTP workers",
            details=list(lines),
            hint='a bigger droplet, fewer or smaller neighbours, or cron = "inline"',
        )
    share = (for_workers) // workers
    # A heavy request may use twice a worker's share: not every worker is heavy at once.
    soft = max(512, min(2048, 2 * share))
    hard = max(640, min(2560, round(soft * 1.25)))
    odoo_mb = budget - cron_mb
    return OdooSizing(
        vcpus, ram_mb, reserve, others, budget, workers, by_cpu, by_ram,
        cron_threads, cron_separate, cron_mb, odoo_mb, soft, hard, lines,
    )  # fmt: skip


def db_limits(plan: str | None, max_connections: int | None) -> tuple[int | None, int | None, int]:
    """(vCPUs, MB, connection limit) of the managed database: DigitalOcean allows 25
    connections per GB of RAM and keeps 3 for itself."""
    cpu = mem = None
    if plan is not None:
        if plan not in DB_PLANS:
            raise BadInput(
                f"database plan {plan!r} is not a DigitalOcean slug we know",
                hint="e.g. db-s-1vcpu-2gb, or give max_connections instead",
            )
        cpu, mem = DB_PLANS[plan]
    if max_connections is None:
        if mem is None:
            raise BadInput("the database needs plan, or max_connections (the plan's limit)")
        max_connections = 25 * mem // 1024 - 3
    return cpu, mem, max_connections


def db_maxconn(
    limit: int, reserved: int, odoo_processes: int, neighbours: list[Neighbour]
) -> tuple[int, str]:
    """Odoo's per-process pool so that every process together stays within the limit."""
    others = sum(n.db_connections for n in neighbours)
    free = limit - reserved - others
    per = free // odoo_processes if odoo_processes else 0
    arithmetic = (
        f"connections: limit {limit} - reserved {reserved} - neighbours {others} = {free}; "
        f"/ {odoo_processes} Odoo processes = {per} each"
    )
    if per < MIN_DB_MAXCONN:
        raise CheckFailed(
            f"the database's connection limit is too small: {per} per Odoo process "
            f"(at least {MIN_DB_MAXCONN})",
            details=[arithmetic],
            hint="a bigger database plan, a connection pooler, or fewer workers",
        )
    return min(per, 64), arithmetic  # 64: Odoo's own default and ceiling


def pgtune(ram_mb: int, vcpus: int, max_connections: int) -> dict[str, str]:
    """pgtune's web-application profile, SSD storage, PostgreSQL 16."""
    shared = ram_mb // 4
    work_mem_kb = max(64 * 1024 // 16, (ram_mb - shared) * 1024 // (max_connections * 3))
    wal_buffers_kb = min(16 * 1024, max(64, shared * 1024 * 3 // 100))
    if 14 * 1024 <= wal_buffers_kb < 16 * 1024:
        wal_buffers_kb = 16 * 1024
    out = {
        "max_connections": str(max_connections),
        "shared_buffers": f"{shared}MB",
        "effective_cache_size": f"{ram_mb * 3 // 4}MB",
        "maintenance_work_mem": f"{min(2048, ram_mb // 16)}MB",
        "checkpoint_completion_target": "0.9",
        "wal_buffers": f"{wal_buffers_kb}kB",
        "default_statistics_target": "100",
        "random_page_cost": "1.1",
        "effective_io_concurrency": "200",
        "work_mem": f"{work_mem_kb}kB",
        "huge_pages": "off",
        "min_wal_size": "1GB",
        "max_wal_size": "4GB",
    }
    if vcpus >= 2:
        half = min(4, math.ceil(vcpus / 2))
        out |= {
            "max_worker_processes": str(vcpus),
            "max_parallel_workers_per_gather": str(half),
            "max_parallel_workers": str(vcpus),
            "max_parallel_maintenance_workers": str(half),
        }
    return out


# What DigitalOcean's managed PostgreSQL lets a customer set (its advanced configuration);
# everything else in the pgtune set is the provider's to size.
MANAGED_SETTABLE = {
    "work_mem",
    "max_parallel_workers",
    "max_parallel_workers_per_gather",
    "max_worker_processes",
    "default_toast_compression",
    "shared_buffers_percentage",
}
