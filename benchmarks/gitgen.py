"""Deterministic OCA-shaped git repositories, written fast with `git fast-import`."""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

WORDS = [
    "partner",
    "invoice",
    "journal",
    "move",
    "line",
    "account",
    "tax",
    "report",
    "queue",
    "job",
    "audit",
    "rule",
    "field",
    "view",
    "action",
    "menu",
    "record",
    "company",
    "currency",
    "payment",
    "stock",
    "picking",
]


def _text(rng: random.Random, n: int) -> bytes:
    # Half prose-like (compressible), half noise (not): like real source + binary assets.
    if rng.random() < 0.5:
        return " ".join(rng.choice(WORDS) for _ in range(n // 6)).encode() + b"\n"
    return rng.randbytes(n // 2).hex().encode() + b"\n"


def make_repo(
    path: Path, name: str, addons: int, commits: int, branch: str = "19.0", seed: int = 0
) -> Path:
    """A bare repo with ``addons`` addons and ``commits`` commits of history on ``branch``."""
    rng = random.Random(f"{name}-{seed}")
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", "--bare", str(path)], check=True)
    names = [f"{name.replace('-', '_')}_{i:03d}" for i in range(addons)]
    chunks: list[bytes] = []

    def commit(i: int, msg: str, files: list[tuple[str, bytes]]) -> None:
        m = msg.encode()
        chunks.append(
            f"commit refs/heads/{branch}\nmark :{i + 1}\n"
            f"committer OCA Bot <bot@example.invalid> {1_700_000_000 + i * 3600} +0000\n"
            f"data {len(m)}\n".encode()
            + m
            + b"\n"
            + (f"from :{i}\n".encode() if i else b"")
        )
        for p, data in files:
            chunks.append(f"M 100644 inline {p}\ndata {len(data)}\n".encode() + data + b"\n")

    first: list[tuple[str, bytes]] = []
    for a in names:
        manifest = (
            f"{{\n    'name': '{a}',\n    'version': '19.0.1.0.0',\n    'license': 'AGPL-3',\n"
            "    'author': 'Odoo Community Association (OCA)',\n    'depends': ['base'],\n"
            "    'installable': True,\n}\n"
        ).encode()
        first += [
            (f"{a}/__manifest__.py", manifest),
            (f"{a}/__init__.py", b"from . import models\n"),
            (f"{a}/models/__init__.py", b""),
        ]
        first += [(f"{a}/models/m{k}.py", _text(rng, rng.randint(500, 6000))) for k in range(4)]
        first.append((f"{a}/views/views.xml", _text(rng, rng.randint(1000, 8000))))
        first.append((f"{a}/i18n/fr.po", _text(rng, rng.randint(2000, 20000))))
    commit(0, f"[INIT] {name}", first)
    for i in range(1, commits):
        a = rng.choice(names)
        commit(
            i,
            f"[FIX] {a}: change {i}",
            [(f"{a}/models/m{rng.randint(0, 3)}.py", _text(rng, rng.randint(500, 6000)))],
        )
    stream = b"".join(chunks) + b"done\n"
    subprocess.run(["git", "fast-import", "--quiet", "--done"], input=stream, cwd=path, check=True)
    subprocess.run(["git", "gc", "-q"], cwd=path, check=True)
    subprocess.run(["git", "config", "uploadpack.allowFilter", "true"], cwd=path, check=True)
    return path
