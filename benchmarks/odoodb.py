"""A deterministic Odoo-shaped database and filestore, at any scale (tests and benchmarks).

Tables carry the names and main columns of Odoo's own (res_partner, account_move_line,
mail_message, ir_attachment, ir_module_module, ...); ir_attachment rows point into a
filestore laid out as Odoo does (<sha1[:2]>/<sha1>), with text-like and incompressible files.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from pathlib import Path

MODULES = [
    "base",
    "web",
    "mail",
    "bus",
    "base_setup",
    "contacts",
    "account",
    "product",
    "uom",
    "analytic",
    "portal",
    "digest",
    "auth_signup",
    "resource",
    "sale",
    "stock",
    "purchase",
    "queue_job",
    "auditlog",
    "web_responsive",
    "server_environment",
    "date_range",
    "report_xlsx",
    "account_financial_report",
    "partner_firstname",
    "acme_base",
]

# How Odoo makes a database (odoo.service.db._create_empty_database, also on restore): from
# template0, UTF8, LC_COLLATE 'C' whatever the server's default.
CREATE_DATABASE = "CREATE DATABASE {} ENCODING 'unicode' LC_COLLATE 'C' TEMPLATE template0"
CREATEDB_ARGS = ("--template=template0", "--encoding=UTF8", "--lc-collate=C")

SCHEMA = """
CREATE TABLE ir_module_module (id serial PRIMARY KEY, name varchar NOT NULL UNIQUE,
  state varchar, latest_version varchar);
CREATE TABLE ir_model_data (id serial PRIMARY KEY, module varchar, name varchar,
  model varchar, res_id int);
CREATE TABLE res_partner (id serial PRIMARY KEY, name varchar, email varchar, street varchar,
  city varchar, comment text, active boolean DEFAULT true, create_date timestamp);
CREATE TABLE res_users (id serial PRIMARY KEY, login varchar UNIQUE, active boolean,
  partner_id int REFERENCES res_partner(id));
CREATE TABLE account_move_line (id serial PRIMARY KEY, move_id int, account_id int,
  partner_id int, name varchar, ref varchar, debit numeric, credit numeric, balance numeric,
  date date);
CREATE INDEX account_move_line_partner ON account_move_line(partner_id);
CREATE INDEX account_move_line_date ON account_move_line(date);
CREATE TABLE mail_message (id serial PRIMARY KEY, model varchar, res_id int, body text,
  author_id int, date timestamp);
CREATE INDEX mail_message_res ON mail_message(model, res_id);
CREATE TABLE ir_attachment (id serial PRIMARY KEY, name varchar, res_model varchar,
  res_id int, store_fname varchar, file_size int, mimetype varchar, checksum varchar);
CREATE TABLE ir_cron (id serial PRIMARY KEY, name varchar, active boolean);
CREATE TABLE ir_mail_server (id serial PRIMARY KEY, name varchar, smtp_host varchar,
  active boolean);
CREATE TABLE fetchmail_server (id serial PRIMARY KEY, name varchar, active boolean);
CREATE TABLE ir_config_parameter (id serial PRIMARY KEY, key varchar NOT NULL UNIQUE,
  value text NOT NULL);
"""


@dataclass(frozen=True)
class Scale:
    partners: int = 200
    move_lines: int = 2000
    messages: int = 500
    files: int = 60
    mean_file_kb: int = 8


def populate(cur, scale: Scale, seed: int = 42) -> None:
    """Create and fill the tables (server-side generate_series: fast at any scale)."""
    cur.execute(SCHEMA)
    cur.execute("SELECT setseed(%s)", (seed / 1000,))
    for m in MODULES:
        cur.execute(
            "INSERT INTO ir_module_module (name, state, latest_version) "
            "VALUES (%s, 'installed', %s)",
            (m, "19.0.1.0.0"),
        )
    cur.execute(
        "INSERT INTO ir_module_module (name, state, latest_version) "
        "VALUES ('hr', 'uninstalled', NULL)"
    )
    cur.execute(
        "INSERT INTO res_partner (name, email, street, city, comment, create_date) "
        "SELECT 'Partner ' || g, 'p' || g || '@example.com', g || ' Main Street', "
        "(ARRAY['Lyon','Gent','Porto','Turin'])[1 + g %% 4], "
        "CASE WHEN g %% 3 = 0 THEN repeat(md5(g::text), 8) END, "
        "timestamp '2020-01-01' + g * interval '1 minute' "
        "FROM generate_series(1, %s) g",
        (scale.partners,),
    )
    cur.execute(
        "INSERT INTO res_users (login, active, partner_id) "
        "SELECT 'user' || g, g <> 3, g FROM generate_series(1, %s) g",
        (min(20, scale.partners),),
    )
    cur.execute(
        "INSERT INTO account_move_line (move_id, account_id, partner_id, name, ref, debit, "
        "credit, balance, date) SELECT g / 3, 400 + g %% 37, 1 + g %% %s, "
        "'Invoice line ' || g || ' ' || substr(md5(g::text), 1, (g %% 24) + 4), "
        "'INV/2026/' || lpad((g / 3)::text, 6, '0'), "
        "CASE WHEN g %% 2 = 0 THEN round((random() * 1000)::numeric, 2) ELSE 0 END, "
        "CASE WHEN g %% 2 = 1 THEN round((random() * 1000)::numeric, 2) ELSE 0 END, 0, "
        "date '2020-01-01' + (g %% 2000) FROM generate_series(1, %s) g",
        (scale.partners, scale.move_lines),
    )
    cur.execute(
        "INSERT INTO mail_message (model, res_id, body, author_id, date) "
        "SELECT 'res.partner', 1 + g %% %s, '<p>' || repeat('Hello, this is message ' || g "
        "|| ' about order ' || md5(g::text) || '. ', 1 + g %% 7) || '</p>', 1 + g %% 20, "
        "timestamp '2021-01-01' + g * interval '7 minutes' "
        "FROM generate_series(1, %s) g",
        (scale.partners, scale.messages),
    )
    for i, (model, name) in enumerate(
        [("ir.cron", "autovacuum_job"), ("ir.cron", "mail_queue"), ("ir.cron", "queue_job_cron")], 1
    ):
        cur.execute("INSERT INTO ir_cron (name, active) VALUES (%s, true)", (name,))
        cur.execute(
            "INSERT INTO ir_model_data (module, name, model, res_id) VALUES (%s, %s, %s, %s)",
            ("base" if i == 1 else "mail", name, model, i),
        )
    cur.execute(
        "INSERT INTO ir_mail_server (name, smtp_host, active) "
        "VALUES ('prod smtp', 'smtp.example.com', true)"
    )
    cur.execute("INSERT INTO fetchmail_server (name, active) VALUES ('inbox', true)")
    cur.execute(
        "INSERT INTO ir_config_parameter (key, value) VALUES "
        "('database.uuid', 'prod-uuid'), ('web.base.url', 'https://erp.example.com')"
    )


def write_filestore(cur, root: Path, scale: Scale, seed: int = 42) -> tuple[int, int]:
    """Files as Odoo lays them out, each recorded in ir_attachment. Returns (files, bytes).

    Half are text-like (XML/HTML/CSV: slices of a generated word stream, compressible),
    half incompressible (images, PDFs). Sizes are exponentially distributed.
    """
    rng = random.Random(seed)
    words = [
        "invoice",
        "order",
        "partner",
        "delivery",
        "quantity",
        "price",
        "total",
        "tax",
        "amount",
        "customer",
        "product",
        "line",
        "reference",
        "payment",
        "due",
        "date",
        "<record>",
        "</record>",
        "<field name=",
        "/>",
        "EUR",
        "2026-",
        ";",
        "\n",
    ]
    corpus = " ".join(rng.choice(words) + str(rng.randint(0, 999)) for _ in range(400_000))
    text = corpus.encode()
    total = 0
    rows = []
    for i in range(scale.files):
        size = max(64, int(rng.expovariate(1 / (scale.mean_file_kb * 1024))))
        if i % 2 == 0:
            start = rng.randrange(0, max(1, len(text) - size))
            data = (text[start : start + size] * (1 + size // max(1, len(text))))[:size]
            mime = "text/xml"
        else:
            data = rng.randbytes(size)
            mime = "image/jpeg"
        data = f"{i}:".encode() + data  # unique content, unique sha1
        sha = hashlib.sha1(data, usedforsecurity=False).hexdigest()
        path = root / sha[:2] / sha
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        total += len(data)
        rows.append(
            (f"file{i}", "res.partner", 1 + i % 50, f"{sha[:2]}/{sha}", len(data), mime, sha)
        )
    with cur.copy(
        "COPY ir_attachment (name, res_model, res_id, store_fname, file_size, "
        "mimetype, checksum) FROM STDIN"
    ) as copy:
        for r in rows:
            copy.write_row(r)
    return scale.files, total
