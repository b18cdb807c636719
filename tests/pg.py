"""A throwaway PostgreSQL server on loopback for the test session (Debian's ``postgresql``).

``PostgresServer.start()`` runs initdb into a temporary directory, starts the server on a
free port (unix socket in the same directory), and creates a role with a password so the
tests connect the way a team would (``postgresql://user:password@127.0.0.1:port/db``).
As root the server runs as the ``postgres`` user. Each test gets a database of its own.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid

USER = "nbtrack"
PASSWORD = "s3cret-Pa55word"


def find_bindir() -> str | None:
    """The newest ``/usr/lib/postgresql/<version>/bin`` holding a server, or None."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/postgres"),
        key=lambda p: int(p.split("/")[-3]) if p.split("/")[-3].isdigit() else 0,
    )
    return os.path.dirname(found[-1]) if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    def __init__(self, bindir: str):
        self.bindir = bindir
        self.dir = tempfile.mkdtemp(prefix="nbtrack-pg-")
        self.data = os.path.join(self.dir, "data")
        self.port = _free_port()
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            shutil.chown(self.dir, "postgres", "postgres")

    def _run(self, *cmd: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        prefix = ["runuser", "-u", "postgres", "--"] if self.as_postgres else []
        return subprocess.run(
            [*prefix, *cmd], capture_output=True, text=True, check=check, timeout=180, cwd=self.dir
        )

    def start(self) -> None:
        pwfile = os.path.join(self.dir, "pw")
        with open(pwfile, "w") as f:
            f.write(PASSWORD)
        if self.as_postgres:
            shutil.chown(pwfile, "postgres", "postgres")
        self._run(
            f"{self.bindir}/initdb",
            "-D",
            self.data,
            "-U",
            USER,
            f"--pwfile={pwfile}",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        )
        os.remove(pwfile)
        opts = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200 "
            "-c shared_buffers=64MB"
        )
        result = self._run(
            f"{self.bindir}/pg_ctl",
            "-D",
            self.data,
            "-o",
            opts,
            "-l",
            os.path.join(self.dir, "log"),
            "-w",
            "-t",
            "120",
            "start",
            check=False,
        )
        if result.returncode != 0:
            log = open(os.path.join(self.dir, "log")).read()[-2000:]
            raise RuntimeError(f"PostgreSQL did not start: {result.stderr}\n{log}")

    def url(self, database: str = "postgres", password: bool = True) -> str:
        auth = f"{USER}:{PASSWORD}" if password else USER
        return f"postgresql://{auth}@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new empty database; returns its URL."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        self._run(
            f"{self.bindir}/pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop", check=False
        )
        for _ in range(50):
            if not os.path.exists(os.path.join(self.data, "postmaster.pid")):
                break
            time.sleep(0.1)
        shutil.rmtree(self.dir, ignore_errors=True)
