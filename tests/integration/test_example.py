"""The README's main command: the bundled example, end to end, offline."""

import json
import subprocess
import sys

import pytest
from conftest import ROOT

pytestmark = pytest.mark.integration


def test_example_job_offline(tmp_path):
    work = tmp_path / "example"
    cmd = [
        sys.executable,
        "-m",
        "invoke",
        "-r",
        str(ROOT),
        "example",
        "--offline",
        "--workdir",
        str(work),
    ]
    cp = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    addons = work / "build" / "addons"
    prov = json.loads((addons / ".provenance.json").read_text())
    assert "acme_base" in prov["addons"] and "queue_job" in prov["addons"]
    assert prov["addons"]["queue_job"]["url"] == "https://github.com/OCA/queue.git"
    assert (work / "build" / "requirements-addons.txt").read_text().count("requests") == 1
    # A second run is a no-op for sync and leaves the lock as it was.
    lock = (work / "stack.lock").read_bytes()
    cp = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert cp.returncode == 0, cp.stderr
    assert (work / "stack.lock").read_bytes() == lock
    assert "fetch" not in cp.stdout.split("oca.sync")[1].split("oca.flatten")[0]
