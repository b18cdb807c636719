"""The Store facade: one handle on a store's database (SQLite embedded, or PostgreSQL for
teams) and its blobs. It owns the engine, the write transactions with their retries and the
schema migrations; what is read and written lives in :mod:`~nbtrack.store.reads`,
:mod:`~nbtrack.store.writes` and :mod:`~nbtrack.store.liveness`, which its methods call."""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, OperationalError

from nbtrack.errors import StoreError
from nbtrack.store import datasets, durability, liveness, reads, writes
from nbtrack.store import schema as s
from nbtrack.store.blobs import BlobStore
from nbtrack.store.dialect import upsert
from nbtrack.store.engines import (
    BUSY_TIMEOUT_MS,
    busy_timeout,
    file_ident,
    pg_engine,
    sqlite_engine,
    sqlite_read_only,
)
from nbtrack.store.experiments import experiment_id
from nbtrack.store.failures import StoreBusyError, is_transient
from nbtrack.store.migrations import MIGRATIONS, schema_version
from nbtrack.store.records import CellRecord, FileEvent
from nbtrack.store.urls import DB_FILE, make_store_dir, mask_url, no_store_error

T = TypeVar("T")
ATTEMPTS = 8  # tries of a write transaction while the engine is busy


class Store:
    """All reads and writes of runs, cells, metrics and blobs go through here."""

    def __init__(self, url: str, *, create: bool = True):
        self.url = url
        self.closed = False
        self.read_only: str | None = None  # why this process cannot write, if it cannot
        self.remembered = writes.Remembered()
        self._lock = threading.RLock()
        self._ident: tuple[int, int] | None = None  # (device, inode) of the file we have open
        self._wal_ident: tuple[int, int] | None = None  # and of its -wal after our last write
        if "://" in url and not url.startswith("sqlite"):
            self.is_sqlite = False
            self.engine = pg_engine(url)
            self._migrate()
            recorded = self._server_blobs_url()
            blobs = os.environ.get("NBTRACK_BLOBS") or recorded
        else:
            self.is_sqlite = True
            self.root = root = url.removeprefix("sqlite:///")
            self.db_path = os.path.join(root, DB_FILE)
            if not create and not os.path.isfile(self.db_path):  # a reader never makes a store
                raise no_store_error(root)
            make_store_dir(root)
            if os.path.isfile(self.db_path):
                self.read_only = sqlite_read_only(self.db_path)
            blobs = os.environ.get("NBTRACK_BLOBS") or os.path.join(root, "blobs")
            self.engine = sqlite_engine(self.db_path, read_only=self.read_only is not None)
            self._migrate()
            self._ident = file_ident(self.db_path)
        self.blobs = BlobStore(blobs)

    def _server_blobs_url(self) -> str:
        """Where a server store's blobs live when ``NBTRACK_BLOBS`` is not set: the location
        its creator chose (recorded in ``meta``), so every process on every machine agrees
        whatever its working directory. The first opener records ``NBTRACK_BLOBS`` if set,
        else its absolute ``./.nbtrack/blobs``; URLs carrying a password are never recorded."""
        key = s.meta.c.key == "blobs_url"
        recorded = self.read(lambda conn: conn.execute(select(s.meta.c.value).where(key)).scalar())
        if recorded:
            return str(recorded)
        chosen = os.environ.get("NBTRACK_BLOBS") or os.path.abspath(
            os.path.join(".nbtrack", "blobs")
        )
        if mask_url(chosen) != chosen:
            return chosen

        def record(conn: Connection) -> str:
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            conn.execute(
                pg_insert(s.meta).values(key="blobs_url", value=chosen).on_conflict_do_nothing()
            )
            return str(conn.execute(select(s.meta.c.value).where(key)).scalar())

        return self.write(record)

    def close(self) -> None:
        """Close the connections; an SQLite store this process wrote gets a cheap
        ``PRAGMA optimize`` first (statistics for the next reader's query plans)."""
        if (
            self.is_sqlite
            and not self.read_only
            and not self.closed
            and file_ident(self.db_path) == self._ident  # never make a file that was deleted
        ):
            durability.optimize(self)
        self.closed = True
        self.engine.dispose()

    def __repr__(self) -> str:
        return f"Store({mask_url(self.url)!r})"

    # -- transactions --------------------------------------------------------------------
    def write(self, fn: Callable[[Connection], T], *, wait: float | None = None) -> T:
        """Run ``fn`` in one write transaction, retried with back-off if the engine is busy.

        ``wait`` bounds the time spent waiting for locks (this process's and the database's),
        in seconds: the kernel's hot path gives up quickly and keeps its records in memory
        instead of stalling a cell while another process holds the store.
        """
        delay = 0.05
        deadline = None if wait is None else time.monotonic() + wait
        for attempt in range(ATTEMPTS):
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not self._lock.acquire(timeout=-1 if remaining is None else remaining):
                raise StoreBusyError(
                    f"the store {mask_url(self.url)} is busy in this process (waited {wait:.1f} s)"
                )
            try:
                if self.is_sqlite:
                    self._check_file()  # under the lock: no other thread mid-transaction
                with self.engine.connect() as conn:
                    if self.is_sqlite:
                        result = self._sqlite_transaction(conn, fn, remaining)
                        self._wal_ident = file_ident(self.db_path + "-wal")
                        return result
                    with conn.begin():
                        if (
                            remaining is not None
                        ):  # as SQLite's busy_timeout: give up on row locks in time
                            conn.exec_driver_sql(
                                f"SET LOCAL lock_timeout = {max(1, int(remaining * 1000))}"
                            )
                        return fn(conn)
            except BaseException as exc:
                self.remembered.forget()  # the rolled-back transaction may have added them
                out_of_time = deadline is not None and time.monotonic() + delay >= deadline
                if not is_transient(exc) or attempt == ATTEMPTS - 1 or out_of_time:
                    raise
            finally:
                self._lock.release()
            time.sleep(delay)
            delay = min(delay * 2, 2.0)
        raise AssertionError("unreachable")

    @staticmethod
    def _sqlite_transaction(
        conn: Connection, fn: Callable[[Connection], T], wait: float | None
    ) -> T:
        # the busy handler waits at most ``wait`` for the database lock: what is left of the
        # write's deadline, so it drifts by microseconds; in steps of 50 ms, a kernel's cell
        # writes find it set and issue no pragma
        ms = BUSY_TIMEOUT_MS if wait is None else round(wait * 1000)
        busy_timeout(conn, (ms + 25) // 50 * 50 if ms >= 100 else max(1, ms))
        # BEGIN and COMMIT straight through sqlite3, as the per-cell inserts (``insert_tuples``);
        # its errors become SQLAlchemy's, which the callers and ``failures`` know
        raw: sqlite3.Connection = conn.connection.driver_connection  # type: ignore[assignment]
        try:
            raw.execute("BEGIN IMMEDIATE")
            try:
                result = fn(conn)
                raw.execute("COMMIT")
            except BaseException:
                if raw.in_transaction:  # (SQLite ends some failed transactions itself)
                    with contextlib.suppress(sqlite3.Error):
                        raw.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise DBAPIError.instance(None, None, exc, sqlite3.Error) from exc
        return result

    def _check_file(self) -> None:
        """Refuse to write when this user cannot, or when the database file is gone (store
        directory deleted, moved or replaced by a file); reopen when the database or its
        write-ahead log is not the file our connections have open (see
        :func:`nbtrack.store.durability.check_files`). Pooled connections would otherwise
        write into unlinked files and lose everything silently."""
        if self.read_only:
            raise StoreError(f"cannot write to the store {self.root}: {self.read_only}")
        durability.check_files(self)

    def _reopen_if_replaced(self) -> None:
        """Before a read: a database file deleted and recreated (or replaced) at the path gets
        fresh connections, so readers see the file that is there, not the unlinked one."""
        ident = file_ident(self.db_path)
        if ident is not None and ident != self._ident:
            self.engine.dispose()
            self._ident = ident
            self._wal_ident = None

    def read(self, fn: Callable[[Connection], T]) -> T:
        if self.is_sqlite:
            self._reopen_if_replaced()
        with self.engine.connect() as conn:
            if self.is_sqlite:  # the full wait, not what a kernel's bounded write left set
                busy_timeout(conn, BUSY_TIMEOUT_MS)
            return fn(conn)

    # -- schema --------------------------------------------------------------------------
    def _migrate(self) -> None:
        try:
            version = self.read(schema_version)
        except OperationalError as exc:
            raise StoreError(f"cannot open the store {mask_url(self.url)}: {exc.orig}") from exc
        if version == s.SCHEMA_VERSION:
            return
        if version is not None and version > s.SCHEMA_VERSION:
            raise StoreError(
                f"the store {mask_url(self.url)} has schema version {version}, newer than this "
                f"nbtrack understands ({s.SCHEMA_VERSION}); upgrade nbtrack to open it"
            )
        if self.read_only:
            raise StoreError(
                f"the store {mask_url(self.url)} has schema version {version}, older than this nbtrack's "
                f"({s.SCHEMA_VERSION}), and cannot be migrated here: {self.read_only}"
            )
        if version is not None and self.is_sqlite:
            shutil.copy2(self.db_path, f"{self.db_path}.v{version}.bak")

        def create(conn: Connection) -> None:
            if not self.is_sqlite:  # one migrator at a time (SQLite has BEGIN IMMEDIATE)
                conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7410211)")
            found = schema_version(conn)  # again, inside the lock
            if found == s.SCHEMA_VERSION:
                return
            s.metadata.create_all(conn)
            for step in MIGRATIONS[found - 1 : s.SCHEMA_VERSION - 1] if found else []:
                step(conn)
            upsert(
                conn, s.meta, [{"key": "schema_version", "value": str(s.SCHEMA_VERSION)}], ["key"]
            )

        self.write(create)

    # -- blobs -----------------------------------------------------------------------------
    def put_blob(self, data: bytes) -> str:
        return self.blobs.put(data)

    def get_blob(self, h: str) -> bytes:
        return self.blobs.get(h)

    # -- writes (nbtrack.store.writes) -----------------------------------------------------
    def add_session(self, row: Mapping[str, Any]) -> None:
        writes.add_session(self, row)

    def set_session_env(self, session_id: str, env_hash: str, *, wait: float | None = None) -> None:
        writes.set_session_env(self, session_id, env_hash, wait=wait)

    def create_run(
        self,
        row: Mapping[str, Any],
        experiment: str,
        params: Mapping[str, str],
        tags: Mapping[str, str],
        *,
        wait: float | None = None,
    ) -> None:
        writes.create_run(self, row, experiment, params, tags, wait=wait)

    def update_run(self, run_id: str, *, wait: float | None = None, **values: Any) -> None:
        writes.update_run(self, run_id, values, wait=wait)

    def add_run(
        self,
        row: Mapping[str, Any],
        experiment: str,
        params: Mapping[str, str],
        tags: Mapping[str, str],
        points: Sequence[writes.Point],
        artifacts: Sequence[Mapping[str, Any]] = (),
        inputs: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        """A whole run in one transaction (imports); see :func:`nbtrack.store.writes.add_run`."""
        writes.add_run(self, row, experiment, params, tags, points, artifacts, inputs)

    def log_batch(
        self,
        run_id: str,
        params: Mapping[str, str],
        tags: Mapping[str, str],
        points: Sequence[writes.Point],
        *,
        wait: float | None = None,
    ) -> None:
        """Params, tags and metric points ``(key, value, step, timestamp, cell_seq)`` of a run."""
        self.write(lambda conn: writes.write_batch(conn, run_id, params, tags, points), wait=wait)

    def write_batch(
        self,
        conn: Connection,
        run_id: str,
        params: Mapping[str, str],
        tags: Mapping[str, str],
        points: Sequence[writes.Point],
    ) -> None:
        """:meth:`log_batch` in the caller's transaction ``conn``."""
        writes.write_batch(conn, run_id, params, tags, points)

    def record_cell(self, cell: CellRecord, *, wait: float | None = None) -> None:
        """One executed cell in one transaction; nothing is written back into ``cell``."""
        writes.record_cell(self, cell, wait=wait)

    def add_file_events(self, events: Sequence[FileEvent], *, wait: float | None = None) -> None:
        writes.add_file_events(self, events, wait=wait)

    def add_artifact(
        self, run_id: str, path: str, data: bytes, *, wait: float | None = None
    ) -> str:
        return writes.add_artifact(self, run_id, path, data, wait=wait)

    def add_datasets(
        self, run_id: str, rows: Sequence[Mapping[str, Any]], *, wait: float | None = None
    ) -> None:
        """Datasets a run declared (``log_input``); see :mod:`nbtrack.store.datasets`."""
        datasets.add_datasets(self, run_id, rows, wait=wait)

    def experiment_id(self, conn: Connection, name: str) -> int:
        """The id of experiment ``name`` in the caller's transaction, made if new."""
        return experiment_id(self, conn, name)

    def forget_experiments(self) -> None:
        """Drop remembered experiment ids (after a rename or delete elsewhere)."""
        self.remembered.experiments.clear()

    # -- reads (nbtrack.store.reads): they never write -------------------------------------
    def resolve_run_id(self, ref: str) -> str:
        return reads.resolve_run_id(self, ref)

    def run_summaries(self, run_ids: Sequence[str]) -> list[dict[str, Any]]:
        return reads.run_summaries(self, run_ids)

    def list_run_ids(
        self, experiment: str | None = None, include_deleted: bool = False
    ) -> list[str]:
        return reads.list_run_ids(self, experiment, include_deleted)

    def runs_by_tag(self, key: str) -> dict[str, str]:
        return reads.runs_by_tag(self, key)

    def run_cells(self, run: dict[str, Any]) -> list[dict[str, Any]]:
        return reads.run_cells(self, run)

    def metric_history(self, run_id: str, key: str) -> list[dict[str, Any]]:
        return reads.metric_history(self, run_id, key)

    def metric_summary(self, run_id: str) -> dict[str, dict[str, Any]]:
        return reads.metric_summary(self, run_id)

    def artifacts_of(self, run_id: str) -> list[dict[str, Any]]:
        return reads.artifacts_of(self, run_id)

    def file_events_of(self, run: dict[str, Any]) -> list[dict[str, Any]]:
        return reads.file_events_of(self, run)

    def datasets_of(self, run_id: str) -> list[dict[str, Any]]:
        return datasets.datasets_of(self, run_id)

    def session(self, session_id: str) -> dict[str, Any] | None:
        return reads.session(self, session_id)

    # -- liveness (nbtrack.store.liveness) -------------------------------------------------
    def detect_killed(self) -> int:
        """Mark the runs of dead processes on this host ``killed``; returns how many.

        The one place liveness is written. Reads never call it: the listing commands
        (``nbtrack runs``) and the server's listings call it before they list."""
        return liveness.detect_killed(self)
