"""Pin Odoo CE itself: its commit (ls-remote, like any repo) and its archive's sha256."""

from __future__ import annotations

from pathlib import Path

from ..core.config import StackConfig
from ..core.download import cached, fetch
from ..core.lock import OdooPin
from . import gitops


def cache_dir(cfg: StackConfig) -> Path:
    return cfg.root / "build" / "cache" / "odoo"


def odoo_stale(cfg: StackConfig, pin: OdooPin | None) -> str | None:
    """Why [odoo] in stack.lock no longer matches stack.toml, or None."""
    src = cfg.odoo
    if src is None:
        return None
    if pin is None:
        return "not in stack.lock"
    if pin.url != src.url:
        return "url changed in stack.toml"
    if pin.ref != src.ref:
        return f"ref changed in stack.toml ({pin.ref} -> {src.ref})"
    if pin.archive != src.archive.format(commit=pin.commit):
        return "archive changed in stack.toml"
    return None


def resolve_odoo(cfg: StackConfig) -> OdooPin:
    """Resolve the ref and record the archive's sha256 (the download is kept as the cache)."""
    src = cfg.odoo
    assert src is not None
    commit = gitops.resolve("odoo", src.url, src.ref).commit
    url = src.archive.format(commit=commit)
    tmp = cache_dir(cfg) / "incoming" / f"{commit}.tar.gz"
    sha = fetch(url, tmp, "odoo archive")
    final = cache_dir(cfg) / sha / "odoo.tar.gz"
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp.replace(final)
    return OdooPin(src.url, src.ref, commit, url, sha)


def odoo_archive(cfg: StackConfig, pin: OdooPin) -> Path:
    """The pinned archive, checked against stack.lock's sha256 (cache first)."""
    return cached(pin.archive, pin.sha256, cache_dir(cfg), "odoo.tar.gz", "odoo archive")


def update_odoo(
    cfg: StackConfig, pin: OdooPin | None, download: bool
) -> tuple[OdooPin | None, dict | None]:
    """Odoo's ref tip, re-pinned when it moved; returns the pin and {old, new} or None."""
    src = cfg.odoo
    assert src is not None
    tip = gitops.resolve("odoo", src.url, src.ref).commit
    if pin is not None and pin.commit == tip and odoo_stale(cfg, pin) is None:
        return pin, None
    moved = {"old": pin.commit if pin else None, "new": tip}
    return (resolve_odoo(cfg) if download else pin), moved
