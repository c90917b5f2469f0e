"""The backups of an environment: local sets and S3 sets, merged by id."""

from __future__ import annotations

from ..core.envconfig import EnvSpec
from ..core.secrets import Secrets
from .backup import backup_dir
from .sets import SetInfo, local_sets


def catalog(env: EnvSpec, secrets: Secrets, offsite: bool = True) -> list[SetInfo]:
    by_id: dict[str, SetInfo] = {}
    if env.backup and env.backup.dir is not None:
        for s in local_sets(backup_dir(env)):
            by_id[s.id] = s
    if offsite and env.backup and env.backup.s3 is not None:
        from .s3store import S3Store

        for s in S3Store(env.backup.s3, secrets).list_sets():
            have = by_id.get(s.id)
            if have is None:
                by_id[s.id] = s
            else:
                have.locations.append("s3")
                have.verified = have.verified or s.verified
    return sorted(by_id.values(), key=lambda s: s.id)
