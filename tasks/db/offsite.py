"""Uploads that catch up after a failure, and pruning in both places."""

from __future__ import annotations

import shutil

from ..core.console import step
from ..core.envconfig import EnvSpec
from ..core.secrets import Secrets
from .backup import backup_dir
from .retention import Decision, plan
from .sets import MANIFEST, load_manifest, local_sets


def push_missing(env: EnvSpec, secrets: Secrets) -> list[str]:
    """Upload every complete local set that S3 does not have complete: a failed or killed
    upload is redone by the next backup."""
    from .s3store import S3Store

    store = S3Store(env.backup.s3, secrets)  # type: ignore[union-attr]
    remote = {s.id for s in store.list_sets()}
    done = []
    for s in local_sets(backup_dir(env)):
        if s.id in remote:
            continue
        set_dir = backup_dir(env) / s.id
        with step(f"uploading {s.id} to {store.where}"):
            store.upload_set(set_dir, load_manifest(set_dir / MANIFEST))
        done.append(s.id)
    return done


def prune(env: EnvSpec, secrets: Secrets, dry_run: bool) -> list[Decision]:
    from .catalog import catalog

    keep = env.backup.keep  # type: ignore[union-attr]
    decisions = plan(catalog(env, secrets), keep)
    if dry_run:
        return decisions
    store = None
    for d in decisions:
        if d.keep:
            continue
        if "s3" in d.set.locations:
            if store is None:
                from .s3store import S3Store

                store = S3Store(env.backup.s3, secrets)  # type: ignore[union-attr]
            store.delete_set(d.set.id)
        if "local" in d.set.locations:
            set_dir = backup_dir(env) / d.set.id
            (set_dir / MANIFEST).unlink(missing_ok=True)  # unlisted first, then removed
            shutil.rmtree(set_dir, ignore_errors=True)
    return decisions
