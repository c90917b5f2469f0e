"""oca.add: add a repo to stack.toml in place, keeping comments and layout."""

from __future__ import annotations

import re
from pathlib import Path

import tomlkit

from ..core import config
from ..core.errors import BadInput
from ..core.fs import atomic_write_text


def repo_name_from_url(url: str) -> str:
    tail = re.split(r"[/:]", url.rstrip("/"))[-1]
    return tail.removesuffix(".git")


def add_repo(
    root: Path, url: str, addons: list[str], name: str | None = None, ref: str | None = None
) -> str:
    path = root / config.STACK_FILE
    text = path.read_text(encoding="utf-8")
    cfg = config.parse(root, text)  # refuse to edit a file that is already invalid
    name = name or repo_name_from_url(url)
    if not name:
        raise BadInput(f"cannot derive a repo name from {url!r}", hint="pass --name")
    if any(r.name == name for r in cfg.repos):
        raise BadInput(
            f"{path}: [repos.{name}] already exists",
            hint="edit it, or pass --name to add under another name",
        )
    if not addons:
        raise BadInput(
            "no addons named for the new repo",
            hint="pass --addons a,b (or --addons '*' for every installable addon)",
        )
    doc = tomlkit.parse(text)
    table = tomlkit.table()
    table.add("url", url)
    if ref:
        table.add("ref", ref)
    arr = tomlkit.array()
    arr.extend(addons)
    table.add("addons", arr)
    table.add(tomlkit.nl())  # keep a blank line before whatever table follows
    if "repos" not in doc:
        doc.add("repos", tomlkit.table(is_super_table=True))
    doc["repos"].add(name, table)  # type: ignore[union-attr]
    new_text = tomlkit.dumps(doc)
    config.parse(root, new_text)  # validate before anything touches the disk
    atomic_write_text(path, new_text)
    return name
