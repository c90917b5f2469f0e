"""stack.lock: exact commit per repo. TOML, stable order, written atomically."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .errors import BadInput
from .fs import atomic_write_text

HEADER = (
    "# stack.lock: written by `invoke oca.pin` / `invoke oca.update`; do not edit by hand.\n"
    "# One table per repo: the url and ref from stack.toml and the exact commit they resolved to;\n"
    "# [odoo]: the Odoo CE commit and the sha256 of its source archive.\n"
)
_SHA = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True)
class LockEntry:
    name: str
    url: str
    ref: str
    commit: str


@dataclass(frozen=True)
class OdooPin:
    """[odoo] in stack.lock: the Odoo CE commit and the sha256 of its archive."""

    url: str
    ref: str
    commit: str
    archive: str  # the archive URL for that commit
    sha256: str


def read_odoo_pin(path: Path) -> OdooPin | None:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, tomllib.TOMLDecodeError):
        return None  # read_lock reports a broken lock
    t = data.get("odoo")
    if t is None:
        return None
    keys = ("url", "ref", "commit", "archive", "sha256")
    if not (isinstance(t, dict) and all(isinstance(t.get(k), str) for k in keys)) or not (
        _SHA.match(t["commit"]) and re.fullmatch(r"[0-9a-f]{64}", t["sha256"])
    ):
        raise BadInput(
            f"{path}: [odoo] needs url, ref, a 40-hex commit, archive and a sha256",
            hint="regenerate it: invoke oca.pin",
        )
    return OdooPin(*(t[k] for k in keys))


def read_lock(path: Path) -> dict[str, LockEntry] | None:
    """The locked repos by name, or None when there is no lock file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except tomllib.TOMLDecodeError as e:
        raise BadInput(f"{path}: invalid TOML: {e}", hint="regenerate it: invoke oca.pin") from None
    entries: dict[str, LockEntry] = {}
    for name, t in data.get("repos", {}).items():
        keys = ("url", "ref", "commit")
        ok = isinstance(t, dict) and all(isinstance(t.get(k), str) for k in keys)
        if not ok or not _SHA.match(t["commit"]):
            raise BadInput(
                f"{path}: [repos.{name}] needs url, ref and a 40-hex commit",
                hint="regenerate it: invoke oca.pin",
            )
        entries[name] = LockEntry(name, t["url"], t["ref"], t["commit"])
    return entries


def render_lock(entries: Mapping[str, LockEntry], odoo: OdooPin | None = None) -> str:
    import tomlkit  # only writers pay for it: the no-op sync path never renders

    doc = tomlkit.document()
    if odoo is not None:
        t = tomlkit.table()
        for k in ("url", "ref", "commit", "archive", "sha256"):
            t.add(k, getattr(odoo, k))
        doc.add("odoo", t)
    repos = tomlkit.table(is_super_table=True)
    for name in sorted(entries):
        e = entries[name]
        t = tomlkit.table()
        t.add("url", e.url)
        t.add("ref", e.ref)
        t.add("commit", e.commit)
        repos.add(name, t)
    doc.add("repos", repos)
    return HEADER + "\n" + tomlkit.dumps(doc).lstrip("\n")


def write_lock(path: Path, entries: Mapping[str, LockEntry], odoo: OdooPin | None = None) -> bool:
    """Write the lock; returns False (and leaves the file untouched) when nothing changed."""
    return atomic_write_text(path, render_lock(entries, odoo))
