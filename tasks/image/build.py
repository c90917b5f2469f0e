"""image.build: assemble the context, build with BuildKit, tag, report, push."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from ..core.config import StackConfig
from ..core.errors import BadInput, CheckFailed
from ..core.proc import redact, run
from .context import Context, Revision, compact_provenance, monorepo_revision
from .engine import Docker
from .spec import ImageSpec


@dataclass(frozen=True)
class Built:
    image_id: str
    tags: tuple[str, ...]
    size: int
    layers: int
    seconds: float
    cached_steps: int
    run_steps: int

    def as_json(self) -> dict:
        return self.__dict__ | {"tags": list(self.tags)}


def tags_for(spec: ImageSpec, rev: Revision, lock_sha256: str, extra: list[str]) -> list[str]:
    """<name>:<git revision> and <name>:lock-<stack.lock hash>, plus any --tag."""
    out = [f"{spec.name}:{rev.short}", f"{spec.name}:lock-{lock_sha256[:12]}"]
    for t in extra:
        ref = t if (":" in t.rsplit("/", 1)[-1]) else f"{spec.name}:{t}"
        if not re.fullmatch(r"[a-z0-9][a-z0-9._/:-]*:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", ref):
            raise BadInput(f"--tag {t!r} is not a valid image tag", hint="e.g. --tag 2026-12-03")
        out.append(ref)
    return out


def build_args(cfg: StackConfig, spec: ImageSpec, ctx: Context, rev: Revision) -> dict[str, str]:
    args = {
        "ODOO_SHA256": ctx.odoo_sha256,
        "WKHTMLTOPDF_SHA256": ctx.wkhtmltopdf_sha256,
        "ODOO_UID": str(spec.uid),
        "REVISION": rev.commit or "unknown",
        "VERSION": f"{cfg.odoo_version}+{rev.short}",
        "CREATED": rev.created,
        "SOURCE": spec.source or rev.source or "unknown",
        "PROVENANCE": compact_provenance(ctx.pins, rev),
    }
    if spec.base:
        args["BASE_IMAGE"] = spec.base
    return args


def ca_bundle(path: Path, into: Path) -> Path:
    """One PEM file of every certificate at ``path`` (a file, or a folder of .crt/.pem)."""
    files = sorted([*path.glob("*.crt"), *path.glob("*.pem")]) if path.is_dir() else [path]
    pems = [f.read_text(errors="replace") for f in files if f.is_file()]
    if not any("BEGIN CERTIFICATE" in p for p in pems):
        raise BadInput(
            f"extra CA {path}: no PEM certificate found",
            hint="point --extra-ca (or [image] extra_ca) at a .crt/.pem file or a folder of them",
        )
    out = into / "extra-ca.pem"
    out.write_text("\n".join(pems))
    out.chmod(0o600)
    return out


def _stream(cmd: list[str], env: dict[str, str], verbose: bool) -> tuple[int, list[str], list[str]]:
    """Run the build, echoing each step's header (or every line with verbose).
    Returns the exit code, the Dockerfile steps' header and CACHED lines, and the tail."""
    tail: deque[str] = deque(maxlen=60)
    status: list[str] = []
    shown: set[str] = set()
    proc = subprocess.Popen(
        cmd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        line = line.rstrip("\n")
        tail.append(line)
        if re.match(r"^#\d+ (CACHED$|\[)", line):
            status.append(line)
        header = re.match(r"^(#\d+) \[", line)
        if verbose or (header and header[1] not in shown):
            shown.add(header[1] if header else "")
            sys.stderr.write(f"    {line}\n")
            sys.stderr.flush()
    return proc.wait(), status, list(tail)


def _failure_line(lines: list[str]) -> str:
    """The line that says why: our own sha256 messages first, then BuildKit's error."""
    for pat in (r"sha256 mismatch", r"^ERROR|error:|failed to", r"ERROR"):
        for ln in reversed(lines):
            if re.search(pat, ln):
                return re.sub(r"^#\d+ [\d.]+ ", "", ln).strip()
    return lines[-1] if lines else "no output"


def build(
    cfg: StackConfig,
    spec: ImageSpec,
    docker: Docker,
    ctx: Context,
    extra_tags: list[str],
    extra_ca: Path | None,
    verbose: bool = False,
    no_cache: bool = False,
) -> Built:
    import time

    rev = monorepo_revision(cfg)
    tags = tags_for(spec, rev, ctx.pins.lock_sha256, extra_tags)
    with tempfile.TemporaryDirectory(prefix="stack-build-") as priv:
        iid = Path(priv) / "iid"
        cmd = [*docker.build_cmd(), "--progress=plain", f"--iidfile={iid}"]
        if no_cache:
            cmd.append("--no-cache")
        for k, v in build_args(cfg, spec, ctx, rev).items():
            cmd += ["--build-arg", f"{k}={v}"]
        if extra_ca:
            cmd += ["--secret", f"id=extra_ca,src={ca_bundle(extra_ca, Path(priv))}"]
        for t in tags:
            cmd += ["--tag", t]
        cmd += ["--file", str(ctx.dir / "Dockerfile"), str(ctx.dir)]
        t0 = time.monotonic()
        code, steps, tail = _stream(cmd, {**os.environ, **docker.env()}, verbose)
        seconds = time.monotonic() - t0
        if code != 0:
            raise CheckFailed(
                f"image build failed: {redact(_failure_line(tail))}",
                hint="run with --verbose for Docker's whole output",
            )
        image_id = iid.read_text().strip()
    info = inspect(docker, image_id)
    return Built(
        image_id,
        tuple(tags),
        info["Size"],
        len(info.get("RootFS", {}).get("Layers", [])),
        seconds,
        *_step_counts(steps),
    )


def _step_counts(status: list[str]) -> tuple[int, int]:
    """(cached, run) Dockerfile steps: BuildKit prints "#N [stage i/n] ..." then "#N CACHED"."""
    # FROM is resolved, not built; [internal] steps load the Dockerfile and context.
    headers = {
        ln.split()[0] for ln in status if "[" in ln and not re.search(r"\[internal\]|\] FROM ", ln)
    }
    cached = {ln.split()[0] for ln in status if ln.endswith("CACHED")} & headers
    return len(cached), len(headers - cached)


def inspect(docker: Docker, ref: str) -> dict:
    res = run([docker.cli, "image", "inspect", ref], timeout=60)
    if not res.ok:
        raise BadInput(f"image {ref}: {res.last_error_line()}", hint="build it: invoke image.build")
    return json.loads(res.stdout)[0]


def push(docker: Docker, tags: list[str]) -> None:
    for t in tags:
        res = run([docker.cli, "push", t], timeout=1800)
        if not res.ok:
            raise CheckFailed(
                f"push of {t} failed: {res.last_error_line()}",
                hint="check the registry in [image] name and your `docker login`",
            )
