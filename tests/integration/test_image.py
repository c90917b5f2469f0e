"""image.build / image.lint / image.scan against the real Docker engine, a real registry on
127.0.0.1, hadolint and trivy.

Odoo cannot be downloaded here: the image is built from the stand-in source tree in
tests/odoo-standin (it answers /web/health and honours --stop-after-init), pinned and
archived like the real one. The base image is made locally (debootstrap + docker import),
since no registry is reachable; production uses the digest pinned in docker/Dockerfile.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import ROOT, CLIResult, need
from imageproj import CA_DIR, extra_ca_args, make_project
from services import start_registry, stop_process

pytestmark = pytest.mark.docker

SECRET = "AKIA" + "Z7QJ4LTGXWN2VBK5"  # an AWS access key id shape trivy's rules flag
SECRET_LINE = (
    f"AWS_ACCESS_KEY_ID={SECRET}\nAWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"
)


def docker_cli() -> str | None:
    for c in ("/usr/bin/docker", shutil.which("docker")):
        if c and subprocess.run([c, "version"], capture_output=True).returncode == 0:
            return c
    return None


def dk(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([DOCKER, *args], capture_output=True, text=True, check=check)


DOCKER = docker_cli() or "docker"


class ImageProject:
    def __init__(self, root: Path, env: dict[str, str], registry: str):
        self.root, self.env, self.registry = root, env, registry

    def run(self, *args: str, extra_env: dict[str, str] | None = None, timeout=1500) -> CLIResult:
        env = {**os.environ, **self.env, **(extra_env or {}), "STACK_ROOT": str(self.root)}
        env["COLUMNS"] = "200"
        cp = subprocess.run(
            [sys.executable, "-m", "invoke", "-r", str(ROOT), *args],
            env=env, capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip
        return CLIResult(cp.returncode, cp.stdout, cp.stderr)

    def build(self, *args: str) -> dict:
        r = self.run("image.build", "--json", *extra_ca_args(), *args)
        assert r.code == 0, r.err[-3000:]
        return json.loads(r.out)


@pytest.fixture(scope="module")
def image_project(tmp_path_factory):
    need(
        DOCKER is not None and docker_cli() is not None,
        "a Docker engine",
        "apt-get install docker.io; dockerd &",
    )
    need(shutil.which("debootstrap") is not None, "debootstrap", "apt-get install debootstrap")
    need(
        shutil.which("docker-registry") is not None, "a registry", "apt-get install docker-registry"
    )
    sys.path.insert(0, str(ROOT / "tests"))
    from baseimage import ensure_base_image

    base = ensure_base_image(DOCKER)
    tmp = tmp_path_factory.mktemp("image")
    reg, port = start_registry(tmp / "registry")
    work = tmp / "proj"
    env = make_project(work, base, f"127.0.0.1:{port}/acme/odoo")
    # Secrets planted where a careless build would pick them up (both git-ignored).
    (work / ".env.prod").write_text(SECRET_LINE)
    (work / "addons" / "acme_base" / ".env").write_text(SECRET_LINE)
    proj = ImageProject(work, env, f"127.0.0.1:{port}")
    proj.first = proj.build("--tag", "test")
    yield proj
    stop_process(reg)


def _ref(p: ImageProject) -> str:
    return p.first["tags"][-1]


def test_build_tags_with_revision_and_lock_hash(image_project):
    p = image_project
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=p.root, capture_output=True, text=True
    ).stdout.strip()
    lock_hash = hashlib.sha256((p.root / "stack.lock").read_bytes()).hexdigest()[:12]
    tags = p.first["tags"]
    assert f"{p.registry}/acme/odoo:{head[:12]}" in tags
    assert f"{p.registry}/acme/odoo:lock-{lock_hash}" in tags
    assert p.first["layers"] > 3 and p.first["size"] > 0


def test_runs_as_fixed_non_root_user(image_project):
    uid = dk("run", "--rm", "--entrypoint", "id", _ref(image_project), "-u").stdout.strip()
    assert uid == "101"


def test_healthy_with_read_only_root_and_tmpfs(image_project):
    ref = _ref(image_project)
    cid = dk(
        "run", "-d", "--read-only", "--tmpfs", "/tmp", "--health-interval", "1s", ref
    ).stdout.strip()
    try:
        status = ""
        for _ in range(60):  # bounded: 60 s at most
            status = dk("inspect", "-f", "{{.State.Health.Status}}", cid).stdout.strip()
            if status in ("healthy", "unhealthy"):
                break
            time.sleep(1)
        assert status == "healthy", dk("logs", cid, check=False).stdout
        # tini is PID 1, odoo-bin its child
        assert "tini" in dk("exec", cid, "cat", "/proc/1/cmdline").stdout
    finally:
        dk("rm", "-f", cid, check=False)
    once = dk("run", "--rm", "--read-only", "--tmpfs", "/tmp", ref, "--stop-after-init")
    assert "addons" in once.stdout


def test_no_compiler_headers_or_caches_in_final_image(image_project):
    script = (
        "for t in gcc cc c++ make ld; do command -v $t && exit 3; done; "
        "ls /usr/include/libpq-fe.h /usr/include/libxml2 2>/dev/null && exit 4; "
        "ls /var/lib/apt/lists/*_Packages 2>/dev/null && exit 5; "
        "ls -d /root/.cache/pip 2>/dev/null && exit 6; "
        "/opt/venv/bin/python -c 'import polib, psycopg2' && wkhtmltopdf --version"
    )
    r = dk("run", "--rm", "--entrypoint", "sh", _ref(image_project), "-c", script, check=False)
    assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
    assert "wkhtmltopdf 0.12.6.1" in r.stdout


def test_labels_carry_revision_and_provenance(image_project):
    p = image_project
    labels = json.loads(dk("image", "inspect", "-f", "{{json .Config.Labels}}", _ref(p)).stdout)
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=p.root, capture_output=True, text=True
    ).stdout.strip()
    assert labels["org.opencontainers.image.revision"] == head
    assert labels["org.opencontainers.image.version"].startswith("19.0+")
    assert re.match(r"\d{4}-\d\d-\d\dT", labels["org.opencontainers.image.created"])
    prov = json.loads(labels["io.odoo-stack.addons.provenance"])
    lock = (p.root / "stack.lock").read_text()
    assert prov["odoo"] in lock and prov["monorepo"] == head
    assert prov["repos"]["server-tools"] in lock
    inside = json.loads(
        dk(
            "run", "--rm", "--entrypoint", "cat", _ref(p), "/opt/odoo-addons/.provenance.json"
        ).stdout
    )
    assert inside["addons"]["queue_job"]["repo"] == "queue"
    assert inside["addons"]["acme_base"]["commit"] == head


def test_planted_secrets_never_reach_context_or_layers(image_project):
    p = image_project
    ctx = p.root / "build" / "image" / "context"
    assert not list(ctx.rglob(".env*"))
    assert not any(SECRET.encode() in f.read_bytes() for f in ctx.rglob("*") if f.is_file())
    # Every layer of the saved image, byte for byte: neither the secret nor the build-time CA.
    ca = [ln for f in sorted(CA_DIR.glob("*.crt")) for ln in f.read_text().splitlines()[2:3]]
    save = subprocess.run([DOCKER, "save", _ref(p)], capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(save)) as outer:
        for m in outer:
            if not m.name.endswith("layer.tar"):
                continue
            data = outer.extractfile(m).read()
            assert SECRET.encode() not in data, m.name
            for line in ca:
                assert line.encode() not in data, f"build-time CA found in {m.name}"
    r = p.run("image.scan", "--skip-vulns", "--json")
    assert r.code == 0, r.out + r.err
    out = json.loads(r.out)
    assert out["ok"] and out["failing"] == [] and not out["vulnerabilities_scanned"]
    sbom = json.loads(Path(out["sbom"]).read_text())
    assert sbom["bomFormat"] == "CycloneDX" and any(
        c["name"] == "polib" for c in sbom["components"]
    )
    sarif = json.loads(Path(out["sarif"]).read_text())
    assert sarif["version"] == "2.1.0" and sarif["runs"][0]["results"] == []


def test_scan_fails_on_an_image_that_carries_a_secret(image_project, tmp_path):
    """The control: the same scan exits 1 when a secret does reach a layer."""
    p = image_project
    (tmp_path / ".env").write_text(SECRET_LINE)
    (tmp_path / "Dockerfile").write_text(f"FROM {_ref(p)}\nCOPY .env /opt/odoo-addons/.env\n")
    dk("build", "-q", "-t", "odoo-stack-test/leaky:1", str(tmp_path))
    r = p.run("image.scan", "--skip-vulns", "--image", "odoo-stack-test/leaky:1", "--json")
    assert r.code == 1, r.out + r.err
    failing = json.loads(r.out)["failing"]
    assert any(f["kind"] == "secret" and "aws" in f["id"].lower() for f in failing), failing
    sarif = json.loads((p.root / "build" / "image" / "scan.sarif").read_text())
    assert sarif["runs"][0]["results"][0]["level"] == "error"


def test_scan_without_vulnerability_db_exits_2(image_project):
    r = image_project.run("image.scan", "--image", _ref(image_project))
    assert r.code == 2
    assert "no vulnerability database" in r.err and "--skip-vulns" in r.err


def test_rebuild_reuses_every_layer_and_addon_change_rebuilds_only_addons(image_project):
    p = image_project
    again = p.build("--tag", "test")
    assert again["run_steps"] == 0 and again["cached_steps"] > 5
    assert again["image_id"] == p.first["image_id"]
    addon = p.root / "addons" / "acme_base" / "models" / "partner.py"
    addon.parent.mkdir(parents=True, exist_ok=True)
    addon.write_text("# changed\n")
    try:
        changed = p.build("--tag", "changed")
        assert changed["run_steps"] == 1, changed  # COPY addons/ only
        files = dk(
            "run",
            "--rm",
            "--entrypoint",
            "cat",
            changed["tags"][-1],
            "/opt/odoo-addons/acme_base/models/partner.py",
        )
        assert files.stdout == "# changed\n"
    finally:
        addon.unlink()


def test_push_to_a_registry(image_project):
    p = image_project
    out = p.build("--tag", "test", "--push")
    assert out["pushed"]
    with urllib.request.urlopen(f"http://{p.registry}/v2/acme/odoo/tags/list", timeout=10) as r:
        tags = set(json.loads(r.read())["tags"])
    assert {t.rsplit(":", 1)[1] for t in out["tags"]} <= tags


def test_odoo_archive_checksum_mismatch_fails_naming_it(image_project):
    p = image_project
    lock = p.root / "stack.lock"
    good = lock.read_text()
    sha = re.search(r'sha256 = "([0-9a-f]{64})"', good)[1]
    lock.write_text(good.replace(sha, "0" * 64))
    try:
        r = p.run("image.build")
        assert r.code == 1
        assert "odoo archive: sha256 mismatch" in r.err and "0" * 64 in r.err
    finally:
        lock.write_text(good)


def test_dockerfile_checks_the_archive_itself(image_project):
    """Defence in depth: the Dockerfile refuses an archive whose sha256 is not the recorded one."""
    p = image_project
    ctx = p.root / "build" / "image" / "context"
    labels = json.loads(dk("image", "inspect", "-f", "{{json .Config.Labels}}", _ref(p)).stdout)
    assert labels
    base = re.search(r'(?m)^base = "(.*)"$', (p.root / "stack.toml").read_text())[1]
    args = ["--build-arg", f"BASE_IMAGE={base}", "--build-arg", "ODOO_SHA256=" + "1" * 64]
    r = subprocess.run(
        [DOCKER, "build", "--progress=plain", "--target", "builder", *args, str(ctx)],
        capture_output=True,
        text=True,
        env={**os.environ, "DOCKER_BUILDKIT": "1"},
        check=False,
    )
    assert r.returncode != 0
    assert "odoo.tar.gz: sha256 mismatch" in r.stdout + r.stderr


def test_missing_or_stale_lock_exits_2(image_project):
    p = image_project
    lock = p.root / "stack.lock"
    good = lock.read_text()
    lock.unlink()
    try:
        r = p.run("image.build")
        assert r.code == 2 and "stack.lock does not exist" in r.err and "oca.pin" in r.err
    finally:
        lock.write_text(good)
    toml = p.root / "stack.toml"
    text = toml.read_text()
    toml.write_text(
        text.replace(
            '[repos.queue]\nurl = "https://github.com/OCA/queue.git"\n',
            '[repos.queue]\nurl = "https://github.com/OCA/queue.git"\nref = "18.0"\n',
        )
    )
    try:
        r = p.run("image.build")
        assert (
            r.code == 2
            and "stale" in r.err
            and "queue: ref changed" in r.err
            and "oca.pin" in r.err
        )
    finally:
        toml.write_text(text)


def test_no_docker_engine_is_one_line(image_project, tmp_path):
    r = image_project.run("image.build", extra_env={"DOCKER_HOST": f"unix://{tmp_path}/none.sock"})
    assert r.code == 2
    errors = [ln for ln in r.err.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "no Docker engine answers" in errors[0]
    assert "dockerd" in r.err
