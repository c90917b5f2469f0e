"""Local stand-ins for the OCA repos the bundled example uses, for machines that cannot
reach GitHub. Addon names, dependencies and Python requirements follow the real repos;
the code inside is a placeholder. git's own ``url.<base>.insteadOf`` points the
unchanged https://github.com/OCA/... URLs of stack.toml at them."""

from __future__ import annotations

from pathlib import Path

from .fakerepo import FakeRepo

# repo -> addon -> (depends, python requirements[, installable])
OCA: dict[str, dict[str, tuple]] = {
    "server-tools": {
        "auditlog": (["base"], []),
        "base_technical_user": (["base"], []),
        "base_exception": (["base"], []),
        "sentry": (["base"], ["sentry_sdk>=2.0"]),
        "base_cron_exclusion": (["base"], []),
    },
    "server-ux": {
        "date_range": (["web"], []),
        "base_tier_validation": (["mail"], []),
        "base_substate": (["base", "mail"], []),
    },
    "server-env": {
        "server_environment": (["base"], []),
        "mail_environment": (["mail", "server_environment"], []),
    },
    "web": {
        "web_responsive": (["web", "mail"], []),
        "web_environment_ribbon": (["web"], []),
        "web_refresher": (["web"], []),
        "web_widget_x2many_2d_matrix": (["web"], [], False),
    },
    "queue": {
        "queue_job": (["mail", "base_sparse_field", "web"], ["requests"]),
        "queue_job_cron": (["queue_job"], []),
    },
    "reporting-engine": {
        "report_xlsx": (["base", "web"], ["xlsxwriter", "xlrd>=1.0"]),
        "report_xlsx_helper": (["report_xlsx"], []),
    },
    "account-financial-reporting": {
        "account_financial_report": (["account", "date_range", "report_xlsx"], []),
        "account_tax_balance": (["account", "date_range"], []),
    },
    "partner-contact": {
        "partner_firstname": (["base_setup", "contacts"], []),
        "partner_contact_gender": (["contacts"], []),
    },
}


def build_mirror(root: Path, series: tuple[str, ...] = ("19.0", "18.0")) -> Path:
    """Bare repos at ``root/OCA/<repo>.git`` with a branch per series. Idempotent."""
    for repo, addons in OCA.items():
        bare = root / "OCA" / f"{repo}.git"
        if bare.exists():
            continue
        work = FakeRepo(root / "work" / repo, branch=series[0])
        for i, s in enumerate(series):
            if i:
                work.checkout(s, create=True)
            for name, spec in addons.items():
                depends, python, *rest = spec
                work.addon(
                    name, f"{s}.1.0.0", depends, python, installable=rest[0] if rest else True
                )
            work.write("README.md", f"# {repo} ({s}) — local stand-in of OCA/{repo}\n")
            work.commit(f"[{s}] {repo}: initial")
            first = sorted(addons)[0]
            work.write(f"{first}/models/__init__.py", "# fix\n")
            work.commit(f"[FIX] {first}: a follow-up fix")
        work.checkout(series[0])
        work.bare(bare)
    return root


def build_odoo_mirror(
    root: Path, standin: Path, series: tuple[str, ...] = ("19.0", "18.0")
) -> Path:
    """A stand-in of github.com/odoo/odoo at ``root/odoo/odoo.git`` (a branch per series) and
    its GitHub-style archives at ``root/odoo/odoo/archive/<commit>.tar.gz``. Idempotent."""
    import shutil

    bare = root / "odoo" / "odoo.git"
    if bare.exists():
        return root
    work = FakeRepo(root / "work" / "odoo", branch=series[0])
    for i, s in enumerate(series):
        if i:
            work.checkout(s, create=True)
        shutil.copytree(standin, work.path, dirs_exist_ok=True)
        work.write(
            "odoo/release.py",
            f'version = "{s}"\nversion_info = ({s.replace(".", ", ")}, "final", 0, "")\n',
        )
        commit = work.commit(f"[{s}] odoo: stand-in source tree")
        work.archive(commit, root / "odoo" / "odoo" / "archive" / f"{commit}.tar.gz")
    work.checkout(series[0])
    work.bare(bare)
    return root
