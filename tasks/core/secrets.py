"""Secrets: only from `.env.<env>` files or Docker secrets (/run/secrets/<name>).

Values are wrapped so that printing, logging or repr() never shows them.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from .errors import BadInput

DOCKER_SECRETS = Path(os.environ.get("STACK_SECRETS_DIR", "/run/secrets"))
_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$")


class Secret:
    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret(***)"

    __str__ = __repr__


def parse_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines; '#' comments; single/double quotes; no interpolation."""
    values: dict[str, str] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return values
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = _LINE.match(line)
        if not m:
            raise BadInput(
                f"{path}:{n}: not a KEY=VALUE line",
                hint="one KEY=VALUE per line; '#' starts a comment",
            )
        key, value = m.group(1), m.group(2).strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        values[key] = value
    return values


class Secrets:
    """The secrets of one environment."""

    def __init__(self, env_file: Path):
        self.env_file = env_file
        self._values = parse_env_file(env_file)

    def get(self, key: str) -> Secret | None:
        if key in self._values and self._values[key] != "":
            return Secret(self._values[key])
        docker = DOCKER_SECRETS / key.lower()
        if docker.is_file():
            return Secret(docker.read_text(encoding="utf-8").strip())
        return None

    def require(self, key: str, why: str) -> Secret:
        s = self.get(key)
        if s is None:
            raise BadInput(
                f"secret {key} is missing ({why})",
                hint=f"add {key}=... to {self.env_file} (never to stack.toml), "
                f"or provide the Docker secret {DOCKER_SECRETS / key.lower()}",
            )
        return s
