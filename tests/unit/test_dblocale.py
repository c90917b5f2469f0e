import pytest

from tasks.core.errors import BadInput
from tasks.db.dblocale import create_clause


def text(clause) -> str:
    # Composed SQL as text without a connection: literals quoted the standard way.
    return clause.as_string(None)


LIBC = {"encoding": "UTF8", "collate": "C", "ctype": "C.UTF-8", "provider": "libc"}
ICU = {**LIBC, "provider": "icu", "locale": "en-US", "icu_rules": "&a < b"}


def test_libc_locale_is_recreated_as_recorded():
    assert text(create_clause(LIBC, 16)) == ("ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C.UTF-8'")
    assert text(create_clause(None, 16)) == "ENCODING 'UTF8'"  # a set from before


def test_icu_and_builtin_need_a_server_that_has_them():
    assert text(create_clause(ICU, 16)).endswith(
        "LOCALE_PROVIDER icu ICU_LOCALE 'en-US' ICU_RULES '&a < b'"
    )
    assert "ICU_RULES" not in text(create_clause(ICU, 15))  # 15 has no rules
    with pytest.raises(BadInput, match="PostgreSQL 14 does not have"):
        create_clause(ICU, 14)
    builtin = {**LIBC, "provider": "builtin", "locale": "C.UTF-8"}
    assert text(create_clause(builtin, 17)).endswith(
        "LOCALE_PROVIDER builtin BUILTIN_LOCALE 'C.UTF-8'"
    )
    with pytest.raises(BadInput, match="PostgreSQL 16 does not have") as e:
        create_clause(builtin, 16)
    assert e.value.hint == "restore onto PostgreSQL 17 or newer"
