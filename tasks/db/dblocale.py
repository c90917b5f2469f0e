"""A database's encoding and locale: recorded at backup, recreated at restore.

pg_dump (without --create) does not carry them, and a database created with the server's
defaults may sort differently: Odoo creates its databases with LC_COLLATE 'C' from
template0, while a managed server's default is typically en_US.UTF-8. A restored copy that
orders names, and builds its text indexes, differently from the original is not the
original, so the restore creates the database as the manifest says it was.
"""

from __future__ import annotations

from ..core.errors import BadInput

# pg_database's locale columns by release: datlocprovider (15+; 'c' libc, 'i' ICU,
# 'b' builtin in 17+), daticulocale (15, 16) renamed datlocale (17+), daticurules (16+).
_QUERY = (
    "SELECT pg_encoding_to_char(d.encoding), to_jsonb(d) FROM pg_database d "
    "WHERE d.datname = current_database()"
)
_PROVIDERS = {"c": "libc", "i": "icu", "b": "builtin"}


def read(cur) -> dict:
    """The current database's encoding and locale, for the manifest."""
    cur.execute(_QUERY)
    encoding, row = cur.fetchone()
    out = {
        "encoding": encoding,
        "collate": row["datcollate"],
        "ctype": row["datctype"],
        "provider": _PROVIDERS.get(row.get("datlocprovider") or "c", "libc"),
    }
    locale = row.get("datlocale") or row.get("daticulocale")
    if out["provider"] != "libc" and locale:
        out["locale"] = locale
    if row.get("daticurules"):
        out["icu_rules"] = row["daticurules"]
    return out


def create_clause(spec: dict | None, server_major: int):
    """The ENCODING/LOCALE options of CREATE DATABASE for ``spec`` (None: the server's
    defaults, as for a set made before the locale was recorded)."""
    from psycopg import sql

    if not spec:
        return sql.SQL("ENCODING 'UTF8'")
    parts = [
        sql.SQL("ENCODING {}").format(sql.Literal(spec["encoding"])),
        sql.SQL("LC_COLLATE {} LC_CTYPE {}").format(
            sql.Literal(spec["collate"]), sql.Literal(spec["ctype"])
        ),
    ]
    provider = spec.get("provider", "libc")
    if provider != "libc":
        needs = {"icu": 15, "builtin": 17}.get(provider, 99)
        if server_major < needs:
            raise BadInput(
                f"the backup's database uses the {provider} locale provider "
                f"({spec.get('locale')}), which PostgreSQL {server_major} does not have",
                hint=f"restore onto PostgreSQL {needs} or newer",
            )
        parts.append(sql.SQL("LOCALE_PROVIDER {}").format(sql.SQL(provider)))
        if provider == "icu":
            parts.append(sql.SQL("ICU_LOCALE {}").format(sql.Literal(spec["locale"])))
            if spec.get("icu_rules") and server_major >= 16:
                parts.append(sql.SQL("ICU_RULES {}").format(sql.Literal(spec["icu_rules"])))
        else:
            parts.append(sql.SQL("BUILTIN_LOCALE {}").format(sql.Literal(spec["locale"])))
    return sql.SQL(" ").join(parts)


def describe(spec: dict | None) -> str:
    if not spec:
        return "the server's default locale"
    loc = spec.get("locale")
    extra = f", {spec['provider']} {loc}" if loc else ""
    return f"{spec['encoding']}, LC_COLLATE {spec['collate']}, LC_CTYPE {spec['ctype']}{extra}"
