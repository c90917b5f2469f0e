"""Autovacuum held off a database while it is being restored.

A freshly loaded table is, to autovacuum, millions of inserted rows: within its naptime it
starts vacuuming and analysing the big tables while the restore still builds their indexes,
and competes with it for the same CPUs and disk (seen on the benchmark database: mail_message
vacuumed in the middle of the index builds). The restored tables get a per-table
`autovacuum_enabled = false` after the schema is loaded and lose it again once the restore
is complete — only tables that did not set the option themselves, so a setting carried by
the dump is never changed. Per-table storage options need only table ownership, which the
restoring user has (pg_restore --no-owner): this works on a managed server too.
"""

from __future__ import annotations

# Ordinary tables and materialized views of the restored schemas that the restoring user
# owns and whose options (or whose TOAST table's) do not mention autovacuum_enabled.
_TABLES = """
SELECT c.relkind, n.nspname, c.relname FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_class t ON t.oid = c.reltoastrelid
WHERE c.relkind IN ('r', 'm')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
  AND pg_has_role(c.relowner, 'USAGE')
  AND NOT EXISTS (SELECT 1 FROM unnest(coalesce(c.reloptions, '{}'::text[])
                                       || coalesce(t.reloptions, '{}'::text[])) o
                  WHERE o LIKE 'autovacuum_enabled=%')
ORDER BY 2, 3
"""
OFF = "SET (autovacuum_enabled = false, toast.autovacuum_enabled = false)"
ON = "RESET (autovacuum_enabled, toast.autovacuum_enabled)"
Table = tuple[str, str, str]  # relkind, schema, name


def pause(cur) -> list[Table]:
    """Autovacuum off for every restored table that has no setting of its own; returns
    them, for resume()."""
    cur.execute(_TABLES)
    tables = [tuple(row) for row in cur.fetchall()]
    _alter(cur, tables, OFF)
    return tables


def resume(cur, tables: list[Table]) -> None:
    _alter(cur, tables, ON)


def _alter(cur, tables: list[Table], clause: str) -> None:
    from psycopg import sql

    if not tables:
        return
    # One round trip for all of them (an Odoo database has a thousand tables): a query
    # without parameters may hold several statements. The clause is one of our constants.
    stmt = sql.SQL("ALTER {} {} " + clause)
    cur.execute(
        sql.SQL("; ").join(
            stmt.format(
                sql.SQL("MATERIALIZED VIEW" if kind == "m" else "TABLE"),
                sql.Identifier(schema, name),
            )
            for kind, schema, name in tables
        )
    )
