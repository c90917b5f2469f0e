"""oca.sync: exact commits, minimal fetches, never destroying local work."""

import shutil
import subprocess

import pytest

pytestmark = pytest.mark.integration


def head(path):
    return subprocess.run(
        ["git", "-C", str(path), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()


def is_shallow(path):
    return (path / ".git" / "shallow").exists()


@pytest.fixture
def synced(project, remotes, git_daemon):
    web, web_bare = remotes("web", {"web_a": {}})
    q, q_bare = remotes("queue", {"queue_job": {}})
    for i in range(3):  # some history the shallow fetch must not download
        q.write(f"queue_job/f{i}.py", f"{i}\n")
        q.commit(f"history {i}")
    q.bare(q_bare)
    project.write_stack(f"""
        [odoo]
        version = "19.0"
        [repos.web]
        url = "{web_bare.as_uri()}"
        addons = ["*"]
        [repos.queue]
        url = "{git_daemon}/queue.git"
        addons = ["*"]
    """)
    assert project.run("oca.pin").code == 0
    r = project.run("oca.sync", "--jobs", "2")
    assert r.code == 0, r.err
    return project, (web, web_bare), (q, q_bare)


def test_fresh_sync_is_shallow_and_exact(synced):
    project, (web, _), (q, _) = synced
    ext = project.root / "external-src"
    assert head(ext / "web") == web.head() and head(ext / "queue") == q.head()
    assert is_shallow(ext / "queue")
    count = subprocess.run(
        ["git", "-C", str(ext / "queue"), "rev-list", "--count", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert count == "1"
    assert (ext / "queue" / "queue_job" / "f2.py").read_text() == "2\n"


def test_noop_sync_makes_no_network_call(synced, tmp_path):
    project, (_, web_bare), (_, q_bare) = synced
    # Take both servers away: any fetch or ls-remote would now fail.
    shutil.move(web_bare, tmp_path / "hidden-web.git")
    shutil.move(q_bare, tmp_path / "hidden-queue.git")
    r = project.run("oca.sync", "--json")
    assert r.code == 0, r.err
    assert '"done": "ok"' in r.out and "fetch" not in r.out


def test_moved_pin_checks_out_new_commit(synced):
    project, (web, web_bare), _ = synced
    web.write("web_a/n.py", "n\n")
    new = web.commit("new")
    web.bare(web_bare)
    assert project.run("oca.update", "--repo", "web").code == 0
    r = project.run("oca.sync")
    assert r.code == 0, r.err
    assert head(project.root / "external-src" / "web") == new


def test_dirty_checkout_is_refused_then_forced(synced):
    project, (web, web_bare), _ = synced
    ext = project.root / "external-src" / "web"
    old = head(ext)
    (ext / "web_a" / "__init__.py").write_text("# my local edit\n")
    (ext / "scratch.txt").write_text("untracked\n")
    # At the locked commit: left alone; flatten reports it (it would reach an image).
    r = project.run("oca.sync")
    assert r.code == 0 and (ext / "scratch.txt").exists()
    r = project.run("oca.flatten", "--strict")
    assert r.code == 1 and "external-src/web: 2 local change(s)" in r.err
    prov = (project.root / "build" / "addons" / ".provenance.json").read_text()
    assert '"local_changes": true' in prov
    web.write("web_a/n.py", "n\n")
    new = web.commit("new")
    web.bare(web_bare)
    assert project.run("oca.update").code == 0
    r = project.run("oca.sync")
    assert r.code == 2
    assert "local changes in" in r.err and "external-src/web" in r.err and "--force" in r.err
    assert head(ext) == old and (ext / "web_a" / "__init__.py").read_text() == "# my local edit\n"
    r = project.run("oca.sync", "--force")
    assert r.code == 0, r.err
    assert head(ext) == new and not (ext / "scratch.txt").exists()
    assert (ext / "web_a" / "__init__.py").read_text() != "# my local edit\n"


def test_local_commit_on_detached_head_is_refused(synced):
    project, (web, web_bare), _ = synced
    ext = project.root / "external-src" / "web"
    (ext / "web_a" / "mine.py").write_text("mine\n")
    env = ["-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "-C", str(ext), "add", "-A"], check=True)
    subprocess.run(["git", *env, "-C", str(ext), "commit", "-qm", "local work"], check=True)
    web.write("web_a/n.py", "n\n")
    web.commit("new")
    web.bare(web_bare)
    assert project.run("oca.update").code == 0
    r = project.run("oca.sync")
    assert r.code == 2 and "1 commit(s) no branch holds" in r.err


def test_server_refusing_fetch_by_sha_falls_back(synced):
    """Protocol v0 servers only give advertised tips; the pin here is no longer a tip."""
    project, _, (q, q_bare) = synced
    shutil.rmtree(project.root / "external-src" / "queue")
    locked = q.head()
    for i in range(2):
        q.write(f"queue_job/later{i}.py", "x\n")
        q.commit(f"later {i}")
    q.bare(q_bare)
    v0 = {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "protocol.version",
        "GIT_CONFIG_VALUE_0": "0",
    }
    r = project.run("oca.sync", extra_env=v0)
    assert r.code == 0, r.err
    assert head(project.root / "external-src" / "queue") == locked


def test_insteadof_from_git_config_is_honoured(project, remotes, tmp_path):
    _, bare = remotes("server-tools", {"auditlog": {}})
    home = tmp_path / "home"
    home.mkdir()
    mirror_base = bare.parent.as_uri() + "/"
    (home / ".gitconfig").write_text(
        f'[url "{mirror_base}"]\n\tinsteadOf = https://github.com/OCA/\n'
    )
    project.env["HOME"] = str(home)
    project.write_stack("""
        [odoo]
        version = "19.0"
        [repos.server-tools]
        url = "https://github.com/OCA/server-tools.git"
        addons = ["auditlog"]
    """)
    assert project.run("oca.pin").code == 0, project.run("oca.pin").err
    assert "https://github.com/OCA/server-tools.git" in project.lock.read_text()
    r = project.run("oca.sync")
    assert r.code == 0, r.err
    assert (project.root / "external-src" / "server-tools" / "auditlog").is_dir()


def test_folder_that_is_not_a_checkout_is_refused(project, remotes):
    _, bare = remotes("web")
    project.write_stack(f'[odoo]\nversion = "19.0"\n[repos.web]\nurl = "{bare.as_uri()}"\n')
    assert project.run("oca.pin").code == 0
    (project.root / "external-src" / "web").mkdir(parents=True)
    (project.root / "external-src" / "web" / "notes.txt").write_text("mine")
    r = project.run("oca.sync")
    assert r.code == 2 and "not a git checkout" in r.err
    assert (project.root / "external-src" / "web" / "notes.txt").read_text() == "mine"


def test_sync_without_lock_says_run_pin(project, remotes):
    _, bare = remotes("web")
    project.write_stack(f'[odoo]\nversion = "19.0"\n[repos.web]\nurl = "{bare.as_uri()}"\n')
    r = project.run("oca.sync")
    assert r.code == 2 and "invoke oca.pin" in r.err


def test_checkout_of_a_removed_repo_is_reported_not_deleted(synced):
    project, (_, web_bare), _ = synced
    project.write_stack(f"""
        [odoo]
        version = "19.0"
        [repos.web]
        url = "{web_bare.as_uri()}"
        addons = ["*"]
    """)
    assert project.run("oca.pin").code == 0
    assert "queue" not in project.lock.read_text()
    r = project.run("oca.sync")
    assert r.code == 0
    assert "external-src/queue is not a repo of stack.toml; left as is" in r.err
    assert (project.root / "external-src" / "queue" / "queue_job").is_dir()


def test_credentials_from_git_credential_helper_over_http(project, remotes, git_http, tmp_path):
    remotes("private", {"acme_private": {}})
    base = git_http("deploy", "s3cr3t-t0ken")
    home = tmp_path / "home"
    home.mkdir()
    host = base.removeprefix("http://")
    (home / ".git-credentials").write_text(f"http://deploy:s3cr3t-t0ken@{host}\n")
    (home / ".gitconfig").write_text("[credential]\n\thelper = store\n")
    project.write_stack(f"""
        [odoo]
        version = "19.0"
        [repos.private]
        url = "{base}/private.git"
        addons = ["acme_private"]
    """)
    # Without credentials: a clear error, no hanging prompt, nothing written.
    project.env["HOME"] = str(tmp_path / "nohome")
    r = project.run("oca.pin")
    assert r.code == 2 and "repo private: cannot list refs of" in r.err
    assert not project.lock.exists()
    # With git's credential helper: works, and the secret never shows.
    project.env["HOME"] = str(home)
    r = project.run("oca.pin")
    assert r.code == 0, r.err
    r2 = project.run("oca.sync")
    assert r2.code == 0, r2.err
    assert (project.root / "external-src" / "private" / "acme_private").is_dir()
    assert "s3cr3t" not in r.out + r.err + r2.out + r2.err + project.lock.read_text()


def test_ssh_url_through_gits_own_ssh_command(project, remotes, sshd, tmp_path):
    ssh_config, host = sshd
    _, bare = remotes("web", {"web_a": {}})
    home = tmp_path / "home-ssh"
    home.mkdir()
    (home / ".gitconfig").write_text(f"[core]\n\tsshCommand = ssh -F {ssh_config}\n")
    project.env["HOME"] = str(home)
    project.write_stack(f"""
        [odoo]
        version = "19.0"
        [repos.web]
        url = "ssh://{host}{bare}"
        addons = ["web_a"]
        [repos.web-scp]
        url = "{host}:{bare}"
        addons = ["*"]
    """)
    r = project.run("oca.pin")
    assert r.code == 0, r.err
    r = project.run("oca.sync")
    assert r.code == 0, r.err
    assert (project.root / "external-src" / "web" / "web_a").is_dir()
    assert (project.root / "external-src" / "web-scp" / "web_a").is_dir()


def test_unknown_ssh_host_key_fails_fast_not_prompting(project, remotes, sshd, tmp_path):
    ssh_config, host = sshd
    _, bare = remotes("web", {"web_a": {}})
    strict = tmp_path / "strict_config"
    strict.write_text(
        ssh_config.read_text()
        .replace("UserKnownHostsFile", "UserKnownHostsFile /dev/null #")
        .replace("BatchMode yes", "")
        .replace("StrictHostKeyChecking yes", "StrictHostKeyChecking ask")
    )
    home = tmp_path / "home-strict"
    home.mkdir()
    (home / ".gitconfig").write_text(f"[core]\n\tsshCommand = ssh -F {strict}\n")
    project.env["HOME"] = str(home)
    project.write_stack(f"""
        [odoo]
        version = "19.0"
        [repos.web]
        url = "ssh://{host}{bare}"
    """)
    r = project.run("oca.pin")
    assert r.code == 2 and "repo web: cannot list refs of" in r.err
