"""[image] and [scan] of stack.toml as frozen objects (validated by core.config)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from ..core.config import StackConfig
from ..core.errors import BadInput

SEVERITIES = ("UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL")
DEFAULT_NAME = "odoo-stack/odoo"


@dataclass(frozen=True)
class Wkhtmltopdf:
    url: str
    sha256: str


@dataclass(frozen=True)
class ImageSpec:
    name: str
    base: str | None  # None: the Dockerfile's own pinned default
    uid: int
    extra_ca: Path | None
    source: str | None
    wkhtmltopdf: Wkhtmltopdf | None


@dataclass(frozen=True)
class Ignore:
    id: str
    reason: str
    expires: dt.date | None


@dataclass(frozen=True)
class ScanPolicy:
    fail_on: tuple[str, ...]
    only_fixed: bool
    ignores: tuple[Ignore, ...]
    db: Path | None
    db_repository: str | None


def image_spec(cfg: StackConfig) -> ImageSpec:
    t = cfg.raw.get("image", {})
    wk = t.get("wkhtmltopdf")
    ca = t.get("extra_ca")
    return ImageSpec(
        name=t.get("name", DEFAULT_NAME),
        base=t.get("base"),
        uid=t.get("uid", 101),
        extra_ca=(cfg.root / ca) if ca else None,
        source=t.get("source"),
        wkhtmltopdf=Wkhtmltopdf(wk["url"], wk["sha256"]) if wk else None,
    )


def scan_policy(cfg: StackConfig) -> ScanPolicy:
    t = cfg.raw.get("scan", {})
    where = f"{cfg.stack_file}: [scan]"
    fail_on = tuple(s.upper() for s in t.get("fail_on", ["CRITICAL", "HIGH"]))
    for s in fail_on:
        if s not in SEVERITIES:
            raise BadInput(
                f"{where} fail_on: unknown severity {s!r}", hint="use: " + ", ".join(SEVERITIES)
            )
    raw = t.get("ignore", [])
    if not isinstance(raw, list):
        raise BadInput(f"{where} ignore must be an array of tables ([[scan.ignore]])")
    ignores = []
    for i, ig in enumerate(raw, 1):
        at = f"{where} ignore #{i}"
        if not isinstance(ig, dict):
            raise BadInput(f"{at} must be a table with id, reason and expires")
        unknown = set(ig) - {"id", "reason", "expires"}
        if unknown:
            raise BadInput(
                f"{at}: unknown key {sorted(unknown)[0]!r}", hint="keys: id, reason, expires"
            )
        if not isinstance(ig.get("id"), str) or not ig["id"].strip():
            raise BadInput(f'{at} needs id = "CVE-..." (or a check or rule id)')
        if not isinstance(ig.get("reason"), str) or not ig["reason"].strip():
            raise BadInput(f"{at} ({ig['id']}) needs a reason: why it is safe to ignore")
        ignores.append(
            Ignore(ig["id"], ig["reason"], _date(ig.get("expires"), f"{at} ({ig['id']})"))
        )
    db = t.get("db")
    return ScanPolicy(
        fail_on=fail_on,
        only_fixed=t.get("only_fixed", True),
        ignores=tuple(ignores),
        db=(cfg.root / db) if db else None,
        db_repository=t.get("db_repository"),
    )


def _date(v: object, at: str) -> dt.date:
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    if isinstance(v, str):
        try:
            return dt.date.fromisoformat(v)
        except ValueError:
            pass
    raise BadInput(
        f"{at}: expires {v!r} is not a date",
        hint="write expires = 2027-01-31 (every ignore expires; renew it with a new reason)",
    )
