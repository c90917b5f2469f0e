"""The only reader of stack.toml: parse, validate, return frozen objects.

Validation is declarative (``_SCHEMA``) so later work adds keys in one place.
Errors name the file, the key and, where we can find it, the line.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from manifestoo_core.odoo_series import OdooSeries

from .errors import BadInput

STACK_FILE = "stack.toml"
LOCK_FILE = "stack.lock"
ALL = "*"

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_ADDON = re.compile(r"^[A-Za-z0-9_]+$")
_URL_PASSWORD = re.compile(r"^[a-z][a-z0-9+.-]*://[^/@:]*:[^/@]+@", re.IGNORECASE)

# A leaf is a checker(value) -> error text or None; a dict is a table; "*" matches any key.
Checker = Callable[[Any], str | None]


def _str(v: Any) -> str | None:
    return None if isinstance(v, str) and v.strip() else "must be a non-empty string"


def _str_list(v: Any) -> str | None:
    ok = isinstance(v, list) and all(isinstance(x, str) and x for x in v)
    return None if ok else "must be a list of non-empty strings"


def _str_map(v: Any) -> str | None:
    ok = isinstance(v, dict) and all(isinstance(x, str) and x for x in v.values())
    return None if ok else 'must be a table of name = "source" strings'


def _port(v: Any) -> str | None:
    ok = isinstance(v, int) and not isinstance(v, bool) and 0 < v < 65536
    return None if ok else "must be a port number (1-65535)"


def _count(v: Any) -> str | None:
    ok = isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 10000
    return None if ok else "must be a whole number >= 0"


def _positive(v: Any) -> str | None:
    ok = isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 64
    return None if ok else "must be a whole number from 1 to 64"


def _sslmode(v: Any) -> str | None:
    modes = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
    return None if v in modes else "must be one of " + ", ".join(modes)


def _level(v: Any) -> str | None:
    ok = isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 19
    return None if ok else "must be a compression level from 1 to 19"


def _bool(v: Any) -> str | None:
    return None if isinstance(v, bool) else "must be true or false"


def _uid(v: Any) -> str | None:
    ok = isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 65533
    return None if ok else "must be a user id from 1 to 65533 (not root)"


def _sha256(v: Any) -> str | None:
    ok = isinstance(v, str) and re.fullmatch(r"[0-9a-f]{64}", v) is not None
    return None if ok else "must be 64 lowercase hex digits (a sha256)"


def _any(v: Any) -> str | None:  # checked where it is used (tasks/image/policy.py)
    return None


def _mb(v: Any) -> str | None:
    ok = isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 1_048_576
    return None if ok else "must be a whole number of MB (1 to 1048576)"


def _num(v: Any) -> str | None:
    ok = isinstance(v, int | float) and not isinstance(v, bool) and 0 < v <= 1024
    return None if ok else "must be a positive number"


def _cron(v: Any) -> str | None:
    return None if v in ("separate", "inline") else 'must be "separate" or "inline"'


_REPO = {"url": _str, "ref": _str, "addons": _str_list}
# [env.<name>]: where an environment's database, filestore and backups are.
_ENV = {
    "db": {
        "host": _str,
        "port": _port,
        "name": _str,
        "user": _str,
        "sslmode": _sslmode,
        "sslrootcert": _str,
        "plan": _str,  # a DigitalOcean database size slug, e.g. db-s-1vcpu-2gb
        "max_connections": _count,  # the plan's connection limit (default: from plan)
        "reserved_connections": _count,  # kept free for admin, backups, migrations
    },
    "filestore": {"path": _str},
    "backup": {
        "dir": _str,
        "s3": {"endpoint": _str, "bucket": _str, "prefix": _str, "region": _str},
        "keep": {"daily": _count, "weekly": _count, "monthly": _count},
        "encrypt": {"recipients": _str_list},
        "jobs": _positive,
        "level": _level,
    },
    # What `invoke render` needs: the droplet, the domain, Odoo's process model, neighbours.
    "domain": _str,
    "production": _bool,
    "acme_email": _str,
    "droplet": {"size": _str, "vcpus": _positive, "memory_mb": _mb, "os_reserve_mb": _mb},
    "odoo": {
        "image": _str,
        "cron": _cron,
        "upload_limit_mb": _mb,
        "dbfilter": _str,
    },
    "services": {
        "*": {
            "image": _str,
            "memory_mb": _mb,
            "cpus": _num,
            "subdomain": _str,
            "port": _port,
            "db_connections": _count,
            "volume": _str,
            "secrets": _str_list,
        }
    },
}
_SCHEMA: dict[str, Any] = {
    "odoo": {"version": _str, "url": _str, "ref": _str, "archive": _str},
    "addons": {"paths": _str_list, "external": _str, "prefer": _str_map},
    "repos": {"*": _REPO},
    "env": {"*": _ENV},
    # [image]: what image.build makes; [scan]: the policy image.scan enforces.
    "image": {
        "name": _str,
        "base": _str,
        "uid": _uid,
        "extra_ca": _str,
        "source": _str,
        "wkhtmltopdf": {"url": _str, "sha256": _sha256},
    },
    "scan": {
        "fail_on": _str_list,
        "only_fixed": _bool,
        "ignore": _any,
        "db": _str,
        "db_repository": _str,
    },
}
_REQUIRED = {
    ("odoo",): ["version"],
    ("repos", "*"): ["url"],
    ("env", "*", "db"): ["host", "name", "user"],
    ("env", "*", "backup", "s3"): ["bucket"],
    ("image", "wkhtmltopdf"): ["url", "sha256"],
    ("env", "*", "services", "*"): ["image", "memory_mb"],
}
_NAMED_TABLES = ("repos", "env")  # tables whose sub-table names are the user's


@dataclass(frozen=True)
class RepoSpec:
    name: str
    url: str
    ref: str
    addons: tuple[str, ...]
    ref_is_default: bool = False

    @property
    def all_addons(self) -> bool:
        return ALL in self.addons


@dataclass(frozen=True)
class OdooSource:
    """Where Odoo CE itself comes from: a git URL and ref to pin, and the archive to fetch."""

    url: str
    ref: str
    archive: str  # URL template with {commit}


def _archive_template(url: str) -> str | None:
    m = re.match(r"^https://github\.com/([^/]+)/([^/]+?)(?:\.git)?/?$", url)
    return f"https://github.com/{m[1]}/{m[2]}/archive/{{commit}}.tar.gz" if m else None


@dataclass(frozen=True)
class StackConfig:
    root: Path
    odoo_version: str
    addon_paths: tuple[str, ...]
    external_dir: str
    prefer: Mapping[str, str]
    repos: tuple[RepoSpec, ...]
    odoo: OdooSource | None = None
    raw: Mapping[str, Any] = field(repr=False, compare=False, default_factory=dict)

    @property
    def stack_file(self) -> Path:
        return self.root / STACK_FILE

    @property
    def lock_file(self) -> Path:
        return self.root / LOCK_FILE

    @property
    def external_path(self) -> Path:
        return self.root / self.external_dir

    def repo(self, name: str) -> RepoSpec:
        for r in self.repos:
            if r.name == name:
                return r
        raise BadInput(
            f"unknown repo {name!r}{_did_you_mean(name, [r.name for r in self.repos])}",
            hint=f"repos are the [repos.<name>] tables of {STACK_FILE}",
        )


def find_root(start: Path | None = None) -> Path:
    """The project root: $STACK_ROOT, or the nearest folder upwards holding stack.toml."""
    env = os.environ.get("STACK_ROOT")
    if env:
        return Path(env).resolve()
    here = (start or Path.cwd()).resolve()
    for p in (here, *here.parents):
        if (p / STACK_FILE).is_file():
            return p
    raise BadInput(
        f"no {STACK_FILE} in {here} or any parent folder",
        hint="run from the project folder, or set STACK_ROOT",
    )


def load(root: Path | None = None) -> StackConfig:
    root = Path(root).resolve() if root else find_root()
    path = root / STACK_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BadInput(f"{path}: not found", hint="create it (see docs/stack-toml.md)") from None
    return parse(root, text)


def parse(root: Path, text: str) -> StackConfig:
    """Validate stack.toml text as if it were ``root``/stack.toml."""
    path = root / STACK_FILE
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        # tomllib's message carries "(at line L, column C)".
        raise BadInput(f"{path}: invalid TOML: {e}", hint="fix the syntax there") from None
    _validate(data, _SCHEMA, (), path, text)
    return _build(root, data, path)


# Names other tools use for our keys (git-aggregator, doodba's repos.yaml).
_ALIASES = {
    "branch": "ref",
    "remote": "url",
    "remotes": "url",
    "modules": "addons",
    "merges": "ref",
    "target": "ref",
    "series": "version",
}


def _did_you_mean(key: str, choices: list[str]) -> str:
    if _ALIASES.get(key) in choices:
        return f" (did you mean {_ALIASES[key]!r}?)"
    close = difflib.get_close_matches(key, choices, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _where(path_parts: tuple[str, ...]) -> str:
    if not path_parts:
        return "top level"
    return "[" + ".".join(path_parts) + "]"


def _line_of(text: str, table: tuple[str, ...], key: str) -> int | None:
    """Best effort: the line of ``key`` inside ``[table]`` (or a top-level table header)."""
    lines = text.splitlines()
    if not table:
        pat = re.compile(rf"^\s*\[{re.escape(key)}(\.|\])")
        return next((i + 1 for i, ln in enumerate(lines) if pat.match(ln)), None)
    header = re.compile(r"^\s*\[\s*" + r"\s*\.\s*".join(re.escape(t) for t in table) + r"\s*\]")
    keypat = re.compile(rf"^\s*\"?{re.escape(key)}\"?\s*=")
    inside = False
    for i, ln in enumerate(lines):
        if ln.lstrip().startswith("["):
            inside = bool(header.match(ln))
            continue
        if inside and keypat.match(ln):
            return i + 1
    return None


def _validate(data: Any, schema: dict[str, Any], where: tuple[str, ...], path: Path, text: str):
    if not isinstance(data, dict):
        raise BadInput(f"{path}: {_where(where)} must be a table")
    for key, value in data.items():
        sub = schema.get(key, schema.get("*"))
        if sub is None:
            line = _line_of(text, where, key)
            at = f" (line {line})" if line else ""
            raise BadInput(
                f"{path}{at}: unknown key {key!r} in {_where(where)}"
                f"{_did_you_mean(key, [k for k in schema if k != '*'])}",
                hint="see docs/stack-toml.md for the keys stack.toml accepts",
            )
        here = (*where, key)
        if isinstance(sub, dict):
            _validate(value, sub, here, path, text)
        else:
            problem = sub(value)
            if problem:
                line = _line_of(text, where, key)
                at = f" (line {line})" if line else ""
                raise BadInput(f"{path}{at}: {_where(where)} {key} {problem}")
    pattern = tuple(
        "*"
        if (where and where[0] in _NAMED_TABLES and i == 1) or (i and where[i - 1] == "services")
        else p
        for i, p in enumerate(where)
    )
    for req in _REQUIRED.get(pattern, []):
        if req not in data:
            raise BadInput(f"{path}: {_where(where)} is missing the required key {req!r}")


def _build(root: Path, data: dict[str, Any], path: Path) -> StackConfig:
    version = data.get("odoo", {}).get("version")
    if version is None:
        raise BadInput(f"{path}: [odoo] version is required", hint='e.g. version = "19.0"')
    try:
        OdooSeries(version)
    except ValueError:
        known = ", ".join(s.value for s in OdooSeries)
        raise BadInput(
            f"{path}: [odoo] version {version!r} is not an Odoo series", hint=f"one of: {known}"
        ) from None
    addons = data.get("addons", {})
    repos: list[RepoSpec] = []
    for name, spec in data.get("repos", {}).items():
        if not _NAME.match(name):
            raise BadInput(
                f"{path}: [repos.{name}] is not a usable folder name",
                hint="use letters, digits, '.', '_' and '-' (it becomes external-src/<name>)",
            )
        if _URL_PASSWORD.match(spec["url"]):
            raise BadInput(
                f"{path}: [repos.{name}] url carries a password or token",
                hint="stack.toml is committed: keep secrets in git's credential helper "
                "(or url.<base>.insteadOf in ~/.gitconfig), not in the URL",
            )
        wanted = tuple(spec.get("addons", []))
        for a in wanted:
            if a != ALL and not _ADDON.match(a):
                raise BadInput(f"{path}: [repos.{name}] addons: {a!r} is not an addon name")
        repos.append(
            RepoSpec(
                name=name,
                url=spec["url"],
                ref=spec.get("ref", version),
                addons=wanted,
                ref_is_default="ref" not in spec,
            )
        )
    paths = tuple(addons.get("paths", ["addons"]))
    sources = {r.name for r in repos} | set(paths)
    for addon, src in addons.get("prefer", {}).items():
        if src not in sources:
            raise BadInput(
                f"{path}: [addons.prefer] {addon} = {src!r} names no source"
                f"{_did_you_mean(src, sorted(sources))}",
                hint="use a repo name or one of [addons] paths",
            )
    return StackConfig(
        root=root,
        odoo=_odoo_source(data.get("odoo", {}), version, path),
        odoo_version=version,
        addon_paths=paths,
        external_dir=addons.get("external", "external-src"),
        prefer=dict(addons.get("prefer", {})),
        repos=tuple(repos),
        raw=data,
    )


def _odoo_source(t: dict[str, Any], version: str, path: Path) -> OdooSource | None:
    if "url" not in t:
        return None  # no Odoo source pinned: oca.* works, image.build says what is missing
    url = t["url"]
    if _URL_PASSWORD.match(url):
        raise BadInput(
            f"{path}: [odoo] url carries a password or token", hint="use git's credentials"
        )
    archive = t.get("archive") or _archive_template(url)
    if archive is None:
        raise BadInput(
            f"{path}: [odoo] archive is needed for a url that is not on GitHub ({url})",
            hint='e.g. archive = "https://git.example.com/odoo/odoo/archive/{commit}.tar.gz"',
        )
    if "{commit}" not in archive:
        raise BadInput(f"{path}: [odoo] archive must contain {{commit}}", hint=f"got {archive!r}")
    return OdooSource(url=url, ref=t.get("ref", version), archive=archive)
