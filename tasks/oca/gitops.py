"""Git adapter: everything the oca tasks ask of git, through the git CLI.

The CLI (not a library) so that git's own configuration applies unchanged:
``url.<base>.insteadOf`` mirrors, credential helpers, ssh config, proxies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import BadInput
from ..core.proc import Result, git, redact

SHA = re.compile(r"^[0-9a-f]{40}$")
PIN_REF = "refs/odoo-stack/pinned"


@dataclass(frozen=True)
class Resolved:
    commit: str
    full_ref: str


def ls_remote(name: str, url: str, ref: str, timeout: float = 120) -> dict[str, str]:
    res = git("ls-remote", "--", url, *_patterns(ref), timeout=timeout)
    if not res.ok:
        raise BadInput(
            f"repo {name}: cannot list refs of {redact(url)}: {res.last_error_line()}",
            hint=f"check [repos.{name}] url in stack.toml, your network and credentials",
        )
    refs: dict[str, str] = {}
    for line in res.stdout.splitlines():
        sha, _, refname = line.partition("\t")
        refs[refname.strip()] = sha.strip()
    return refs


def _patterns(ref: str) -> list[str]:
    if ref.startswith("refs/"):
        return [ref]
    return [f"refs/heads/{ref}", f"refs/tags/{ref}", f"refs/tags/{ref}^{{}}"]


def resolve(name: str, url: str, ref: str) -> Resolved:
    """A branch, tag, or full ref (e.g. refs/pull/N/head) → commit, via ls-remote only."""
    if SHA.match(ref):
        return Resolved(ref, ref)
    refs = ls_remote(name, url, ref)
    for candidate in _patterns(ref) if not ref.startswith("refs/") else [ref]:
        # An annotated tag is listed twice; the peeled ("^{}") line is the commit.
        peeled = refs.get(candidate + "^{}")
        if peeled:
            return Resolved(peeled, candidate)
        if candidate in refs and not candidate.endswith("^{}"):
            return Resolved(refs[candidate], candidate)
    raise BadInput(
        f"repo {name}: ref {ref!r} not found at {redact(url)}",
        hint=f"set [repos.{name}] ref to an existing branch, tag or refs/pull/N/head",
    )


@dataclass(frozen=True)
class CheckoutState:
    exists: bool
    head: str | None = None
    changes: tuple[str, ...] = ()  # `git status --porcelain` lines: modified/untracked
    unpushed: int = 0  # commits on a detached HEAD that no ref keeps

    @property
    def dirty(self) -> bool:
        return bool(self.changes) or self.unpushed > 0


def read_head(path: Path) -> str | None:
    """The commit a checkout's HEAD points at, read from files (no git process).

    oca.sync leaves HEAD detached, so .git/HEAD holds the sha itself; anything else
    (a branch, a packed ref, a worktree) returns None and callers ask git.
    """
    try:
        text = (path / ".git" / "HEAD").read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None
    return text if SHA.match(text) else None


def state(path: Path) -> CheckoutState:
    """Where a checkout stands, in one git call (the no-op sync path runs this only)."""
    if not (path / ".git").exists():
        return CheckoutState(exists=path.exists() and any(path.iterdir()))
    res = git("status", "--porcelain=v2", "--branch", "--untracked-files=normal", cwd=path)
    if not res.ok:
        return CheckoutState(exists=True)
    head = None
    changes = []
    for line in res.stdout.splitlines():
        if line.startswith("# branch.oid "):
            oid = line.split()[-1]
            head = oid if SHA.match(oid) else None
        elif not line.startswith("#"):
            changes.append(line)
    return CheckoutState(exists=True, head=head, changes=tuple(changes))


def unpushed_commits(path: Path) -> int:
    """Commits reachable from HEAD that no branch, tag, remote or pin ref holds."""
    res = git(
        "rev-list",
        "--count",
        "HEAD",
        "--not",
        "--branches",
        "--tags",
        "--remotes",
        f"--glob={PIN_REF}*",
        cwd=path,
    )
    if not res.ok:
        return 0
    return int(res.stdout.strip() or 0)


def has_commit(path: Path, commit: str) -> bool:
    return git("cat-file", "-e", f"{commit}^{{commit}}", cwd=path).ok


def ensure_repo(path: Path, url: str) -> None:
    if not (path / ".git").exists():
        path.mkdir(parents=True, exist_ok=True)
        _must(git("init", "-q", cwd=path), path)
        _must(git("remote", "add", "origin", url, cwd=path), path)
        return
    cur = git("remote", "get-url", "origin", cwd=path)
    if not cur.ok:
        _must(git("remote", "add", "origin", url, cwd=path), path)
    elif cur.stdout.strip() != url:
        _must(git("remote", "set-url", "origin", url, cwd=path), path)


def fetch_commit(name: str, path: Path, url: str, commit: str, ref: str, depth: int | None = 1):
    """Fetch exactly ``commit``; fall back to the ref where a server refuses fetch-by-sha."""
    deep = [f"--depth={depth}"] if depth else []
    attempts: list[list[str]] = [[*deep, "origin", commit]]
    if not SHA.match(ref):
        refspec = f"+{ref}:{PIN_REF}-fetch"
        attempts += [[*deep, "origin", refspec], ["origin", refspec]]
    last: Result | None = None
    for extra in attempts:
        if not extra[0].startswith("--depth") and _is_shallow(path):
            extra = ["--unshallow", *extra]  # the whole history of the ref
        last = git("fetch", "-q", "--no-tags", "--no-write-fetch-head", *extra, cwd=path)
        if has_commit(path, commit):
            break
    if not has_commit(path, commit):
        why = last.last_error_line() if last and not last.ok else f"{ref} does not contain it"
        raise BadInput(
            f"repo {name}: cannot fetch commit {commit[:12]} from {redact(url)}: {why}",
            hint="the commit may have been force-pushed away: run invoke oca.pin/oca.update",
        )
    git("update-ref", PIN_REF, commit, cwd=path)


def _is_shallow(path: Path) -> bool:
    return (path / ".git" / "shallow").exists()


def checkout(path: Path, commit: str, force: bool) -> None:
    args = ["-c", "advice.detachedHead=false", "checkout", "-q", "--detach"]
    if force:
        args.append("--force")
    _must(git(*args, commit, cwd=path), path)
    if force:
        _must(git("clean", "-q", "-ffd", cwd=path), path)
    git("update-ref", PIN_REF, commit, cwd=path)


@dataclass(frozen=True)
class Commit:
    sha: str
    subject: str
    files: tuple[str, ...]


@dataclass(frozen=True)
class History:
    commits: tuple[Commit, ...]
    dropped: int  # commits of the old pin no longer in the new one (history rewritten)
    complete: bool  # False when the old commit is gone from the server


def history(path: Path, url: str, old: str, new: str) -> History:
    """Commits old..new with the files each touched.

    Fetches commits and trees only (no file contents) into ``path``, a bare cache.
    """
    if not (path / "HEAD").exists():
        path.mkdir(parents=True, exist_ok=True)
        _must(git("init", "-q", "--bare", cwd=path), path)
    for sha, depth in ((old, ["--depth=1"]), (new, [])):
        if has_commit(path, sha) and not _shallow_tip(path, sha):
            continue
        git("fetch", "-q", "--no-tags", "--filter=blob:none", *depth, "--", url, sha, cwd=path)
    complete = has_commit(path, old)
    rng = [f"{old}..{new}"] if complete else ["-n", "50", new]
    res = git("log", "--no-renames", "--name-only", "--format=%x00%H%x1f%s", *rng, cwd=path)
    commits = []
    for chunk in res.stdout.split("\x00")[1:]:
        head, _, rest = chunk.partition("\n")
        sha, _, subject = head.partition("\x1f")
        files = tuple(f for f in rest.splitlines() if f.strip())
        commits.append(Commit(sha, subject, files))
    dropped = git("rev-list", "--count", f"{new}..{old}", cwd=path) if complete else None
    n_dropped = int(dropped.stdout.strip() or 0) if dropped and dropped.ok else 0
    return History(tuple(commits), n_dropped, complete)


def _shallow_tip(path: Path, sha: str) -> bool:
    shallow = path / "shallow"
    return shallow.exists() and sha in shallow.read_text()


def tree_addons(path: Path, commit: str) -> set[str]:
    """Top-level folders of ``commit`` that hold a __manifest__.py (trees only)."""
    # ls-tree takes path prefixes, not globs: list all and keep <top>/__manifest__.py.
    res = git("ls-tree", "-r", "--name-only", commit, cwd=path)
    return {
        ln.split("/")[0]
        for ln in res.stdout.splitlines()
        if ln.count("/") == 1 and ln.endswith("/__manifest__.py")
    }


def _must(res: Result, path: Path) -> None:
    if not res.ok:
        raise BadInput(f"git failed in {path}: {res.last_error_line()}")
