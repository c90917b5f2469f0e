"""`invoke render`: production configuration for one environment, from stack.toml."""

from __future__ import annotations

import sys
from pathlib import Path

from invoke import task

from ..core import config
from ..core.console import guarded, print_json, say
from ..core.errors import BadInput, CheckFailed


@task(
    help={
        "env": "the [env.<name>] to render",
        "out": "output folder (default build/<env>)",
        "check": "exit 1 when the files in the output folder differ from a fresh render",
        "json": "machine-readable output (the sizing and the files)",
    }
)
@guarded
def render(c, env=None, out=None, check=False, json=False):
    """docker-compose.yml, Caddyfile, odoo.conf, postgresql.conf.recommended for --env."""
    import tempfile

    from ..core.fs import swap_dir
    from ..core.secrets import Secrets
    from . import odooconf
    from .files import drift, render_all
    from .spec import render_spec

    if not env:
        raise BadInput("--env is required", hint="e.g. --env prod (an [env.<name>] of stack.toml)")
    cfg = config.load()
    spec = render_spec(cfg, env)
    dest = Path(out) if out else cfg.root / "build" / env
    previous = odooconf.previous_admin_hash(dest / "odoo.conf")
    result = render_all(spec, Secrets(spec.env_file), previous)
    if check:
        changed = drift(dest, result.files)
        if changed:
            raise CheckFailed(
                f"{dest} has drifted from stack.toml",
                details=changed,
                hint=f"run: invoke render --env {env} (and commit or deploy the result)",
            )
        say(f"{dest}: up to date with stack.toml ({len(result.files)} files)")
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.new-", dir=dest.parent))
    for name, text in result.files.items():
        (tmp / name).write_text(text)
    tmp.chmod(0o755)
    swap_dir(tmp, dest)
    sz = result.sizing
    if json:
        print_json(
            {
                "out": str(dest),
                "files": sorted(result.files),
                "vcpus": sz.vcpus,
                "ram_mb": sz.ram_mb,
                "workers": sz.workers,
                "cron_threads": sz.cron_threads,
                "odoo_mb": sz.odoo_mb,
                "cron_mb": sz.cron_mb,
                "limit_memory_soft_mb": sz.limit_memory_soft_mb,
                "limit_memory_hard_mb": sz.limit_memory_hard_mb,
                "db_maxconn": result.db_maxconn,
                "arithmetic": list(result.arithmetic),
            }
        )
        return
    for line in result.arithmetic:
        sys.stdout.write(f"  {line}\n")
    say(f"rendered {', '.join(sorted(result.files))} into {dest}")
