"""A private PostgreSQL cluster for the tests: initdb + pg_ctl into a temporary folder.

The server listens on a unix socket in that folder only (no TCP port), runs as an
unprivileged user (PostgreSQL refuses to run as root: under root the cluster belongs to
`nobody`), and is stopped and deleted at the end of the test session. Each test gets a
database of its own (`fresh_database`), dropped after it.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

INSTALL_HINT = ("PostgreSQL tests need Debian's postgresql package (apt-get install postgresql) "
                "or PyPI's pgserver (x86_64 Linux; pip install -e '.[dev]' brings it)")
SUPERUSER = "central"


def binaries() -> Path | None:
    """The folder of initdb/pg_ctl: Debian's newest /usr/lib/postgresql/N/bin, else PATH,
    else the binaries PyPI's pgserver wheel ships (a newcomer without root still gets a
    real PostgreSQL)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parent.parent.name))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else pgserver_binaries()


def pgserver_binaries() -> Path | None:
    """pgserver's bundled bin folder, when that wheel is installed (x86_64 Linux)."""
    spec = importlib.util.find_spec("pgserver")
    if spec is None or spec.origin is None:
        return None
    folder = Path(spec.origin).parent / "pginstall" / "bin"
    return folder if (folder / "initdb").exists() else None


class Cluster:
    """One running PostgreSQL server for the session; `url(name)` names one database."""

    def __init__(self, bindir: Path, *, durable: bool = False) -> None:
        self.bindir = bindir
        # not under pytest's tmp_path: that is private to root, and the server runs as nobody
        self.root = Path(tempfile.mkdtemp(prefix="central-pg-"))
        self.data, self.socket = self.root / "data", self.root / "socket"
        self.socket.mkdir()
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.root, "nobody")
            shutil.chown(self.socket, "nobody")
            self._as_user = ["runuser", "-u", "nobody", "--"]
        self._count = 0
        self._run("initdb", "-D", str(self.data), "-U", SUPERUSER, "--auth=trust",
                  "--no-sync", "-E", "UTF8", "--locale=C")
        # fsync off for tests: a test cluster is thrown away, and it makes CREATE DATABASE
        # cheap. A benchmark keeps PostgreSQL's durable defaults, as SQLite keeps
        # synchronous=FULL: the two are compared committing to disk alike. Checkpoints are
        # spaced as a deployment tunes them (README, running the central on PostgreSQL):
        # after each one, the first change to every page writes the whole page to the WAL,
        # so with the defaults (every 5 minutes) a bench's figures would depend on whether
        # a timed checkpoint fell inside its run.
        fast = ("-c checkpoint_timeout=30min -c max_wal_size=4GB " if durable else
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off ")
        options = (f"-c listen_addresses='' -c unix_socket_directories={self.socket} "
                   f"{fast}-c max_connections=200")
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-w", "-s",
                  "-l", str(self.root / "server.log"), "start")

    def _run(self, program: str, *args: str) -> None:
        command: Sequence[str] = [*self._as_user, str(self.bindir / program), *args]
        done = subprocess.run(command, capture_output=True, text=True, cwd=self.root)
        if done.returncode != 0:
            raise RuntimeError(f"{program} failed: {done.stderr.strip() or done.stdout.strip()}")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{SUPERUSER}@/{database}?host={self.socket}"

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(host=str(self.socket), user=SUPERUSER, dbname="postgres",
                             autocommit=True) as conn:
            conn.execute(sql)

    def fresh_database(self) -> str:
        """Create an empty database; returns its SQLAlchemy URL."""
        self._count += 1
        name = f"t{self._count}"
        self._admin(f"CREATE DATABASE {name} TEMPLATE template0 STRATEGY file_copy")
        return self.url(name)

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1].split("?", 1)[0]
        self._admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "-s", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def start_cluster(*, durable: bool = False) -> Cluster | str:
    """A running cluster, or the one-line reason there is none (what to install)."""
    bindir = binaries()
    if bindir is None:
        return INSTALL_HINT
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "PostgreSQL tests need the central extra (pip install -e '.[dev]')"
    return Cluster(bindir, durable=durable)
