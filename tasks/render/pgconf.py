"""postgresql.conf.recommended: pgtune's web profile; for a managed database, the subset the
provider lets a customer set is marked as such."""

from __future__ import annotations

from .sizing import MANAGED_SETTABLE


def render(values: dict[str, str], ram_mb: int, vcpus: int, managed: bool) -> str:
    head = [
        "# Rendered by `invoke render` from stack.toml; do not edit (render --check: drift).",
        f"# pgtune, web application profile, SSD: {ram_mb} MB RAM, {vcpus} vCPU(s).",
    ]
    if managed:
        head.append(
            "# Managed database (DigitalOcean): lines marked [settable] can be changed in its "
            "advanced configuration;\n# the others are the provider's and are listed for "
            "comparison only (commented out)."
        )
    lines = []
    for k, v in values.items():
        if managed and k not in MANAGED_SETTABLE:
            lines.append(f"#{k} = {v}  # provider-managed")
        else:
            mark = "  # [settable]" if managed else ""
            lines.append(f"{k} = {v}{mark}")
    return "\n".join([*head, "", *lines]) + "\n"
