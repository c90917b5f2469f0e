"""Addon discovery: a folder is an addon iff it holds __manifest__.py.

Manifests are read with ``ast.literal_eval``: never executed.
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MANIFEST = "__manifest__.py"


class ManifestError(ValueError):
    """A manifest that is not a literal dict (or not readable)."""


@dataclass(frozen=True)
class Addon:
    name: str
    path: Path
    source: str  # a repo name or one of [addons] paths
    manifest: dict[str, Any] = field(repr=False, compare=False)

    @property
    def installable(self) -> bool:
        return bool(self.manifest.get("installable", True))

    @property
    def version(self) -> str | None:
        v = self.manifest.get("version")
        return v if isinstance(v, str) else None

    @property
    def depends(self) -> tuple[str, ...]:
        deps = self.manifest.get("depends", [])
        return tuple(d for d in deps if isinstance(d, str)) if isinstance(deps, list) else ()

    @property
    def python_requirements(self) -> tuple[str, ...]:
        ext = self.manifest.get("external_dependencies") or {}
        py = ext.get("python", []) if isinstance(ext, dict) else []
        return tuple(p for p in py if isinstance(p, str))


@dataclass(frozen=True)
class BadManifest:
    path: Path
    reason: str


def read_manifest(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ManifestError(f"cannot read: {e}") from None
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ManifestError(f"not a literal dict ({first})") from None
    if not isinstance(value, dict):
        raise ManifestError(f"not a literal dict (a {type(value).__name__})")
    return value


def discover(folder: Path, source: str) -> tuple[dict[str, Addon], list[BadManifest]]:
    """Every addon directly under ``folder`` (OCA layout: one level deep)."""
    addons: dict[str, Addon] = {}
    bad: list[BadManifest] = []
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except FileNotFoundError:
        return addons, bad
    for entry in entries:
        if entry.name.startswith(".") or not entry.is_dir():
            continue
        mpath = Path(entry.path) / MANIFEST
        if not mpath.is_file():
            continue
        try:
            manifest = read_manifest(mpath)
        except ManifestError as e:
            bad.append(BadManifest(mpath, str(e)))
            continue
        addons[entry.name] = Addon(entry.name, Path(entry.path), source, manifest)
    return addons, bad
