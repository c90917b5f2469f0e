"""Place every selected addon as DEST/<addon>: built beside DEST, then swapped in."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..core.fs import swap_dir
from .selection import Selection

PROVENANCE = ".provenance.json"
# Never part of an addon; .env files may hold secrets and must not reach an image context.
_JUNK = shutil.ignore_patterns(
    "__pycache__", "*.pyc", "*.pyo", ".git", ".*.swp", ".env", ".env.*", ".DS_Store"
)


@dataclass(frozen=True)
class FlattenResult:
    dest: Path
    mode: str
    count: int


def materialize(sel: Selection, dest: Path, mode: str, provenance: dict) -> FlattenResult:
    if mode not in ("symlink", "copy"):
        raise ValueError(mode)
    dest = dest.absolute()
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.new-", dir=dest.parent))
    try:
        for name, addon in sel.selected.items():
            target = tmp / name
            if mode == "symlink":
                # Relative links keep working when the whole project folder moves.
                target.symlink_to(os.path.relpath(addon.path, dest))
            else:
                shutil.copytree(addon.path, target, symlinks=True, ignore=_JUNK)
        (tmp / PROVENANCE).write_text(json.dumps(provenance, indent=2, sort_keys=True) + "\n")
        tmp.chmod(0o755)
        swap_dir(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return FlattenResult(dest, mode, len(sel.selected))
