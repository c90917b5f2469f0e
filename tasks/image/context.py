"""The build context image.build hands to Docker: only what the Dockerfile copies.

build/image/context/
  Dockerfile, .dockerignore, odoo.conf      from docker/
  odoo.tar.gz                               the archive pinned in stack.lock (sha256 checked)
  wkhtmltox.deb                             [image] wkhtmltopdf (sha256 checked)
  requirements/odoo.txt, addons.txt         Odoo's own, and the addons' (oca.deps)
  addons/                                   oca.flatten in copy mode, .provenance.json inside
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..core.config import StackConfig
from ..core.download import cached
from ..core.errors import BadInput, CheckFailed
from ..core.fs import swap_dir
from ..core.lock import LockEntry, OdooPin, read_lock, read_odoo_pin
from ..core.proc import git, redact
from .spec import ImageSpec

DOCKER_DIR = "docker"


@dataclass(frozen=True)
class Pins:
    repos: dict[str, LockEntry]
    odoo: OdooPin
    lock_sha256: str


@dataclass(frozen=True)
class Context:
    dir: Path
    pins: Pins
    odoo_sha256: str
    wkhtmltopdf_sha256: str
    addons: int


def checked_pins(cfg: StackConfig) -> Pins:
    """stack.lock, which must exist and match stack.toml (exit 2 otherwise)."""
    from ..oca.odoo_pin import odoo_stale
    from ..oca.pin import plan_pin

    if cfg.odoo is None:
        raise BadInput(
            f"{cfg.stack_file}: [odoo] url is not set; the image needs Odoo's source pinned",
            hint='add url = "https://github.com/odoo/odoo.git" under [odoo], then: invoke oca.pin',
        )
    lock = read_lock(cfg.lock_file)
    if lock is None:
        raise BadInput(f"{cfg.lock_file} does not exist", hint="run: invoke oca.pin")
    odoo = read_odoo_pin(cfg.lock_file)
    plan = plan_pin(cfg, lock)
    why = [f"{r.name}: {plan.reasons[r.name]}" for r in plan.resolve]
    why += [f"{n}: {plan.reasons[n]}" for n in plan.drop]
    odoo_why = odoo_stale(cfg, odoo)
    if odoo_why:
        why.insert(0, f"odoo: {odoo_why}")
    if why:
        raise BadInput(
            f"{cfg.lock_file} is stale against stack.toml ({'; '.join(why)})",
            hint="run: invoke oca.pin, and commit stack.lock",
        )
    assert odoo is not None
    digest = hashlib.sha256(cfg.lock_file.read_bytes()).hexdigest()
    return Pins(lock, odoo, digest)


def _odoo_requirements(archive: Path) -> str:
    """Odoo's requirements.txt, read from the archive without unpacking it."""
    with tarfile.open(archive, "r:gz") as tf:
        for m in tf:
            parts = m.name.split("/")
            if len(parts) == 2 and parts[1] == "requirements.txt" and m.isfile():
                f = tf.extractfile(m)
                assert f is not None
                return f.read().decode()
    raise CheckFailed(f"{archive}: no requirements.txt at the top of the Odoo archive")


def assemble(cfg: StackConfig, spec: ImageSpec, dest: Path) -> Context:
    """Sync and flatten the pinned stack, fetch the pinned downloads, fill ``dest``."""
    from ..oca import sync
    from ..oca.deps import check, render_requirements
    from ..oca.flatten import materialize
    from ..oca.odoo_pin import odoo_archive
    from ..oca.selection import provenance, select

    pins = checked_pins(cfg)
    if spec.wkhtmltopdf is None:
        raise BadInput(
            f"{cfg.stack_file}: [image] wkhtmltopdf is not set",
            hint='add [image.wkhtmltopdf] url = "<the .deb for bookworm>" and its sha256',
        )
    steps = sync.plan_sync(cfg, pins.repos, force=False, jobs=8)
    refused = sync.refusals(steps)
    if refused:
        raise BadInput(
            "local changes in " + ", ".join(f"{r.path} ({r.detail})" for r in refused),
            hint="an image is built from the pins only: commit and pin them, or oca.sync --force",
        )
    sync.execute(steps, force=False, jobs=8)
    sel = select(cfg, pins.repos)
    if sel.collisions or sel.problems:
        details = [f"{c.addon}: " + " and ".join(c.paths) for c in sel.collisions]
        details += [f"{p.where}: {p.message}" for p in sel.problems]
        raise CheckFailed(
            "the addon selection has problems; an image is built only from a clean one",
            details=details,
            hint="see: invoke oca.flatten --strict",
        )
    rep = check(sel, cfg.odoo_version, {r.name for r in cfg.repos})
    if not rep.ok:
        raise CheckFailed(
            "addon dependencies are not met or their requirements conflict",
            hint="see: invoke oca.deps",
        )
    archive = odoo_archive(cfg, pins.odoo)
    wk = cached(
        spec.wkhtmltopdf.url,
        spec.wkhtmltopdf.sha256,
        cfg.root / "build" / "cache" / "downloads",
        "wkhtmltox.deb",
        "wkhtmltopdf",
    )
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.new-", dir=dest.parent))
    try:
        docker_dir = cfg.root / DOCKER_DIR
        for name in ("Dockerfile", "odoo.conf"):
            if not (docker_dir / name).is_file():
                raise BadInput(f"{docker_dir / name} is missing", hint="restore it from git")
            shutil.copy2(docker_dir / name, tmp / name)
        ignore = cfg.root / ".dockerignore"
        if ignore.is_file():
            shutil.copy2(ignore, tmp / ".dockerignore")
        _link_or_copy(archive, tmp / "odoo.tar.gz")
        _link_or_copy(wk, tmp / "wkhtmltox.deb")
        req = tmp / "requirements"
        req.mkdir()
        (req / "odoo.txt").write_text(_odoo_requirements(archive))
        (req / "addons.txt").write_text(render_requirements(rep, cfg.odoo_version))
        head = monorepo_revision(cfg)
        materialize(sel, tmp / "addons", "copy", provenance(cfg, sel, pins.repos, head.commit))
        swap_dir(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return Context(dest, pins, pins.odoo.sha256, spec.wkhtmltopdf.sha256, len(sel.selected))


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        dst.hardlink_to(src)  # the archive can be large: no second copy on the same disk
    except OSError:
        shutil.copy2(src, dst)


@dataclass(frozen=True)
class Revision:
    commit: str | None
    short: str  # for tags: 12 hex, "-dirty" when tracked files changed
    created: str  # ISO 8601 commit time: a rebuild of the same commit is the same image
    source: str | None


def monorepo_revision(cfg: StackConfig) -> Revision:
    head = git("log", "-1", "--format=%H %cI", cwd=cfg.root)
    if not head.ok or not head.stdout.strip():
        return Revision(None, "nogit", "1970-01-01T00:00:00Z", None)
    commit, created = head.stdout.split()
    dirty = git("status", "--porcelain", "--untracked-files=no", cwd=cfg.root).stdout.strip()
    origin = git("remote", "get-url", "origin", cwd=cfg.root)
    return Revision(
        commit,
        commit[:12] + ("-dirty" if dirty else ""),
        created,
        redact(origin.stdout.strip()) if origin.ok else None,
    )


def compact_provenance(pins: Pins, rev: Revision) -> str:
    """For the image label: what each part was built from (the full file is in the image)."""
    return json.dumps(
        {
            "monorepo": rev.commit,
            "odoo": pins.odoo.commit,
            "repos": {n: e.commit for n, e in sorted(pins.repos.items())},
            "lock_sha256": pins.lock_sha256,
        },
        separators=(",", ":"),
        sort_keys=True,
    )
