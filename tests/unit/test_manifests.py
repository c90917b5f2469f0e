from tasks.core.proc import redact
from tasks.oca.manifests import discover


def test_discover_reads_literals_and_reports_the_rest(tmp_path):
    (tmp_path / "good").mkdir()
    (tmp_path / "good" / "__manifest__.py").write_text(
        "# comment\n{'name': 'Good', 'version': '19.0.1.0.0', 'depends': ['web']}\n"
    )
    (tmp_path / "evil").mkdir()
    (tmp_path / "evil" / "__manifest__.py").write_text(
        "__import__('os').system('touch pwned') or {'name': 'x'}\n"
    )
    (tmp_path / "listy").mkdir()
    (tmp_path / "listy" / "__manifest__.py").write_text("['not', 'a', 'dict']\n")
    (tmp_path / "not_an_addon").mkdir()
    (tmp_path / "README.md").write_text("x")
    addons, bad = discover(tmp_path, "addons")
    assert list(addons) == ["good"]
    assert addons["good"].depends == ("web",)
    assert sorted(b.path.parent.name for b in bad) == ["evil", "listy"]
    assert all("not a literal dict" in b.reason for b in bad)
    assert not (tmp_path / "pwned").exists()


def test_redact_hides_url_credentials():
    assert redact("fatal: https://bob:s3cret@git.example/x.git") == (
        "fatal: https://***@git.example/x.git"
    )
    assert redact("ssh://git@host/x") == "ssh://***@host/x"
