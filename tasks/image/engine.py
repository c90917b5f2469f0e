"""The Docker engine and a client that builds with BuildKit (secrets, bind mounts)."""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass

from ..core.errors import BadInput
from ..core.proc import run


@dataclass(frozen=True)
class Docker:
    cli: str
    buildx: bool  # `docker buildx build --load`, else `DOCKER_BUILDKIT=1 docker build`

    def build_cmd(self) -> list[str]:
        return [self.cli, "buildx", "build", "--load"] if self.buildx else [self.cli, "build"]

    def env(self) -> dict[str, str]:
        return {} if self.buildx else {"DOCKER_BUILDKIT": "1"}


def _candidates() -> list[str]:
    seen, out = set(), []
    for c in (os.environ.get("STACK_DOCKER"), shutil.which("docker"), "/usr/bin/docker"):
        if c and os.access(c, os.X_OK) and os.path.realpath(c) not in seen:
            seen.add(os.path.realpath(c))
            out.append(c)
    return out


def docker() -> Docker:
    """A client that can reach the engine and build with BuildKit; exit 2 saying what's missing."""
    clients = _candidates()
    if not clients:
        raise BadInput(
            "no docker client found",
            hint="install Docker (Debian: apt-get install docker.io) or set STACK_DOCKER",
        )
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    ping = run([clients[0], "version", "--format", "{{.Server.Version}}"], timeout=20)
    if not ping.ok:
        raise BadInput(
            f"no Docker engine answers at {host}: {ping.last_error_line()}",
            hint="start one: `dockerd &` (or `systemctl start docker`), or set DOCKER_HOST",
        )
    for c in clients:
        if run([c, "buildx", "version"], timeout=20).ok:
            return Docker(c, buildx=True)
        ver = run([c, "version", "--format", "{{.Client.Version}}"], timeout=20).stdout.strip()
        m = re.match(r"(\d+)\.", ver)
        # Clients before 23 build with the engine's own BuildKit under DOCKER_BUILDKIT=1;
        # later ones need the buildx plugin for that.
        if m and int(m[1]) < 23:
            return Docker(c, buildx=False)
    raise BadInput(
        "no docker client here can build with BuildKit (needed for build secrets)",
        hint="install the buildx plugin (docker-buildx), or Debian's docker.io client; "
        "STACK_DOCKER=/path/to/docker picks one",
    )
