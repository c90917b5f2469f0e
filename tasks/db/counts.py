"""Exact row counts of every user table: recorded at backup, compared at verify."""

from __future__ import annotations


def table_counts(cur) -> dict[str, int]:
    from psycopg import sql

    cur.execute(
        "SELECT n.nspname, c.relname FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') "
        "AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
        "AND n.nspname NOT LIKE 'pg_toast%' ORDER BY 1, 2"
    )
    counts: dict[str, int] = {}
    for schema, table in cur.fetchall():
        cur.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, table)))
        counts[f"{schema}.{table}"] = cur.fetchone()[0]
    return counts
