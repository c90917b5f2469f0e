"""Backup sets: a folder (or S3 prefix) per backup, complete only once its manifest exists.

<id>/manifest.json        written last: a set without it is never listed
<id>/db/...               pg_dump directory format
<id>/filestore.tar.zst    the filestore
<id>/verified.json        written by db.verify
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ..core.download import sha256_file
from ..core.errors import BadInput, CheckFailed

FORMAT = "odoo-stack-backup/1"
MANIFEST = "manifest.json"
VERIFIED = "verified.json"
FILESTORE = "filestore.tar.zst"
_ID = re.compile(r"^(\d{8}T\d{6}Z)(?:-([a-z0-9][a-z0-9._-]{0,62}))?$")


def new_id(now: datetime, label: str | None) -> str:
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    if not label:
        return stamp
    slug = re.sub(r"[^a-z0-9._-]+", "-", label.lower()).strip("-.")[:63]
    if not slug:
        raise BadInput(f"--label {label!r}: use letters, digits, '.', '_' or '-'")
    return f"{stamp}-{slug}"


def parse_id(set_id: str) -> tuple[datetime, str | None] | None:
    m = _ID.match(set_id)
    if not m:
        return None
    when = datetime.strptime(m.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    return when, m.group(2)


@dataclass(frozen=True)
class Artifact:
    path: str  # relative to the set
    bytes: int
    sha256: str


@dataclass
class SetInfo:
    id: str
    when: datetime
    label: str | None
    size: int = 0
    verified: dict | None = None
    locations: list[str] = field(default_factory=list)
    damaged: str | None = None  # why the set cannot be used (e.g. unreadable manifest)

    def as_json(self) -> dict:
        return {
            "id": self.id,
            "time": self.when.isoformat(),
            "label": self.label,
            "bytes": self.size,
            "verified": self.verified,
            "locations": self.locations,
            "damaged": self.damaged,
        }


def load_manifest(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CheckFailed(f"{path}: missing: the backup set is incomplete") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckFailed(
            f"{path}: unreadable manifest ({e})", hint="the set is damaged: use another backup"
        ) from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or "artifacts" not in data:
        raise CheckFailed(f"{path}: not an odoo-stack backup manifest")
    return data


def check_artifacts(set_dir: Path, manifest: dict, skip: tuple[str, ...] = ()) -> None:
    """Every artifact present with its recorded size and sha256, else exit 1 naming it.

    ``skip``: artifacts whose sha256 is checked later in the pass that reads them anyway
    (the filestore archive, while it is extracted); only their presence is checked here.
    """
    for a in manifest["artifacts"]:
        p = set_dir / a["path"]
        if a["path"] in skip:
            if not p.is_file() or p.stat().st_size != a["bytes"]:
                raise CheckFailed(f"{p}: missing or truncated")
            continue
        if not p.is_file():
            raise CheckFailed(f"{p}: missing from the backup set")
        if p.stat().st_size != a["bytes"] or sha256_file(p) != a["sha256"]:
            raise CheckFailed(
                f"{p}: sha256 mismatch: the file is damaged",
                hint="use another backup set (db.list), or its offsite copy",
            )


def local_sets(root: Path) -> list[SetInfo]:
    out = []
    if not root.is_dir():
        return out
    for d in root.iterdir():
        parsed = parse_id(d.name)
        if not parsed or not (d / MANIFEST).is_file():
            continue  # in progress, failed, or foreign
        try:
            man = json.loads((d / MANIFEST).read_text())
            size = sum(a["bytes"] for a in man["artifacts"])
        except (ValueError, KeyError, TypeError) as e:
            # Listed, so an operator sees it; never chosen as "the newest" nor kept by prune.
            out.append(
                SetInfo(
                    d.name,
                    parsed[0],
                    parsed[1],
                    0,
                    None,
                    ["local"],
                    damaged=f"unreadable manifest ({type(e).__name__})",
                )
            )
            continue
        verified = None
        if (d / VERIFIED).is_file():
            try:
                verified = json.loads((d / VERIFIED).read_text())
            except ValueError:
                verified = None
        out.append(SetInfo(d.name, parsed[0], parsed[1], size, verified, ["local"]))
    return sorted(out, key=lambda s: s.id)
