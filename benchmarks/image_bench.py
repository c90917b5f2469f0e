"""One command: image.build's layer reuse and size against a naive single-stage Dockerfile.

    python benchmarks/image_bench.py

Needs a Docker engine (and debootstrap for the local base image: no registry is reachable).
Builds the bundled example (offline stand-ins of Odoo and the OCA repos, tests/odoo-standin
in place of Odoo's source) and times, in the same run:
  * a cold build (image.build --no-cache),
  * a rebuild with nothing changed (every layer should be reused),
  * a rebuild after changing one custom addon (only the addons layer should run),
  * a naive single-stage Dockerfile of the same content (same base, packages, requirements,
    Odoo and addons; no builder stage), cold, and its size.
Reports seconds, steps run/cached, sizes and the ratios.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from baseimage import ensure_base_image  # noqa: E402
from imageproj import commit_all, extra_ca_args, make_project  # noqa: E402

DOCKER = "/usr/bin/docker" if Path("/usr/bin/docker").exists() else "docker"

# What a hand-written Dockerfile for the same content looks like: one stage, so the compilers
# and headers needed to build the wheels ship with the image.
NAIVE = """\
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
ARG DEBIAN_FRONTEND=noninteractive
COPY wkhtmltox.deb /tmp/wkhtmltox.deb
RUN apt-get update && apt-get install -y --no-install-recommends \\
      build-essential libpq-dev libldap2-dev libsasl2-dev libxml2-dev libxslt1-dev \\
      libjpeg62-turbo-dev zlib1g-dev tini ca-certificates fonts-dejavu-core /tmp/wkhtmltox.deb \\
 && rm -rf /var/lib/apt/lists/* /tmp/wkhtmltox.deb
COPY odoo.tar.gz /tmp/odoo.tar.gz
RUN mkdir -p /opt/odoo && tar -xzf /tmp/odoo.tar.gz -C /opt/odoo --strip-components=1 \\
 && rm /tmp/odoo.tar.gz
COPY requirements/ /tmp/requirements/
RUN --mount=type=secret,id=extra_ca \\
    if [ -s /run/secrets/extra_ca ]; then \\
      cat /etc/ssl/certs/ca-certificates.crt /run/secrets/extra_ca > /tmp/ca.pem; \\
      export PIP_CERT=/tmp/ca.pem; fi \\
 && pip install --no-cache-dir -r /tmp/requirements/odoo.txt -r /tmp/requirements/addons.txt \\
 && rm -f /tmp/ca.pem
COPY odoo.conf /etc/odoo/odoo.conf
COPY addons/ /opt/odoo-addons/
RUN useradd --uid 101 odoo && install -d -o odoo /var/lib/odoo
USER odoo
ENTRYPOINT ["/usr/bin/tini", "--", "/opt/odoo/odoo-bin"]
"""


def invoke(work: Path, env: dict[str, str], *args: str) -> dict:
    cp = subprocess.run(
        [sys.executable, "-m", "invoke", "-r", str(ROOT), *args],
        env={**os.environ, **env, "STACK_ROOT": str(work)},
        capture_output=True,
        text=True,
        check=False,
    )
    if cp.returncode:
        raise SystemExit(f"invoke {' '.join(args)} failed:\n{cp.stderr[-3000:]}")
    return json.loads(cp.stdout)


def timed_build(work: Path, env: dict[str, str], *args: str) -> dict:
    t = time.perf_counter()
    out = invoke(work, env, "image.build", "--json", *extra_ca_args(), *args)
    out["wall_s"] = time.perf_counter() - t
    return out


def naive_build(ctx: Path, base: str, tag: str) -> tuple[float, int]:
    (ctx / "Dockerfile.naive").write_text(NAIVE)
    cmd = [DOCKER, "build", "--no-cache", "-q", "-f", str(ctx / "Dockerfile.naive")]
    cmd += ["--build-arg", f"BASE_IMAGE={base}", "-t", tag]
    ca = extra_ca_args()
    with tempfile.TemporaryDirectory() as tmp:
        if ca:
            bundle = Path(tmp) / "ca.pem"
            bundle.write_text("".join(p.read_text() for p in sorted(Path(ca[1]).glob("*.crt"))))
            cmd += ["--secret", f"id=extra_ca,src={bundle}"]
        t = time.perf_counter()
        subprocess.run(
            [*cmd, str(ctx)],
            env={**os.environ, "DOCKER_BUILDKIT": "1"},
            check=True,
            capture_output=True,
        )
        secs = time.perf_counter() - t
    size = int(subprocess.run(
        [DOCKER, "image", "inspect", "-f", "{{.Size}}", tag], capture_output=True, text=True,
        check=True,
    ).stdout)  # fmt: skip
    return secs, size


def main() -> None:
    base = ensure_base_image(DOCKER)
    tmp = Path(tempfile.mkdtemp(prefix="stack-image-bench-"))
    res: dict = {"base_image": base}
    try:
        work = tmp / "proj"
        env = make_project(work, base, "odoo-stack-bench/odoo")
        cold = timed_build(work, env, "--no-cache")
        noop = timed_build(work, env)
        addon = work / "addons" / "acme_base" / "models" / "bench.py"
        addon.parent.mkdir(parents=True, exist_ok=True)
        addon.write_text(f"# changed at {time.time()}\n")
        commit_all(work, "acme_base: one change")
        changed = timed_build(work, env)
        naive_s, naive_size = naive_build(
            work / "build" / "image" / "context", base, "odoo-stack-bench/naive:latest"
        )
        keep = ("seconds", "wall_s", "size", "layers", "cached_steps", "run_steps")
        res.update(
            cold={k: cold[k] for k in keep},
            noop={k: noop[k] for k in keep},
            one_addon={k: changed[k] for k in keep},
            naive={"seconds": naive_s, "size": naive_size},
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report(res)
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "image-latest.json").write_text(json.dumps(res, indent=2) + "\n")


def report(r: dict) -> None:
    c, n, a, nv = r["cold"], r["noop"], r["one_addon"], r["naive"]
    print(f"{'':28}{'build s':>9}{'steps run/cached':>18}{'size MB':>9}")
    for name, m in (("cold (--no-cache)", c), ("no change", n), ("one custom addon", a)):
        steps = f"{m['run_steps']}/{m['cached_steps']}"
        print(f"{name:28}{m['seconds']:>9.1f}{steps:>18}{m['size'] / 1e6:>9.0f}")
    print(f"{'naive single-stage (cold)':28}{nv['seconds']:>9.1f}{'':>18}{nv['size'] / 1e6:>9.0f}")
    print(
        f"\none-addon rebuild / cold build: {a['seconds'] / c['seconds']:.3f}x"
        f"   no-change rebuild: {n['seconds']:.2f}s ({n['run_steps']} steps run)"
        f"\nimage size / naive single-stage: {c['size'] / nv['size']:.2f}x (target <= 0.6)"
    )


if __name__ == "__main__":
    main()
