"""A local stand-in for python:3.12-slim-bookworm: no registry is reachable from the tests.

debootstrap (Debian bookworm, minbase) plus the runtime libraries CPython needs, with a
CPython 3.12 laid into /usr/local as the official image does. The CPython is this machine's
own build (pyenv's, made on Debian 12 against the same libraries); without one, Debian's
python3 (3.11) stands in and the image says so in a label. Imported with `docker import`
and cached twice: as an engine image and as a tarball under ~/.cache, so a restarted engine
re-imports in seconds instead of running debootstrap again.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

MIRROR = "http://deb.debian.org/debian"
RUNTIME_LIBS = [
    "ca-certificates",
    "netbase",
    "tzdata",
    "libssl3",
    "libffi8",
    "libsqlite3-0",
    "libbz2-1.0",
    "liblzma5",
    "zlib1g",
    "libreadline8",
    "libncursesw6",
    "libuuid1",
    "libgdbm6",
    "libexpat1",
]
_SKIP = ("test", "idlelib", "tkinter", "turtledemo", "lib2to3/tests")


def host_python312() -> Path | None:
    for p in sorted(Path.home().glob(".pyenv/versions/3.12.*"), reverse=True):
        if (p / "bin" / "python3.12").exists() and (p / "lib" / "libpython3.12.so.1.0").exists():
            return p
    return None


def _key(py: Path | None) -> str:
    h = hashlib.sha256(" ".join(RUNTIME_LIBS).encode())
    h.update(str(py).encode())
    h.update(Path(__file__).read_bytes())
    return h.hexdigest()[:12]


def _copy_python(src: Path, root: Path) -> None:
    dest = root / "usr" / "local"
    lib = "lib/python3.12"
    for sub in ("bin", "include", "lib"):
        for p in (src / sub).rglob("*"):
            rel = p.relative_to(src)
            r = rel.as_posix()
            if r.startswith(lib + "/"):
                inner = r[len(lib) + 1 :]
                if inner.startswith(_SKIP) or "/test/" in inner or inner.startswith("config-3.12"):
                    continue
                if inner.startswith("site-packages/") and inner != "site-packages/README.txt":
                    # Nothing installed on this machine goes in: its pip carries the
                    # sandbox's CA in a patched certifi bundle. pip comes from ensurepip.
                    continue
            if "__pycache__" in r and "/test" in r:
                continue
            t = dest / rel
            if p.is_symlink():
                t.parent.mkdir(parents=True, exist_ok=True)
                t.unlink(missing_ok=True)
                t.symlink_to(os.readlink(p))
            elif p.is_dir():
                t.mkdir(parents=True, exist_ok=True)
            else:
                t.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(p, t)


def ensure_base_image(docker: str = "docker", tag: str = "odoo-stack-test/python:3.12-slim") -> str:
    """The image reference; builds it once (a few minutes), then reuses it."""
    py = host_python312()
    ref = f"{tag}-{_key(py)}"
    if subprocess.run([docker, "image", "inspect", ref], capture_output=True).returncode == 0:
        return ref
    cache = Path.home() / ".cache" / "odoo-stack" / f"base-{_key(py)}.tar"
    changes = [
        "ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin",
        "ENV LANG=C.UTF-8",
        'CMD ["python3"]',
        f"LABEL io.odoo-stack.test-base=python{'3.12' if py else '3.11-debian'}",
    ]
    if not cache.exists():
        cache.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="stack-base-", dir="/var/tmp") as tmp:
            root = Path(tmp) / "root"
            # Without a CPython 3.12 here: Debian's 3.11 with headers, as python:*-slim has them.
            pkgs = RUNTIME_LIBS + ([] if py else ["python3", "python3-venv", "python3-dev"])
            subprocess.run(
                [
                    "debootstrap",
                    "--variant=minbase",
                    f"--include={','.join(pkgs)}",
                    "bookworm",
                    str(root),
                    MIRROR,
                ],
                check=True,
                capture_output=True,
            )
            if py:
                _copy_python(py, root)
                subprocess.run(["chroot", str(root), "ldconfig"], check=True)
                subprocess.run(
                    ["chroot", str(root), "/usr/local/bin/python3.12", "-m", "ensurepip"],
                    check=True,
                    capture_output=True,
                )
            else:
                (root / "usr/local/bin/python").symlink_to("/usr/bin/python3")
            for d in ("var/lib/apt/lists", "var/cache/apt/archives"):
                for p in (root / d).glob("*"):
                    if p.is_file():
                        p.unlink()
            # Like Debian's official images: apt keeps no .deb after installing.
            (root / "etc/apt/apt.conf.d/docker-clean").write_text(
                'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb || true"; };\n'
            )
            part = cache.with_suffix(".part")
            subprocess.run(["tar", "-C", str(root), "-cf", str(part), "."], check=True)
            part.rename(cache)
    args = [docker, "import"]
    for c in changes:
        args += ["--change", c]
    subprocess.run([*args, str(cache), ref], check=True, capture_output=True)
    return ref
