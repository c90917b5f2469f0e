import datetime as dt
from pathlib import Path

import pytest

from tasks.core.config import parse
from tasks.core.errors import BadInput
from tasks.image.scan import Finding, judge, parse_trivy, sarif
from tasks.image.spec import Ignore, ScanPolicy, scan_policy

TODAY = dt.date(2026, 12, 3)


def policy(**kw) -> ScanPolicy:
    base = dict(
        fail_on=("CRITICAL", "HIGH"), only_fixed=True, ignores=(), db=None, db_repository=None
    )
    base.update(kw)
    return ScanPolicy(**base)


def vuln(id="CVE-2026-1", sev="HIGH", fixed="1.2.3") -> Finding:
    return Finding("vulnerability", id, sev, "python-pkg", "t", "lxml", "1.0", fixed)


def test_high_with_a_fix_fails_and_without_a_fix_passes_by_default():
    v = judge([vuln(fixed="1.2.3"), vuln("CVE-2026-2", fixed="")], policy(), TODAY)
    assert [f.id for f, _ in v.failing] == ["CVE-2026-1"]
    assert [f.id for f in v.passing] == ["CVE-2026-2"]
    v = judge([vuln("CVE-2026-2", fixed="")], policy(only_fixed=False), TODAY)
    assert not v.ok and "no fix yet" in v.failing[0][1]


def test_severity_below_the_bar_passes():
    assert judge([vuln(sev="MEDIUM")], policy(), TODAY).ok
    assert not judge([vuln(sev="MEDIUM")], policy(fail_on=("MEDIUM",)), TODAY).ok


def test_secrets_always_fail_whatever_their_severity():
    s = Finding("secret", "aws-access-key-id", "LOW", "/opt/x/.env", "AWS")
    assert not judge([s], policy(fail_on=("CRITICAL",)), TODAY).ok


def test_ignore_holds_until_it_expires_then_the_finding_is_back():
    ig = Ignore("CVE-2026-1", "not reachable from Odoo", dt.date(2026, 12, 31))
    v = judge([vuln()], policy(ignores=(ig,)), TODAY)
    assert v.ok and v.ignored[0][1].reason == "not reachable from Odoo"
    expired = Ignore("CVE-2026-1", "was fine", dt.date(2026, 12, 2))
    v = judge([vuln()], policy(ignores=(expired,)), TODAY)
    assert not v.ok and "expired on 2026-12-02" in v.failing[0][1]


def test_misconfiguration_ignore_matches_both_id_spellings():
    m = Finding("misconfiguration", "DS002", "HIGH", "Dockerfile", "root user", line=3)
    ig = Ignore("AVD-DS-0002", "runs as root only in the builder stage", None)
    assert judge([m], policy(ignores=(ig,)), TODAY).ok
    assert not judge([m], policy(), TODAY).ok


def test_parse_trivy_report_and_sarif():
    report = {
        "Results": [
            {
                "Target": "img (debian 12)",
                "Vulnerabilities": [
                    {"VulnerabilityID": "CVE-1", "Severity": "CRITICAL", "PkgName": "openssl",
                     "InstalledVersion": "3.0.1", "FixedVersion": "3.0.2", "Title": "bad"}
                ],
            },
            {
                "Target": "Dockerfile",
                "Misconfigurations": [
                    {"ID": "DS002", "Severity": "HIGH", "Status": "FAIL", "Title": "root",
                     "CauseMetadata": {"StartLine": 7}},
                    {"ID": "DS026", "Severity": "LOW", "Status": "PASS", "Title": "hc"},
                ],
            },
        ]
    }  # fmt: skip
    found = parse_trivy(report)
    assert [(f.kind, f.id) for f in found] == [
        ("vulnerability", "CVE-1"),
        ("misconfiguration", "DS002"),
    ]
    doc = sarif(judge(found, policy(), TODAY), Path("/repo"))
    results = doc["runs"][0]["results"]
    assert doc["version"] == "2.1.0" and len(results) == 2
    assert results[1]["locations"][0]["physicalLocation"]["region"]["startLine"] == 7
    assert {r["level"] for r in results} == {"error"}


def _cfg(scan: str):
    return parse(Path("/p"), f'[odoo]\nversion = "19.0"\n{scan}')


def test_unknown_severity_is_bad_input():
    with pytest.raises(BadInput, match="unknown severity 'SEVERE'"):
        scan_policy(_cfg('[scan]\nfail_on = ["SEVERE"]\n'))


@pytest.mark.parametrize(
    "expires", ['"2027-02-30"', '"next year"', "2027"], ids=["no-such-day", "words", "a-number"]
)
def test_malformed_ignore_date_is_bad_input(expires):
    body = f'[[scan.ignore]]\nid = "CVE-1"\nreason = "r"\nexpires = {expires}\n'
    with pytest.raises(BadInput, match="is not a date"):
        scan_policy(_cfg(body))


def test_ignore_needs_a_reason_and_takes_toml_dates():
    with pytest.raises(BadInput, match="needs a reason"):
        scan_policy(_cfg('[[scan.ignore]]\nid = "CVE-1"\nexpires = 2027-01-01\n'))
    p = scan_policy(_cfg('[[scan.ignore]]\nid = "CVE-1"\nreason = "r"\nexpires = 2027-01-01\n'))
    assert p.ignores[0].expires == dt.date(2027, 1, 1)
