"""CI sessions. Each calls the invoke tasks or pytest; none re-implements a task."""

import os

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["lint", "tests"]

PYTHON = None  # the interpreter nox runs under (3.11+); production images run Odoo on 3.12


def _install(session: nox.Session) -> None:
    session.install("-e", ".[dev]")


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """The toolkit's tests: unit, then integration against real git (and later services)."""
    _install(session)
    # PostgreSQL 16 (production's major) for the database tests; Debian 12 ships only 15.
    session.run("python", "tests/pgdist.py")
    session.run("pytest", *(session.posargs or ["tests"]))


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHON)
def example(session: nox.Session) -> None:
    """The main job on the bundled example: pin, sync, flatten and check it."""
    _install(session)
    session.run("invoke", "example", *session.posargs)


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Benchmarks (see benchmarks/README.md): `-- git`, `-- db`, `-- s3`, `-- image`; all by
    default."""
    _install(session)
    which = session.posargs or ["git", "db", "s3", "image"]
    if "git" in which:
        session.run("python", "benchmarks/run.py")
    if "db" in which:
        session.run("python", "tests/pgdist.py")
        session.run("python", "benchmarks/db_bench.py")
    if "s3" in which:
        session.run("python", "tests/pgdist.py")
        session.run("python", "benchmarks/s3_bench.py")
    if "image" in which:
        session.run("python", "benchmarks/image_bench.py")


@nox.session(python=PYTHON)
def image(session: nox.Session) -> None:
    """Lint, build and scan the production image (needs a Docker engine)."""
    _install(session)
    if os.environ.get("CI"):  # a CI runner can fetch trivy's vulnerability DB; ours cannot
        session.run("trivy", "image", "--download-db-only")
    session.run("invoke", "image.lint")
    session.run("invoke", "image.build", *session.posargs)
    session.run("invoke", "image.scan")
