"""An image-buildable copy of the bundled example, for the image tests and the benchmark.

`invoke example --offline` gives a project pinned against local stand-ins of Odoo and the
OCA repos; this adds what GitHub would have given (a wkhtmltox .deb, made here) and the
locally built base image, and makes the folder a git repository (revision labels).
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CA_DIR = Path("/usr/local/share/ca-certificates")
_IDENT = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
}


def standin_deb(tmp: Path) -> Path:
    """A stand-in wkhtmltox .deb (the real one comes from GitHub, unreachable here)."""
    pkg = tmp / "wk"
    (pkg / "DEBIAN").mkdir(parents=True, exist_ok=True)
    (pkg / "usr/local/bin").mkdir(parents=True, exist_ok=True)
    exe = pkg / "usr/local/bin/wkhtmltopdf"
    exe.write_text('#!/bin/sh\necho "wkhtmltopdf 0.12.6.1 (with patched qt) stand-in"\n')
    exe.chmod(0o755)
    (pkg / "DEBIAN/control").write_text(
        "Package: wkhtmltox\nVersion: 0.12.6.1-3\nArchitecture: amd64\nMaintainer: tests\n"
        "Depends: fontconfig, libxrender1\nDescription: stand-in for the image tests\n"
    )
    out = tmp / "wkhtmltox.deb"
    subprocess.run(
        ["dpkg-deb", "--root-owner-group", "--build", str(pkg), str(out)],
        check=True,
        capture_output=True,
    )
    return out


def extra_ca_args() -> list[str]:
    """This machine's TLS-intercepting proxy CA, for pip inside the build (build time only)."""
    return ["--extra-ca", str(CA_DIR)] if any(CA_DIR.glob("*.crt")) else []


def make_project(work: Path, base_image: str, image_name: str) -> dict[str, str]:
    """Fill ``work``; returns the environment (git insteadOf) that commands there need."""
    inv = [sys.executable, "-m", "invoke", "-r", str(ROOT)]
    cp = subprocess.run(
        [*inv, "example", "--offline", "--workdir", str(work)],
        capture_output=True,
        text=True,
        check=False,
    )
    if cp.returncode:
        raise RuntimeError(cp.stderr[-3000:])
    deb = standin_deb(work.parent)
    sha = hashlib.sha256(deb.read_bytes()).hexdigest()
    text = (work / "stack.toml").read_text()
    text = text.replace('name = "registry.digitalocean.com/acme/odoo"', f'name = "{image_name}"')
    text = re.sub(
        r'(?m)^url = "https://github.com/wkhtmltopdf/.*"$', f'url = "{deb.as_uri()}"', text
    )
    text = re.sub(r'(?m)^sha256 = "[0-9a-f]{64}"$', f'sha256 = "{sha}"', text)
    text = text.replace("[image]\n", f'[image]\nbase = "{base_image}"\n', 1)
    (work / "stack.toml").write_text(text)
    (work / ".gitignore").write_text(".env*\nbuild/\nexternal-src/\noca-mirror/\n")
    env = {**os.environ, **_IDENT}
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "stack"]):
        subprocess.run(["git", *args], cwd=work, env=env, check=True, capture_output=True)
    from tasks.example.cli import insteadof_env

    return insteadof_env(work / "oca-mirror")


def commit_all(work: Path, message: str) -> None:
    env = {**os.environ, **_IDENT}
    subprocess.run(["git", "add", "-A"], cwd=work, env=env, check=True, capture_output=True)
    subprocess.run(
        ["git", "commit", "-q", "-m", message], cwd=work, env=env, check=True, capture_output=True
    )
