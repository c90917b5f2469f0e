"""[env.<name>] of stack.toml as frozen objects (validated by config.py's schema)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .config import StackConfig, _did_you_mean
from .errors import BadInput


@dataclass(frozen=True)
class DbSpec:
    host: str
    port: int
    name: str
    user: str
    sslmode: str | None = None
    sslrootcert: Path | None = None
    plan: str | None = None  # the managed database's size slug, where known


@dataclass(frozen=True)
class S3Spec:
    bucket: str
    endpoint: str | None = None
    prefix: str = ""
    region: str | None = None


@dataclass(frozen=True)
class Retention:
    daily: int = 7
    weekly: int = 4
    monthly: int = 12


@dataclass(frozen=True)
class BackupSpec:
    dir: Path | None
    s3: S3Spec | None
    keep: Retention
    recipients: tuple[str, ...]  # age public keys: encryption on when not empty
    jobs: int
    level: int  # compression level (zstd for the filestore; gzip/zstd for pg_dump)


@dataclass(frozen=True)
class EnvSpec:
    name: str
    root: Path
    db: DbSpec
    filestore: Path | None
    backup: BackupSpec | None

    @property
    def env_file(self) -> Path:
        return self.root / f".env.{self.name}"


def env_table(cfg: StackConfig, name: str) -> dict:
    """The raw [env.<name>] table, or exit 2 naming the environments there are."""
    envs = cfg.raw.get("env", {})
    if name not in envs:
        raise BadInput(
            f"stack.toml has no [env.{name}]{_did_you_mean(name, sorted(envs))}",
            hint="environments: "
            + (", ".join(sorted(envs)) or "none yet (see docs/stack-toml.md)"),
        )
    return envs[name]


def env_spec(cfg: StackConfig, name: str) -> EnvSpec:
    raw = env_table(cfg, name)
    if "db" not in raw:
        raise BadInput(f"stack.toml: [env.{name}] has no [env.{name}.db] table")
    d = raw["db"]

    def path(p: str) -> Path:
        q = Path(p).expanduser()
        return q if q.is_absolute() else cfg.root / q

    db = DbSpec(
        host=d["host"],
        port=d.get("port", 5432),
        name=d["name"],
        user=d["user"],
        sslmode=d.get("sslmode"),
        sslrootcert=path(d["sslrootcert"]) if d.get("sslrootcert") else None,
        plan=d.get("plan"),
    )
    fs = raw.get("filestore", {}).get("path")
    backup = None
    if "backup" in raw:
        b = raw["backup"]
        s3 = None
        if "s3" in b:
            s = b["s3"]
            s3 = S3Spec(
                bucket=s["bucket"],
                endpoint=s.get("endpoint"),
                prefix=s.get("prefix", "").strip("/"),
                region=s.get("region"),
            )
        if "dir" not in b and s3 is None:
            raise BadInput(f"stack.toml: [env.{name}.backup] needs dir, s3 or both")
        keep = b.get("keep", {})
        backup = BackupSpec(
            dir=path(b["dir"]) if "dir" in b else None,
            s3=s3,
            keep=Retention(keep.get("daily", 7), keep.get("weekly", 4), keep.get("monthly", 12)),
            recipients=tuple(b.get("encrypt", {}).get("recipients", [])),
            jobs=b.get("jobs", 2),
            level=b.get("level", 3),
        )
    return EnvSpec(
        name=name, root=cfg.root, db=db, filestore=path(fs) if fs else None, backup=backup
    )
