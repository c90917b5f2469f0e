"""Fetch a file by URL into a content-checked cache: temp file, sha256, then rename."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from .errors import BadInput, CheckFailed
from .proc import git, redact

_CHUNK = 1 << 20


def insteadof(url: str) -> str:
    """Apply git's url.<base>.insteadOf rules (from every git config scope and GIT_CONFIG_*)
    to a plain URL, so an archive follows the same mirror as its git repository."""
    res = git("config", "--get-regexp", r"^url\..*\.insteadof$")
    best = ("", "")
    for line in res.stdout.splitlines() if res.ok else []:
        key, _, prefix = line.partition(" ")
        base = key[len("url.") : -len(".insteadof")]
        if prefix and url.startswith(prefix) and len(prefix) > len(best[0]):
            best = (prefix, base)
    return best[1] + url[len(best[0]) :] if best[0] else url


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def fetch(url: str, dest: Path, what: str, timeout: float = 300) -> str:
    """Download ``url`` to ``dest`` atomically; returns the sha256. Bad URL: exit 2."""
    real = insteadof(url)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    h = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(real, timeout=timeout) as resp:  # noqa: S310
            while chunk := resp.read(_CHUNK):
                h.update(chunk)
                out.write(chunk)
        Path(tmp).replace(dest)
    except (urllib.error.URLError, OSError, ValueError) as e:
        Path(tmp).unlink(missing_ok=True)
        reason = getattr(e, "reason", None) or e
        raise BadInput(
            f"{what}: cannot download {redact(real)}: {reason}",
            hint="check the URL in stack.toml, your network, or a url.<base>.insteadOf mirror",
        ) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return h.hexdigest()


def cached(url: str, sha256: str, cache: Path, name: str, what: str) -> Path:
    """The file for ``url`` whose sha256 must be ``sha256``: from the cache, else downloaded.
    A mismatch is a failed check naming the file and both digests; the bad file is removed."""
    path = cache / sha256 / name
    if path.is_file() and sha256_file(path) == sha256:
        return path
    got = fetch(url, path, what)
    if got != sha256:
        path.unlink(missing_ok=True)
        shutil.rmtree(path.parent, ignore_errors=True)
        raise CheckFailed(
            f"{what}: sha256 mismatch for {redact(url)}: expected {sha256}, got {got}",
            hint="the file changed upstream or in transit; check it, then update the recorded "
            "sha256 (stack.lock: invoke oca.pin; stack.toml: [image] wkhtmltopdf)",
        )
    return path
