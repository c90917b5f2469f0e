import base64
import hashlib
import itertools

import pytest

from tasks.core.errors import BadInput, CheckFailed
from tasks.render import odooconf
from tasks.render.sizing import (
    CADDY_MB,
    PER_WORKER_MB,
    Neighbour,
    db_limits,
    db_maxconn,
    droplet,
    odoo_sizing,
    os_reserve_mb,
    pgtune,
)

GB = [1, 2, 4, 8, 16]
CPUS = range(1, 9)


@pytest.mark.parametrize(("gb", "cpus"), list(itertools.product(GB, CPUS)))
def test_workers_and_limits_fit_the_droplet(gb, cpus):
    ram = gb * 1024
    for cron_separate in (True, False):
        try:
            sz = odoo_sizing(cpus, ram, [], cron_separate)
        except CheckFailed as e:
            # Only a droplet that cannot hold 2 workers is refused, and it shows the sums.
            assert gb <= 2 and any("workers = min(" in d for d in e.details)
            continue
        assert 2 <= sz.workers <= 2 * cpus + 1
        assert sz.workers == min(sz.workers_by_cpu, sz.workers_by_ram)
        # every container limit together stays within the droplet minus the OS reserve
        assert sz.odoo_mb + sz.cron_mb + CADDY_MB + sz.os_reserve_mb <= ram
        assert sz.workers * PER_WORKER_MB <= sz.odoo_mb
        assert 512 <= sz.limit_memory_soft_mb < sz.limit_memory_hard_mb <= 2560
        assert sz.cron_threads == (2 if cpus >= 4 else 1)


def test_known_points():
    sz = odoo_sizing(2, 4096, [])
    assert (sz.os_reserve_mb, sz.odoo_budget_mb, sz.workers) == (461, 3507, 5)
    sz = odoo_sizing(2, 4096, [Neighbour("n8n", 384), Neighbour("bi", 512),
                               Neighbour("ocr", 256), Neighbour("auth", 128)])  # fmt: skip
    assert (sz.workers_by_cpu, sz.workers_by_ram, sz.workers) == (5, 4, 4)
    assert sz.arithmetic[0].startswith("RAM 4096 MB - OS reserve 461 - Caddy 128 - neighbours 1280")
    assert odoo_sizing(8, 16384, []).workers == 17
    assert os_reserve_mb(16384) == 256 + 820


def test_too_small_shows_the_arithmetic():
    with pytest.raises(CheckFailed) as e:
        odoo_sizing(2, 2048, [Neighbour("superset", 1024)])
    assert "too small" in e.value.message
    assert any("superset 1024" in d for d in e.value.details)


def test_droplet_slugs():
    assert droplet("s-2vcpu-4gb", None, None) == (2, 4096)
    assert droplet("s-2vcpu-4gb-amd", None, None) == (2, 4096)
    assert droplet(None, 3, 6144) == (3, 6144)
    with pytest.raises(BadInput, match="'s-3vcpu-5gb' is not a DigitalOcean slug"):
        droplet("s-3vcpu-5gb", None, None)


def test_db_connections():
    assert db_limits("db-s-1vcpu-2gb", None) == (1, 2048, 47)
    assert db_limits(None, 97)[2] == 97
    n = [Neighbour("n8n", 384, 5)]
    assert db_maxconn(47, 3, 6, n)[0] == 6
    with pytest.raises(CheckFailed) as e:
        db_maxconn(22, 3, 8, n)
    assert (
        "limit 22 - reserved 3 - neighbours 5 = 14; / 8 Odoo processes = 1 each"
        in e.value.details[0]
    )


@pytest.mark.parametrize("gb", GB)
def test_pgtune_web_profile(gb):
    ram = gb * 1024
    v = pgtune(ram, 4, 100)
    assert v["shared_buffers"] == f"{ram // 4}MB"
    assert v["effective_cache_size"] == f"{ram * 3 // 4}MB"
    assert v["maintenance_work_mem"] == f"{min(2048, ram // 16)}MB"
    assert v["random_page_cost"] == "1.1" and v["effective_io_concurrency"] == "200"
    assert v["max_parallel_workers_per_gather"] == "2" and v["max_worker_processes"] == "4"
    assert int(v["wal_buffers"].removesuffix("kB")) <= 16 * 1024
    assert "max_worker_processes" not in pgtune(ram, 1, 100)


def test_odoo_conf_refuses_unknown_keys_and_parses_its_own_output():
    with pytest.raises(CheckFailed, match="workerz"):
        odooconf.render({"workers": 4, "workerz": 4})
    text = odooconf.render({"workers": 4, "list_db": False, "proxy_mode": True})
    assert odooconf.check(text) == {"workers": "4", "list_db": "False", "proxy_mode": "True"}
    with pytest.raises(CheckFailed, match="http_prot"):
        odooconf.check("[options]\nhttp_prot = 8069\n")


def test_admin_password_hash_is_passlib_pbkdf2_random_salted_and_kept_while_it_matches():
    h = odooconf.hash_admin_password("s3cret")
    _, scheme, rounds, salt, digest = h.split("$")
    assert scheme == "pbkdf2-sha512" and rounds == "600000"

    def unab64(s: str) -> bytes:
        s = s.replace(".", "+")
        return base64.b64decode(s + "=" * (-len(s) % 4))

    assert unab64(digest) == hashlib.pbkdf2_hmac("sha512", b"s3cret", unab64(salt), 600000)
    assert "s3cret" not in h
    # A fresh salt each time: two deployments with one password never share a hash ...
    assert odooconf.hash_admin_password("s3cret") != h
    # ... but a rendered hash that still matches is kept (byte-identical re-renders).
    assert odooconf.hash_admin_password("s3cret", h) == h
    assert odooconf.admin_password_matches("s3cret", h)
    # A changed password, a weaker or foreign hash, or garbage: a new hash.
    for prev in (h.replace("600000", "1000"), "plaintext", "$pbkdf2-sha512$x$y$z", "$a$b$c$d$!"):
        assert odooconf.hash_admin_password("s3cret", prev) != prev
    assert not odooconf.admin_password_matches("other", h)
    assert odooconf.hash_admin_password("other", h) != h
