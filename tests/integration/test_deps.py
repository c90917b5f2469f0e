"""oca.deps: every dependency met by selected addons + Odoo CE core; requirements file."""

import json

import pytest

pytestmark = pytest.mark.integration


@pytest.fixture
def stack(project, remotes):
    _, queue = remotes(
        "queue",
        {
            "queue_job": {"depends": ["mail", "base_sparse_field"], "python": ["requests"]},
            "queue_job_cron": {"depends": ["queue_job"]},
        },
    )
    _, rep = remotes(
        "reporting-engine",
        {
            "report_xlsx": {"depends": ["web"], "python": ["xlsxwriter", "xlrd>=1.0"]},
        },
    )

    def write(queue_addons='["queue_job"]'):
        project.write_stack(f"""
            [odoo]
            version = "19.0"
            [repos.queue]
            url = "{queue.as_uri()}"
            addons = {queue_addons}
            [repos.reporting-engine]
            url = "{rep.as_uri()}"
            addons = ["report_xlsx"]
        """)

    write()
    assert project.run("oca.pin").code == 0
    assert project.run("oca.sync").code == 0
    return project, write


def test_all_met_writes_sorted_requirements(stack):
    project, _ = stack
    project.custom_addon(
        "acme",
        depends=["queue_job", "report_xlsx", "account"],
        python=["requests>=2.31", "XlsxWriter"],
    )
    r = project.run("oca.deps")
    assert r.code == 0, r.err
    req = (project.root / "build" / "requirements-addons.txt").read_text().splitlines()
    assert [ln for ln in req if not ln.startswith("#")] == [
        "requests>=2.31  # acme, queue_job",
        "xlrd>=1.0  # report_xlsx",
        "XlsxWriter  # acme, report_xlsx",
    ]


def test_missing_dependency_names_who_needs_it_and_what_to_add(stack):
    project, _ = stack
    project.custom_addon("acme", depends=["queue_job_cron", "nowhere_addon"])
    r = project.run("oca.deps")
    assert r.code == 1
    assert (
        "queue_job_cron (needed by acme) is in repo queue but not selected: add "
        "'queue_job_cron' to [repos.queue] addons"
    ) in r.err
    assert "nowhere_addon (needed by acme) is in no pinned repo and not in Odoo CE" in r.err


def test_enterprise_dependency_is_always_an_error(stack):
    project, _ = stack
    project.custom_addon("acme", depends=["account_accountant", "helpdesk"])
    r = project.run("oca.deps", "--json")
    assert r.code == 1
    data = json.loads(r.out)
    assert {m["addon"]: m["kind"] for m in data["missing"]} == {
        "account_accountant": "enterprise",
        "helpdesk": "enterprise",
    }
    assert "is Odoo Enterprise: not allowed, CE only" in r.err


def test_conflicting_requirements_are_reported(stack):
    project, _ = stack
    project.custom_addon("acme", python=["xlrd<1.0"])
    r = project.run("oca.deps")
    assert r.code == 1
    assert "conflict: xlrd: no version satisfies" in r.err and "acme wants xlrd<1.0" in r.err
