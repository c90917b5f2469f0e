"""invoke tasks of the `image` namespace: thin adapters over context/build/lint/scan."""

from __future__ import annotations

import json as jsonlib
import os
import sys
from pathlib import Path

from invoke import task

from ..core import config
from ..core.console import guarded, print_json, say, step, table
from ..core.errors import CheckFailed
from ..core.fs import atomic_write_text


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


@task(
    iterable=["tag"],
    help={
        "tag": "an extra tag (repeatable): NAME:TAG, or just TAG for [image] name",
        "push": "push every tag to its registry afterwards",
        "extra_ca": "CA file or folder trusted at build time only (a TLS-intercepting proxy)",
        "base": "base image reference, overriding [image] base and the Dockerfile's pin",
        "verbose": "show Docker's whole build output",
        "no_cache": "rebuild every layer (e.g. weekly, for Debian's security updates)",
        "json": "machine-readable output",
    },
)
@guarded
def build(
    c, tag=None, push=False, extra_ca=None, base=None, verbose=False, no_cache=False, json=False
):
    """Flatten the pinned stack into a context and build the production image."""
    from dataclasses import replace

    from .build import build as do_build
    from .build import push as do_push
    from .context import assemble, checked_pins
    from .engine import docker
    from .spec import image_spec

    cfg = config.load()
    spec = image_spec(cfg)
    if base:
        spec = replace(spec, base=base)
    checked_pins(cfg)  # no lock or a stale one: exit 2, even on a machine without Docker
    engine = docker()  # before any work: no engine is one clear line, exit 2
    ca = Path(extra_ca) if extra_ca else spec.extra_ca
    if ca is None and os.environ.get("STACK_EXTRA_CA"):
        ca = Path(os.environ["STACK_EXTRA_CA"])
    with step("assembling the build context (sync, flatten --mode copy, pinned downloads)"):
        ctx = assemble(cfg, spec, cfg.root / "build" / "image" / "context")
    with step(f"building {spec.name} ({ctx.addons} addons)"):
        built = do_build(cfg, spec, engine, ctx, list(tag or []), ca, verbose, no_cache)
    if push:
        with step(f"pushing {len(built.tags)} tag(s)"):
            do_push(engine, list(built.tags))
    if json:
        print_json(built.as_json() | {"pushed": push})
        return
    for t in built.tags:
        say(f"tagged {t}")
    say(
        f"image {built.image_id[7:19]}: {_mb(built.size)}, {built.layers} layers, "
        f"built in {built.seconds:.1f}s ({built.cached_steps} steps cached, "
        f"{built.run_steps} run)"
    )


@task(help={"json": "machine-readable output"})
@guarded
def lint(c, json=False):
    """hadolint on every Dockerfile in the repo (.hadolint.yaml; every ignore has a reason)."""
    from .lint import lint as do_lint

    cfg = config.load()
    files, findings = do_lint(cfg.root)
    if json:
        print_json(
            {
                "files": [str(f.relative_to(cfg.root)) for f in files],
                "findings": [f.__dict__ for f in findings],
            }
        )
    elif findings:
        rows = [(f"{f.file}:{f.line}", f.code, f.level, f.message) for f in findings]
        sys.stdout.write(table(["where", "rule", "level", "message"], rows))
    if findings:
        raise CheckFailed(
            f"hadolint: {len(findings)} finding(s) in {len(files)} Dockerfile(s)",
            hint="fix them, or ignore a rule in .hadolint.yaml with `# reason: ...`",
        )
    if not json:
        say(f"hadolint: {len(files)} Dockerfile(s), no findings")


@task(
    help={
        "image": "image reference (default: [image] name at the current git revision)",
        "skip_vulns": "run the secret and misconfiguration scanners only (no vulnerability DB)",
        "sarif": "SARIF output file (default build/image/scan.sarif)",
        "sbom": "CycloneDX SBOM file (default build/image/sbom.cdx.json)",
        "json": "machine-readable output",
    }
)
@guarded
def scan(c, image=None, skip_vulns=False, sarif=None, sbom=None, json=False):
    """trivy: vulnerabilities, misconfigurations and secrets under [scan]; SBOM and SARIF."""
    from ..core.errors import BadInput
    from . import scan as s
    from .build import inspect
    from .context import monorepo_revision
    from .engine import docker
    from .lint import dockerfiles
    from .spec import image_spec, scan_policy

    cfg = config.load()
    policy = scan_policy(cfg)  # a bad severity or date: exit 2 before any scanning
    ref = image or f"{image_spec(cfg).name}:{monorepo_revision(cfg).short}"
    vulns = None
    if not skip_vulns:
        vulns = s.vuln_db_args(policy)
        if vulns is None:
            raise BadInput(
                "no vulnerability database for trivy here (it cannot be downloaded)",
                hint="set [scan] db (a trivy cache folder) or db_repository (a mirror), "
                "or pass --skip-vulns to run the secret and misconfiguration scanners only",
            )
    inspect(docker(), ref)  # exit 2 naming the image when it does not exist
    out = cfg.root / "build" / "image"
    with step(f"trivy: {ref} ({'vuln,' if vulns is not None else ''}secret, image config)"):
        findings = s.scan_image(ref, vulns)
    with step("trivy: Dockerfiles"):
        findings += s.scan_dockerfiles(dockerfiles(cfg.root))
    with step("trivy: CycloneDX SBOM"):
        sbom_path = s.sbom(ref, Path(sbom) if sbom else out / "sbom.cdx.json")
    verdict = s.judge(findings, policy)
    sarif_path = Path(sarif) if sarif else out / "scan.sarif"
    atomic_write_text(sarif_path, jsonlib.dumps(s.sarif(verdict, cfg.root), indent=2) + "\n")
    if json:
        print_json(
            {
                "image": ref,
                "ok": verdict.ok,
                "vulnerabilities_scanned": vulns is not None,
                "failing": [f.__dict__ | {"why": why} for f, why in verdict.failing],
                "ignored": [f.__dict__ | {"reason": ig.reason} for f, ig in verdict.ignored],
                "passing": len(verdict.passing),
                "sarif": str(sarif_path),
                "sbom": str(sbom_path),
            }
        )
    else:
        rows = [(f.kind, f.id, f.severity, f.target, why) for f, why in verdict.failing]
        rows += [
            (f.kind, f.id, f.severity, f.target, f"ignored: {ig.reason}")
            for f, ig in verdict.ignored
        ]
        if rows:
            sys.stdout.write(table(["kind", "id", "severity", "where", "verdict"], rows))
        say(f"SBOM: {sbom_path}; SARIF: {sarif_path}")
        if vulns is None:
            say("vulnerabilities: not scanned (--skip-vulns)")
    if not verdict.ok:
        raise CheckFailed(f"scan policy failed: {len(verdict.failing)} finding(s) of {ref}")
    if not json:
        say(f"scan policy passed for {ref} ({len(verdict.passing)} finding(s) below the bar)")
