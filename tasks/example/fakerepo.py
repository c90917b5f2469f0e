"""Build real git repositories of OCA-shaped addons: for the offline example, tests and
benchmarks (GitHub is not reachable everywhere this runs)."""

from __future__ import annotations

import pprint
from pathlib import Path
from typing import Any

from ..core.proc import git

_IDENT = {
    "GIT_AUTHOR_NAME": "odoo-stack",
    "GIT_AUTHOR_EMAIL": "stack@example.invalid",
    "GIT_COMMITTER_NAME": "odoo-stack",
    "GIT_COMMITTER_EMAIL": "stack@example.invalid",
}


def manifest_text(
    name: str, version: str, depends=("base",), python=(), installable=True, **extra: Any
) -> str:
    m: dict[str, Any] = {
        "name": name.replace("_", " ").title(),
        "version": version,
        "license": "AGPL-3",
        "author": "Odoo Community Association (OCA)",
        "depends": list(depends),
        "installable": installable,
    }
    if python:
        m["external_dependencies"] = {"python": list(python)}
    m.update(extra)
    return pprint.pformat(m, sort_dicts=False) + "\n"


class FakeRepo:
    """A work tree plus helpers; ``bare()`` publishes it as a bare repo to serve."""

    def __init__(self, path: Path, branch: str = "19.0"):
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        if not (self.path / ".git").exists():
            self._git("init", "-q", "-b", branch)

    def _git(self, *args: str) -> str:
        res = git(*args, cwd=self.path, env=_IDENT)
        if not res.ok:
            raise RuntimeError(f"git {' '.join(args)}: {res.stderr.strip()}")
        return res.stdout.strip()

    def addon(
        self,
        name: str,
        version: str,
        depends=("base",),
        python=(),
        installable=True,
        files: dict[str, str] | None = None,
        raw_manifest: str | None = None,
    ) -> FakeRepo:
        d = self.path / name
        d.mkdir(parents=True, exist_ok=True)
        text = raw_manifest or manifest_text(name, version, depends, python, installable)
        (d / "__manifest__.py").write_text(text)
        (d / "__init__.py").write_text("from . import models\n")
        (d / "models").mkdir(exist_ok=True)
        (d / "models" / "__init__.py").write_text("")
        for rel, content in (files or {}).items():
            (d / rel).parent.mkdir(parents=True, exist_ok=True)
            (d / rel).write_text(content)
        return self

    def write(self, rel: str, content: str) -> FakeRepo:
        (self.path / rel).parent.mkdir(parents=True, exist_ok=True)
        (self.path / rel).write_text(content)
        return self

    def commit(self, message: str) -> str:
        self._git("add", "-A")
        self._git("commit", "-q", "--allow-empty", "-m", message)
        return self.head()

    def head(self, rev: str = "HEAD") -> str:
        return self._git("rev-parse", rev)

    def checkout(self, branch: str, create: bool = False) -> FakeRepo:
        self._git("checkout", "-q", *(["-b"] if create else []), branch)
        return self

    def tag(self, name: str, annotated: bool = False) -> FakeRepo:
        self._git("tag", *(["-a", "-m", name] if annotated else []), name)
        return self

    def set_ref(self, ref: str, commit: str) -> FakeRepo:
        self._git("update-ref", ref, commit)
        return self

    def archive(self, commit: str, dest: Path) -> Path:
        """A GitHub-style source archive (<repo>-<commit>/ inside) of ``commit``."""
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        prefix = f"{self.path.name}-{commit}/"
        self._git("archive", "--format=tar.gz", f"--prefix={prefix}", "-o", str(dest), commit)
        return dest

    def bare(self, dest: Path) -> Path:
        """Mirror every ref (incl. refs/pull/*) into a bare repo at ``dest``."""
        dest = Path(dest)
        if dest.exists():
            res = git("push", "-q", "--mirror", str(dest), cwd=self.path)
        else:
            res = git("clone", "-q", "--mirror", str(self.path), str(dest))
        if not res.ok:
            raise RuntimeError(res.stderr)
        return dest
