"""Make a production copy safe for staging, with our own SQL on Odoo's core tables.

Each statement runs only when its table exists (a module may not be installed), in one
transaction: either the copy is fully neutralized or nothing changed.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

# (table that must exist, what it does, SQL)
STEPS: list[tuple[str, str, str]] = [
    (
        "ir_mail_server",
        "outgoing mail servers off",
        "UPDATE ir_mail_server SET active = false WHERE active",
    ),
    (
        "fetchmail_server",
        "incoming mail servers off",
        "UPDATE fetchmail_server SET active = false WHERE active",
    ),
    (
        "ir_cron",
        "scheduled actions off (except the database autovacuum)",
        "UPDATE ir_cron SET active = false WHERE active AND id NOT IN ("
        "SELECT res_id FROM ir_model_data WHERE model = 'ir.cron' AND module = 'base' "
        "AND name = 'autovacuum_job')",
    ),
    (
        "payment_provider",
        "payment providers disabled",
        "UPDATE payment_provider SET state = 'disabled' WHERE state <> 'disabled'",
    ),
    (
        "iap_account",
        "IAP accounts detached",
        "UPDATE iap_account SET account_token = 'neutralized-' || id::text",
    ),
]


def neutralize(db, source: str) -> list[str]:
    done: list[str] = []
    with db.transaction(), db.cursor() as cur:
        for table, what, stmt in STEPS:
            cur.execute("SELECT to_regclass(%s) IS NOT NULL", (table,))
            if cur.fetchone()[0]:
                cur.execute(stmt)
                done.append(f"{what} ({cur.rowcount} row(s))")
        cur.execute("SELECT to_regclass('ir_config_parameter') IS NOT NULL")
        if cur.fetchone()[0]:
            marker = f"COPY of {source}, neutralized {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
            params = {
                "database.is_neutralized": "True",
                "odoo_stack.copy_of": marker,
                "ribbon.name": "COPY<br/>{db_name}",  # shown by web_environment_ribbon
                # A fresh identity: the copy must not pass for production anywhere.
                "database.uuid": str(uuid.uuid4()),
            }
            for key, value in params.items():
                cur.execute(
                    "UPDATE ir_config_parameter SET value = %s WHERE key = %s", (value, key)
                )
                if cur.rowcount == 0:
                    cur.execute(
                        "INSERT INTO ir_config_parameter (key, value) VALUES (%s, %s)", (key, value)
                    )
            done.append(f"marked as a copy: {marker}")
    return done
