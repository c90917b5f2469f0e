from pathlib import Path

import pytest

from tasks.core.config import parse
from tasks.core.errors import BadInput

ROOT = Path("/proj")
SMALL = """
[odoo]
version = "19.0"
[addons]
paths = ["addons"]
[repos.server-tools]
url = "https://github.com/OCA/server-tools.git"
addons = ["auditlog", "base_technical_user"]
"""


def test_smallest_form_loads_with_defaults():
    cfg = parse(ROOT, SMALL)
    assert cfg.odoo_version == "19.0"
    (repo,) = cfg.repos
    assert repo.name == "server-tools"
    assert repo.ref == "19.0" and repo.ref_is_default
    assert repo.addons == ("auditlog", "base_technical_user")
    assert cfg.external_dir == "external-src"
    assert cfg.lock_file == ROOT / "stack.lock"


def test_malformed_toml_names_line_and_column():
    with pytest.raises(BadInput) as e:
        parse(ROOT, '[odoo]\nversion = "19.0"\n[repos.web\nurl = "x"\n')
    assert "stack.toml" in e.value.message
    assert "line 3" in e.value.message and "column" in e.value.message


def test_unknown_key_suggests_the_right_one_with_its_line():
    text = SMALL.replace('addons = ["auditlog"', 'adons = ["auditlog"')
    with pytest.raises(BadInput) as e:
        parse(ROOT, text)
    msg = e.value.message
    assert "unknown key 'adons'" in msg and "did you mean 'addons'" in msg
    assert "[repos.server-tools]" in msg and "(line 8)" in msg


def test_unknown_top_level_table():
    with pytest.raises(BadInput, match="did you mean 'repos'"):
        parse(ROOT, SMALL + "\n[repo.web]\nurl='x'\n")


@pytest.mark.parametrize(
    ("snippet", "expected"),
    [
        ("[odoo]\nversion = 19\n", "version must be a non-empty string"),
        ('[odoo]\nversion = "19.5"\n', "not an Odoo series"),
        ('[odoo]\nversion = "19.0"\n[repos.x]\naddons = ["a"]\n', "missing the required key 'url'"),
        ('[odoo]\nversion = "19.0"\n[repos.x]\nurl = "u"\naddons = "a"\n', "list of non-empty"),
        ('[odoo]\nversion = "19.0"\n[repos.x]\nurl = "u"\naddons = ["Bad-Name"]\n', "not an addon"),
        ('[odoo]\nversion = "19.0"\n[repos."../x"]\nurl = "u"\n', "not a usable folder name"),
        ('[odoo]\nversion = "19.0"\n[addons.prefer]\nfoo = "nowhere"\n', "names no source"),
        ("[addons]\npaths = []\n", "[odoo] version is required"),
    ],
)
def test_bad_values_are_named(snippet, expected):
    with pytest.raises(BadInput) as e:
        parse(ROOT, snippet)
    assert expected in e.value.message
    assert e.value.exit_code == 2


def test_prefer_accepts_repo_or_path():
    cfg = parse(ROOT, SMALL + '\n[addons.prefer]\nauditlog = "server-tools"\nx = "addons"\n')
    assert cfg.prefer == {"auditlog": "server-tools", "x": "addons"}


def test_password_in_url_is_refused_without_echoing_it():
    text = SMALL.replace("https://github.com/OCA/", "https://bot:ghp_SECRET@github.com/OCA/")
    with pytest.raises(BadInput) as e:
        parse(ROOT, text)
    assert "carries a password or token" in e.value.message
    assert "ghp_SECRET" not in e.value.message + (e.value.hint or "")
    parse(ROOT, SMALL.replace("https://github.com/", "ssh://git@github.com/"))  # user only: fine
