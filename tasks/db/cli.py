"""invoke tasks of the `db` namespace: thin adapters over backup/restore/verify/retention."""

from __future__ import annotations

import shutil
import sys

from invoke import task

from ..core import config
from ..core.console import guarded, print_json, say, table, warn
from ..core.envconfig import EnvSpec, env_spec
from ..core.errors import BadInput
from ..core.secrets import Secrets


def _env(name: str | None) -> tuple[EnvSpec, Secrets]:
    if not name:
        raise BadInput("--env is required", hint="e.g. --env local (an [env.<name>] of stack.toml)")
    env = env_spec(config.load(), name)
    return env, Secrets(env.env_file)


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def _backup(env: EnvSpec, secrets: Secrets, label: str | None, as_json: bool):
    from .backup import create
    from .offsite import push_missing

    res = create(env, secrets, label)
    att = res.manifest["filestore"].get("attachments") or {}
    if att.get("missing"):
        warn(
            f"{att['missing']} of {att['referenced']} stored attachments have no file in "
            f"{env.filestore} (e.g. {', '.join(att['sample'])}): Odoo shows them broken"
        )
    uploaded = push_missing(env, secrets) if env.backup and env.backup.s3 else []
    if env.backup and env.backup.dir is None and res.id in uploaded:
        shutil.rmtree(res.path)  # S3-only: the local copy was only staging
    size = sum(a["bytes"] for a in res.manifest["artifacts"])
    if as_json:
        print_json(
            {
                "id": res.id,
                "path": str(res.path),
                "bytes": size,
                "uploaded": uploaded,
                "tables": len(res.manifest["tables"]),
                "filestore": res.manifest["filestore"],
            }
        )
    else:
        say(
            f"backup {res.id}: {_size(size)}, {len(res.manifest['tables'])} tables, "
            f"{res.manifest['filestore']['files']} filestore files -> {res.path}"
            + (f"; uploaded {', '.join(uploaded)}" if uploaded else "")
        )
    return res


@task(
    help={
        "env": "environment ([env.<name>] of stack.toml)",
        "label": "a label for the set",
        "json": "machine-readable output",
    }
)
@guarded
def backup(c, env=None, label=None, json=False):
    """Back up database + filestore as one verified-checksum set (and upload it offsite)."""
    e, s = _env(env)
    _backup(e, s, label, json)


@task(
    help={
        "env": "environment",
        "label": "label (default pre-deploy)",
        "json": "machine-readable output",
    }
)
@guarded
def snapshot(c, env=None, label="pre-deploy", json=False):
    """A labelled backup taken before a deploy (the deploy task calls this)."""
    e, s = _env(env)
    _backup(e, s, label, json)


@task(help={"env": "environment", "json": "machine-readable output"})
@guarded
def upload(c, env=None, json=False):
    """Upload every complete local set that S3 lacks (what db.backup does after dumping)."""
    from .offsite import push_missing

    e, s = _env(env)
    if not (e.backup and e.backup.s3):
        raise BadInput(
            f"stack.toml: [env.{e.name}.backup] has no s3",
            hint="add s3 = { endpoint, bucket, prefix, region } and the S3_* keys in .env",
        )
    uploaded = push_missing(e, s)
    if json:
        print_json({"uploaded": uploaded})
    else:
        say(f"uploaded {', '.join(uploaded)}" if uploaded else "S3 already has every local set")


@task(
    help={
        "env": "environment",
        "backup": "backup id (default: the newest)",
        "as": "restore into this database name",
        "force": "replace an existing database (after a safety backup of it)",
        "neutralize": "mail and crons off, marked as a copy (for staging)",
        "json": "machine-readable output",
    }
)
@guarded
def restore(c, env=None, backup=None, as_=None, force=False, neutralize=False, json=False):
    """Restore a backup set into a (new) database and its filestore."""
    from .restore import restore as do_restore

    e, s = _env(env)
    res = do_restore(e, s, backup, as_, force, neutralize)
    if json:
        print_json(
            {
                "id": res.set_id,
                "database": res.database,
                "filestore": str(res.filestore) if res.filestore else None,
                "safety_backup": res.safety_backup,
                "seconds": res.seconds,
                "neutralized": res.neutralized,
            }
        )
        return
    if res.safety_backup:
        say(f"safety backup of the replaced database: {res.safety_backup}")
    for line in res.neutralized:
        say(f"neutralized: {line}")
    say(
        f"restored {res.set_id} into database {res.database!r}"
        + (f" and {res.filestore}" if res.filestore else "")
        + f" in {res.seconds:.1f}s"
    )


@task(
    help={
        "env": "environment",
        "backup": "backup id (default: the newest)",
        "json": "machine-readable output",
    }
)
@guarded
def verify(c, env=None, backup=None, json=False):
    """Restore a set into a scratch database and compare it with its manifest (RTO, RPO)."""
    from .verify import verify as do_verify

    e, s = _env(env)
    res = do_verify(e, s, backup)
    if json:
        print_json(res.as_json())
        return
    say(
        f"backup {res.set_id} verified: {res.tables} tables, {res.rows} rows, "
        f"{res.files} filestore files match the manifest"
    )
    say(
        f"RTO (measured restore): {res.rto_seconds:.1f}s; "
        f"RPO (age of this backup): {res.rpo_seconds / 3600:.1f}h"
    )


@task(
    help={
        "env": "environment",
        "dry_run": "list what would be deleted and why",
        "json": "machine-readable output",
    }
)
@guarded
def prune(c, env=None, dry_run=False, json=False):
    """Apply the retention policy locally and on S3 (never the newest verified backup)."""
    from .offsite import prune as do_prune

    e, s = _env(env)
    decisions = do_prune(e, s, dry_run)
    rows = [
        (
            d.set.id,
            "keep" if d.keep else ("would delete" if dry_run else "deleted"),
            ",".join(d.set.locations),
            "; ".join(d.reasons),
        )
        for d in decisions
    ]
    if json:
        print_json(
            {
                "dry_run": dry_run,
                "sets": [
                    {"id": r[0], "action": r[1], "locations": r[2].split(","), "why": r[3]}
                    for r in rows
                ],
            }
        )
    else:
        sys.stdout.write(table(["backup", "action", "where", "why"], rows))


@task(name="list", help={"env": "environment", "json": "machine-readable output"})
@guarded
def list_(c, env=None, json=False):
    """Backups of an environment: time, label, size, verified, where."""
    from .catalog import catalog

    e, s = _env(env)
    sets = catalog(e, s)
    if json:
        print_json({"backups": [x.as_json() for x in sets]})
        return
    if not sets:
        warn(f"no backups for env {e.name} yet: invoke db.backup --env {e.name}")
        return
    rows = [
        (
            x.id,
            x.when.strftime("%Y-%m-%d %H:%M:%S"),
            x.label or "",
            _size(x.size),
            "DAMAGED: " + x.damaged if x.damaged else ("yes" if x.verified else "no"),
            ",".join(x.locations),
        )
        for x in sets
    ]
    sys.stdout.write(table(["id", "time (UTC)", "label", "size", "verified", "where"], rows))
