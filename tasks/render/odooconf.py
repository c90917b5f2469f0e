"""odoo.conf: rendered from the sizing, checked against the keys Odoo 19 knows."""

from __future__ import annotations

import base64
import binascii
import configparser
import hashlib
import hmac
import os
from pathlib import Path

from ..core.errors import CheckFailed

# The [options] keys of Odoo 19's configuration (odoo/tools/config.py), kept here so a typo
# in what we render fails our tests instead of being ignored by Odoo at start-up.
ODOO_19_KEYS = frozenset(
    [
        "addons_path",
        "upgrade_path",
        "pre_upgrade_scripts",
        "server_wide_modules",
        "data_dir",
        "admin_passwd",
        "csv_internal_sep",
        "publisher_warranty_url",
        "reportgz",
        "root_path",
        "websocket_rate_limit_burst",
        "websocket_rate_limit_delay",
        "websocket_keep_alive_timeout",
        "import_partial",
        "pidfile",
        "http_interface",
        "http_port",
        "gevent_port",
        "http_enable",
        "proxy_mode",
        "x_sendfile",
        "dbfilter",
        "test_file",
        "test_enable",
        "test_tags",
        "screencasts",
        "screenshots",
        "logfile",
        "syslog",
        "log_handler",
        "log_db",
        "log_db_level",
        "log_level",
        "email_from",
        "from_filter",
        "smtp_server",
        "smtp_port",
        "smtp_ssl",
        "smtp_user",
        "smtp_password",
        "smtp_ssl_certificate_filename",
        "smtp_ssl_private_key_filename",
        "db_name",
        "db_user",
        "db_password",
        "pg_path",
        "db_host",
        "db_replica_host",
        "db_port",
        "db_replica_port",
        "db_sslmode",
        "db_maxconn",
        "db_maxconn_gevent",
        "db_template",
        "db_app_name",
        "load_language",
        "language",
        "translate_out",
        "translate_in",
        "overwrite_existing_translations",
        "translate_modules",
        "list_db",
        "dev_mode",
        "shell_interface",
        "stop_after_init",
        "osv_memory_count_limit",
        "transient_age_limit",
        "max_cron_threads",
        "limit_time_worker_cron",
        "unaccent",
        "geoip_city_db",
        "geoip_country_db",
        "workers",
        "limit_memory_soft",
        "limit_memory_soft_gevent",
        "limit_memory_hard",
        "limit_memory_hard_gevent",
        "limit_time_cpu",
        "limit_time_real",
        "limit_time_real_cron",
        "limit_request",
        "with_demo",
        "without_demo",
        "init",
        "update",
    ]
)

PBKDF2_ROUNDS = 600_000  # what Odoo 19 uses for admin_passwd (passlib pbkdf2_sha512)


def _ab64(b: bytes) -> str:
    return base64.b64encode(b).decode().rstrip("=").replace("+", ".")


def _unab64(s: str) -> bytes:
    s = s.replace(".", "+")
    return base64.b64decode(s + "=" * (-len(s) % 4))


def _pbkdf2(password: str, salt: bytes, rounds: int) -> str:
    dk = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, rounds)
    return f"$pbkdf2-sha512${rounds}${_ab64(salt)}${_ab64(dk)}"


def admin_password_matches(password: str, hashed: str) -> bool:
    """Whether ``hashed`` (passlib's $pbkdf2-sha512$ format) is a hash of ``password``."""
    try:
        _, scheme, rounds, salt, _digest = hashed.split("$")
        if scheme != "pbkdf2-sha512" or int(rounds) < PBKDF2_ROUNDS:
            return False
        return hmac.compare_digest(_pbkdf2(password, _unab64(salt), int(rounds)), hashed)
    except (ValueError, binascii.Error):
        return False


def hash_admin_password(password: str, previous: str | None = None) -> str:
    """passlib's $pbkdf2-sha512$ format, which Odoo verifies, with a random salt. The hash
    already rendered is kept while it still matches the password: re-rendering an unchanged
    stack then gives byte-identical files (render --check), and no two deployments with the
    same password share a hash."""
    if previous and admin_password_matches(password, previous):
        return previous
    return _pbkdf2(password, os.urandom(16), PBKDF2_ROUNDS)


def previous_admin_hash(conf: Path) -> str | None:
    """admin_passwd of an odoo.conf rendered before, if there is one."""
    if not conf.is_file():
        return None
    cp = configparser.RawConfigParser()
    try:
        cp.read_string(conf.read_text())
    except (configparser.Error, UnicodeDecodeError):
        return None
    return cp.get("options", "admin_passwd", fallback=None)


def render(options: dict[str, object]) -> str:
    unknown = sorted(set(options) - ODOO_19_KEYS)
    if unknown:
        raise CheckFailed(f"odoo.conf: keys Odoo 19 does not know: {', '.join(unknown)}")
    lines = [
        "; Rendered by `invoke render` from stack.toml; do not edit (render --check: drift).",
        "[options]",
    ]
    for k, v in options.items():
        text = {True: "True", False: "False"}.get(v, v) if isinstance(v, bool) else v
        lines.append(f"{k} = {text}")
    return "\n".join(lines) + "\n"


def check(text: str) -> dict[str, str]:
    """Parse as Odoo does (configparser, [options]); every key must be one Odoo 19 knows."""
    cp = configparser.RawConfigParser()
    cp.read_string(text)
    if not cp.has_section("options"):
        raise CheckFailed("odoo.conf has no [options] section")
    opts = dict(cp.items("options"))
    unknown = sorted(set(opts) - ODOO_19_KEYS)
    if unknown:
        raise CheckFailed(f"odoo.conf: keys Odoo 19 does not know: {', '.join(unknown)}")
    return opts
