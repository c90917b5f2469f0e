"""`invoke example`: the main job on the bundled example stack, end to end."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from invoke import task

from ..core.console import guarded, say, warn
from ..core.proc import git

GITHUB_OCA = "https://github.com/OCA/"
GITHUB_ODOO = "https://github.com/odoo/"


def github_reachable(timeout: float = 10) -> bool:
    return git("ls-remote", GITHUB_OCA + "server-tools.git", "HEAD", timeout=timeout).ok


def insteadof_env(mirror: Path) -> dict[str, str]:
    """git config through the environment: no edit of the user's ~/.gitconfig.
    Odoo's archive URL follows the same rule (tasks/core/download.py reads it)."""
    n = int(os.environ.get("GIT_CONFIG_COUNT", "0") or 0)
    pairs = [(mirror / "OCA", GITHUB_OCA), (mirror / "odoo", GITHUB_ODOO)]
    env = {"GIT_CONFIG_COUNT": str(n + len(pairs))}
    for i, (local, remote) in enumerate(pairs, n):
        env[f"GIT_CONFIG_KEY_{i}"] = f"url.{local.as_uri()}/.insteadOf"
        env[f"GIT_CONFIG_VALUE_{i}"] = remote
    return env


@task(
    help={
        "offline": "use local stand-ins of the OCA repos (default: when GitHub is unreachable)",
        "online": "use GitHub even if the check fails",
        "workdir": "where to run (default build/example)",
    }
)
@guarded
def example(c, offline=False, online=False, workdir=None):
    """Pin, sync, flatten and check the bundled example stack in build/example/."""
    from .mirror import build_mirror, build_odoo_mirror

    root = Path(__file__).resolve().parents[2]
    work = Path(workdir).resolve() if workdir else root / "build" / "example"
    work.mkdir(parents=True, exist_ok=True)
    shutil.copy2(root / "stack.toml", work / "stack.toml")
    if (work / "addons").exists():
        shutil.rmtree(work / "addons")
    shutil.copytree(root / "addons", work / "addons")
    # What image.build and image.lint read: the Dockerfile, its ignore file, hadolint's config.
    shutil.copytree(root / "docker", work / "docker", dirs_exist_ok=True)
    for name in (".dockerignore", ".hadolint.yaml"):
        shutil.copy2(root / name, work / name)
    env = {"STACK_ROOT": str(work)}
    use_mirror = offline or (not online and not github_reachable())
    if use_mirror:
        warn(
            "GitHub is not reachable: using local stand-ins of Odoo and the OCA repos "
            "(url.<mirror>.insteadOf https://github.com/OCA/ and .../odoo/)"
        )
        mirror = work / "oca-mirror"
        if not mirror.exists():
            # A new mirror has new commits: pins and checkouts of an older one are void.
            (work / "stack.lock").unlink(missing_ok=True)
            shutil.rmtree(work / "external-src", ignore_errors=True)
        build_odoo_mirror(mirror, root / "tests" / "odoo-standin")
        env.update(insteadof_env(build_mirror(mirror)))
    inv = f"{sys.executable} -m invoke -r {root}"
    for cmd in ("oca.pin", "oca.pin --check", "oca.sync", "oca.flatten --strict", "oca.deps"):
        say(f"$ invoke {cmd}")
        c.run(f"{inv} {cmd}", env=env, pty=False)
    _prod_stand_ins(work)
    say("$ invoke render --env prod")
    c.run(f"{inv} render --env prod", env=env, pty=False)
    say(f"example ready: {work / 'build' / 'addons'}; production files: {work / 'build' / 'prod'}")


def _prod_stand_ins(work: Path) -> None:
    """What an operator brings for `render --env prod`: .env.prod (random values here) and
    the managed database's CA certificate (a throwaway self-signed one here)."""
    import secrets
    import subprocess

    env_file = work / ".env.prod"
    if not env_file.exists():
        keys = ["DB_PASSWORD", "ODOO_ADMIN_PASSWORD", "SUPERSET_SECRET_KEY"]
        keys += ["OAUTH2_PROXY_CLIENT_SECRET", "OAUTH2_PROXY_COOKIE_SECRET"]
        env_file.write_text("".join(f"{k}={secrets.token_urlsafe(24)}\n" for k in keys))
        env_file.chmod(0o600)
    ca = work / "certs" / "do-managed-pg-ca.crt"
    if not ca.exists():
        ca.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
             "-keyout", "/dev/null", "-out", str(ca), "-subj", "/CN=example database CA"],
            check=True, capture_output=True,
        )  # fmt: skip
