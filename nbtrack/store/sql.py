"""The store: one class over SQLAlchemy Core, for SQLite (embedded) and PostgreSQL (teams)."""

from __future__ import annotations

import functools
import json
import math
import operator
import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from sqlalchemy import and_, case, func, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

from nbtrack.errors import NotFoundError, StoreError, ValidationError
from nbtrack.store import schema as s
from nbtrack.store.blobs import BlobStore, content_hash
from nbtrack.store.failures import StoreBusyError, is_transient
from nbtrack.store.migrations import MIGRATIONS
from nbtrack.store.summary import summary_json
from nbtrack.store.urls import DB_FILE, mask_url, no_store_error

T = TypeVar("T")
RUN_STATUSES = ("running", "finished", "failed", "killed")
BUSY_TIMEOUT_MS = 30000  # how long an SQLite write waits for another writer by default


_step_then_time = operator.itemgetter(2, 3)  # which point of a metric is the latest


def _nan_to_none(v: float) -> float | None:
    return None if v != v else v


def _none_to_nan(v: float | None) -> float:
    return math.nan if v is None else v


class Store:
    """All reads and writes of runs, cells, metrics and blobs go through here."""

    def __init__(self, url: str, *, create: bool = True):
        self.url = url
        self.closed = False
        self._lock = threading.RLock()
        self._sources_known: set[str] = set()
        self._experiments: dict[str, tuple[int, float]] = {}  # name -> (id, when looked up)
        self._db_inode: int | None = None
        if "://" in url and not url.startswith("sqlite"):
            self.is_sqlite = False
            self.engine = self._pg_engine(url)
            self._migrate()
            recorded = self._server_blobs_url()
            blobs = os.environ.get("NBTRACK_BLOBS") or recorded
        else:
            self.is_sqlite = True
            root = url.removeprefix("sqlite:///")
            self.root = root
            self.db_path = os.path.join(root, DB_FILE)
            if not create and not os.path.isfile(self.db_path):  # a reader never makes a store
                raise no_store_error(root)
            if not os.path.isdir(root):
                try:
                    os.makedirs(root, exist_ok=True)
                except OSError as exc:
                    raise StoreError(f"cannot create the store directory {root}: {exc}") from exc
            blobs = os.environ.get("NBTRACK_BLOBS") or os.path.join(root, "blobs")
            self.engine = self._sqlite_engine(self.db_path)
            self._migrate()
        self.blobs = BlobStore(blobs)

    # -- engines -------------------------------------------------------------------------
    @staticmethod
    def _sqlite_engine(path: str) -> Engine:
        from sqlalchemy import create_engine, event

        engine = create_engine(f"sqlite:///{path}", isolation_level="AUTOCOMMIT")

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _rec: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN IMMEDIATE ourselves
            cur = dbapi_conn.cursor()
            cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")  # first: switching to WAL can wait for a lock
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA cache_size=-65536")  # 64 MB (default 2): searches revisit index pages
            cur.close()

        return engine

    @staticmethod
    def _pg_engine(url: str) -> Engine:
        from sqlalchemy import create_engine

        if url.startswith("postgresql://") or url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        try:
            return create_engine(url, pool_pre_ping=True)
        except ImportError as exc:
            raise ImportError(
                "the PostgreSQL store needs psycopg: pip install 'nbtrack[postgres]'"
            ) from exc

    def _server_blobs_url(self) -> str:
        """Where a server store's blobs live when ``NBTRACK_BLOBS`` is not set: the location
        its creator chose (recorded in ``meta``), so every process on every machine agrees
        whatever its working directory. The first opener records ``NBTRACK_BLOBS`` if set,
        else its absolute ``./.nbtrack/blobs``; URLs carrying a password are never recorded."""
        key = s.meta.c.key == "blobs_url"
        recorded = self.read(lambda conn: conn.execute(select(s.meta.c.value).where(key)).scalar())
        if recorded:
            return str(recorded)
        chosen = os.environ.get("NBTRACK_BLOBS") or os.path.abspath(os.path.join(".nbtrack", "blobs"))
        if mask_url(chosen) != chosen:
            return chosen

        def record(conn: Connection) -> str:
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            conn.execute(pg_insert(s.meta).values(key="blobs_url", value=chosen).on_conflict_do_nothing())
            return str(conn.execute(select(s.meta.c.value).where(key)).scalar())

        return self.write(record)

    def close(self) -> None:
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
        if self.is_sqlite:
            self._check_file()
        for attempt in range(8):
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not self._lock.acquire(timeout=-1 if remaining is None else remaining):
                raise StoreBusyError(f"the store {mask_url(self.url)} is busy in this process (waited {wait:.1f} s)")
            try:
                with self.engine.connect() as conn:
                    if self.is_sqlite:
                        return self._sqlite_transaction(conn, fn, remaining)
                    with conn.begin():
                        if remaining is not None:  # as SQLite's busy_timeout: give up on row locks in time
                            conn.exec_driver_sql(f"SET LOCAL lock_timeout = {max(1, int(remaining * 1000))}")
                        return fn(conn)
            except OperationalError as exc:
                # caches may name rows the rolled-back transaction added
                self._sources_known.clear()
                self._experiments.clear()
                out_of_time = deadline is not None and time.monotonic() + delay >= deadline
                if not is_transient(exc) or attempt == 7 or out_of_time:
                    raise
            except BaseException:
                self._sources_known.clear()
                raise
            finally:
                self._lock.release()
            time.sleep(delay)
            delay = min(delay * 2, 2.0)
        raise AssertionError("unreachable")

    @staticmethod
    def _sqlite_transaction(conn: Connection, fn: Callable[[Connection], T], wait: float | None) -> T:
        if wait is not None:  # the busy handler waits at most this long for the database lock
            conn.exec_driver_sql(f"PRAGMA busy_timeout={int(wait * 1000)}")
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                result = fn(conn)
            except BaseException:
                conn.exec_driver_sql("ROLLBACK")
                raise
            conn.exec_driver_sql("COMMIT")
            return result
        finally:
            if wait is not None:
                conn.exec_driver_sql(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")

    def _check_file(self) -> None:
        """Refuse to write when the database file is gone (store directory deleted, moved or
        replaced by a file): pooled connections would otherwise write into the unlinked file
        and lose everything silently. A different file at the path gets fresh connections."""
        try:
            inode = os.stat(self.db_path).st_ino
        except OSError as exc:
            raise StoreError(f"the store database {self.db_path} is not there any more ({exc.strerror})") from None
        if inode != self._db_inode:
            if self._db_inode is not None:
                self.engine.dispose()
            self._db_inode = inode

    def read(self, fn: Callable[[Connection], T]) -> T:
        with self.engine.connect() as conn:
            return fn(conn)

    def _dialect_insert(self, table: Any) -> Any:
        """An INSERT that knows ON CONFLICT, for this store's engine."""
        from sqlalchemy.dialects import postgresql, sqlite

        return (sqlite if self.is_sqlite else postgresql).insert(table)

    def _upsert(self, conn: Connection, table: Any, rows: list[dict[str, Any]], keys: Sequence[str]) -> None:
        if not rows:
            return
        stmt = self._dialect_insert(table)
        cols = [c for c in rows[0] if c not in keys]
        stmt = stmt.on_conflict_do_update(
            index_elements=list(keys), set_={c: stmt.excluded[c] for c in cols}
        )
        conn.execute(stmt, rows)

    # -- schema --------------------------------------------------------------------------
    def _migrate(self) -> None:
        try:
            version = self.read(self._schema_version)
        except OperationalError as exc:
            raise StoreError(f"cannot open the store {mask_url(self.url)}: {exc.orig}") from exc
        if version == s.SCHEMA_VERSION:
            return
        if version is not None and version > s.SCHEMA_VERSION:
            raise StoreError(
                f"the store {mask_url(self.url)} has schema version {version}, newer than this "
                f"nbtrack understands ({s.SCHEMA_VERSION}); upgrade nbtrack to open it"
            )
        if version is not None and self.is_sqlite:
            backup = f"{self.db_path}.v{version}.bak"
            shutil.copy2(self.db_path, backup)

        def create(conn: Connection) -> None:
            nonlocal version
            if not self.is_sqlite:  # one migrator at a time (SQLite has BEGIN IMMEDIATE)
                conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7410211)")
            version = self._schema_version(conn)  # again, inside the lock
            if version == s.SCHEMA_VERSION:
                return
            s.metadata.create_all(conn)
            for step in MIGRATIONS[version - 1 : s.SCHEMA_VERSION - 1] if version else []:
                step(conn)
            self._upsert(conn, s.meta, [{"key": "schema_version", "value": str(s.SCHEMA_VERSION)}], ["key"])

        self.write(create)

    @staticmethod
    def _schema_version(conn: Connection) -> int | None:
        from sqlalchemy import inspect

        if not inspect(conn).has_table("meta"):
            return None
        value = conn.execute(select(s.meta.c.value).where(s.meta.c.key == "schema_version")).scalar()
        return int(value) if value is not None else None

    # -- blobs and sources ---------------------------------------------------------------
    def put_blob(self, data: bytes) -> str:
        return self.blobs.put(data)

    def get_blob(self, h: str) -> bytes:
        return self.blobs.get(h)

    def put_sources(self, conn: Connection, texts: Iterable[str]) -> list[str]:
        """Store texts content-addressed (once each); returns their hashes."""
        rows = {content_hash(t.encode("utf-8", "surrogatepass")): t for t in texts}
        new = [{"hash": h, "text": t} for h, t in rows.items() if h not in self._sources_known]
        if new:  # another writer may add the same source meanwhile: do nothing then
            conn.execute(self._dialect_insert(s.sources).on_conflict_do_nothing(index_elements=["hash"]), new)
            self._sources_known.update(r["hash"] for r in new)
        return list(rows)

    # -- experiments ---------------------------------------------------------------------
    def forget_experiments(self) -> None:
        """Drop remembered experiment ids (after a rename or delete)."""
        self._experiments.clear()

    def experiment_id(self, conn: Connection, name: str) -> int:
        """The id of experiment ``name``: created if new, restored if deleted (logging a run
        into it means it is wanted). Remembered for a second only: another process may rename
        or delete it, and a burst of runs should not look it up each time."""
        cached = self._experiments.get(name)
        if cached is not None and time.monotonic() - cached[1] < 1.0:
            return cached[0]
        e = s.experiments
        row = conn.execute(select(e.c.id, e.c.deleted_at).where(e.c.name == name)).first()
        if row is None:
            conn.execute(
                self._dialect_insert(e).values(name=name, created=time.time()).on_conflict_do_nothing(index_elements=["name"])
            )
            row = conn.execute(select(e.c.id, e.c.deleted_at).where(e.c.name == name)).first()
        assert row is not None
        if row[1] is not None:
            conn.execute(update(e).where(e.c.id == row[0]).values(deleted_at=None))
        self._experiments[name] = (int(row[0]), time.monotonic())
        return int(row[0])

    # -- writes from the recorder --------------------------------------------------------
    def add_session(self, row: dict[str, Any]) -> None:
        self.write(lambda conn: conn.execute(insert(s.sessions), [row]))

    def set_session_env(self, session_id: str, env_hash: str, *, wait: float | None = None) -> None:
        self.write(
            lambda conn: conn.execute(
                update(s.sessions).where(s.sessions.c.id == session_id).values(env_hash=env_hash)
            ),
            wait=wait,
        )

    def create_run(
        self, row: dict[str, Any], experiment: str, params: dict[str, str], tags: dict[str, str],
        *, wait: float | None = None,
    ) -> None:
        summary = None
        if row.get("status", "running") != "running":  # created ended: it has no metrics yet
            import orjson

            summary = orjson.dumps({"p": params, "m": {}, "t": tags}).decode()

        def fn(conn: Connection) -> None:
            self._write_kv(conn, row["id"], params, tags)  # first: no run yet for the triggers to clear
            conn.execute(insert(s.runs), [{**row, "experiment_id": self.experiment_id(conn, experiment), "summary": summary}])

        self.write(fn, wait=wait)

    def update_run(self, run_id: str, *, wait: float | None = None, **values: Any) -> None:
        def fn(conn: Connection) -> None:
            conn.execute(update(s.runs).where(s.runs.c.id == run_id).values(**values))
            if values.get("status", "running") != "running":  # ended: keep its summary for searches
                self._write_summary(conn, run_id)

        self.write(fn, wait=wait)

    def _write_summary(self, conn: Connection, run_id: str) -> None:
        """Set the run's ``summary``, through the driver: SQLAlchemy would spend longer
        compiling and caching the statement than the engine spends running it."""
        sql, params = self._summary_statement
        conn.exec_driver_sql(sql, params(run_id))

    @functools.cached_property
    def _summary_statement(self) -> tuple[str, Callable[[str], Any]]:
        from sqlalchemy import bindparam

        stmt = update(s.runs).where(s.runs.c.id == bindparam("run_id")).values(summary=summary_json(self.is_sqlite))
        compiled = stmt.compile(dialect=self.engine.dialect)
        fixed = compiled.construct_params({"run_id": ""})
        if compiled.positiontup is None:
            return str(compiled), lambda run_id: {**fixed, "run_id": run_id}
        names = compiled.positiontup
        return str(compiled), lambda run_id: tuple(run_id if n == "run_id" else fixed[n] for n in names)

    def _write_kv(self, conn: Connection, run_id: str, params: dict[str, str], tags: dict[str, str]) -> None:
        self._upsert(conn, s.params, [{"run_id": run_id, "key": k, "value": v} for k, v in params.items()], ["run_id", "key"])
        self._upsert(conn, s.tags, [{"run_id": run_id, "key": k, "value": v} for k, v in tags.items()], ["run_id", "key"])

    def write_batch(
        self,
        conn: Connection,
        run_id: str,
        params: dict[str, str],
        tags: dict[str, str],
        points: list[tuple[str, float, int, float, int | None]],
    ) -> None:
        """Params, tags and metric points ``(key, value, step, timestamp, cell_seq)`` of one run."""
        self._write_kv(conn, run_id, params, tags)
        if not points:
            return
        if not self.is_sqlite and len(points) > 50:
            self._copy_metrics(conn, run_id, points)
        elif self.is_sqlite:  # straight to sqlite3: SQLAlchemy's per-row parameter handling costs 5x the insert
            conn.connection.driver_connection.executemany(  # type: ignore[union-attr]
                "INSERT INTO metrics (run_id, key, step, value, timestamp, cell_seq) VALUES (?, ?, ?, ?, ?, ?)",
                [(run_id, k, st, None if v != v else v, ts, seq) for k, v, st, ts, seq in points],
            )
        else:
            conn.execute(
                insert(s.metrics),
                [
                    {"run_id": run_id, "key": k, "value": _nan_to_none(v), "step": st, "timestamp": ts, "cell_seq": seq}
                    for k, v, st, ts, seq in points
                ],
            )
        self._merge_latest(conn, run_id, points)

    @staticmethod
    def _copy_metrics(conn: Connection, run_id: str, points: list[tuple[str, float, int, float, int | None]]) -> None:
        """Metric points through PostgreSQL's COPY, in the caller's transaction: several times
        faster than psycopg's row-by-row executemany."""
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(f"COPY {s.metrics.name} (run_id, key, step, value, timestamp, cell_seq) FROM STDIN") as copy:
            for k, v, st, ts, seq in points:
                copy.write_row((run_id, k, st, None if v != v else v, ts, seq))

    def _merge_latest(self, conn: Connection, run_id: str, points: list[tuple[str, float, int, float, int | None]]) -> None:
        groups: dict[str, list[tuple[str, float, int, float, int | None]]] = {}
        for p in points:
            groups.setdefault(p[0], []).append(p)
        rows = []
        for k, pts in groups.items():
            last = max(reversed(pts), key=_step_then_time)  # the last logged wins a tie
            finite = [x for x in (p[1] for p in pts) if x == x]
            rows.append(
                {"run_id": run_id, "key": k, "value": _nan_to_none(last[1]), "step": last[2], "timestamp": last[3],
                 "min_value": min(finite) if finite else None, "max_value": max(finite) if finite else None,
                 "count": len(pts)}
            )
        lm = s.latest_metrics
        stmt = self._dialect_insert(lm)
        new = stmt.excluded
        newer = (new.step > lm.c.step) | ((new.step == lm.c.step) & (new.timestamp >= lm.c.timestamp))

        def pick(a: Any, b: Any, smaller: bool) -> Any:
            better = (a < b) if smaller else (a > b)
            return case((a.is_(None), b), (b.is_(None), a), (better, a), else_=b)

        stmt = stmt.on_conflict_do_update(
            index_elements=["run_id", "key"],
            set_={
                "value": case((newer, new.value), else_=lm.c.value),
                "step": case((newer, new.step), else_=lm.c.step),
                "timestamp": case((newer, new.timestamp), else_=lm.c.timestamp),
                "min_value": pick(new.min_value, lm.c.min_value, True),
                "max_value": pick(new.max_value, lm.c.max_value, False),
                "count": lm.c.count + new.count,
            },
        )
        conn.execute(stmt, rows)

    def record_cell(
        self,
        row: dict[str, Any],
        source: str,
        state_diff: dict[str, str | None],
        file_events: list[dict[str, Any]] = (),  # type: ignore[assignment]
        *,
        wait: float | None = None,
    ) -> None:
        """One executed cell in one transaction: its row, its source (content-addressed), its
        state diff and the files it read or wrote."""

        def fn(conn: Connection) -> None:
            (row["source_hash"],) = self.put_sources(conn, [source])
            self.insert(conn, s.cells, [row])
            if state_diff:
                sid, seq = row["session_id"], row["seq"]
                self.insert(conn, s.cell_state, [{"session_id": sid, "seq": seq, "name": n, "hash": h} for n, h in state_diff.items()])
            if file_events:
                self.insert(conn, s.file_events, list(file_events))

        self.write(fn, wait=wait)

    def insert(self, conn: Connection, table: Any, rows: list[dict[str, Any]]) -> None:
        """Plain INSERT of ``rows``; on SQLite straight through sqlite3, whose executemany costs
        a fraction of SQLAlchemy's per-row parameter handling (this is on the per-cell path)."""
        if not self.is_sqlite:
            conn.execute(insert(table), rows)
            return
        cols = [c.name for c in table.columns]
        sql = f"INSERT INTO {table.name} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
        conn.connection.driver_connection.executemany(sql, [tuple(r.get(c) for c in cols) for r in rows])  # type: ignore[union-attr]

    def add_file_events(self, rows: list[dict[str, Any]], *, wait: float | None = None) -> None:
        if rows:
            self.write(lambda conn: conn.execute(insert(s.file_events), rows), wait=wait)

    def add_artifact(self, run_id: str, path: str, data: bytes, *, wait: float | None = None) -> str:
        h = self.put_blob(data)
        row = {"run_id": run_id, "path": path, "blob_hash": h, "size": len(data), "created": time.time()}
        self.write(lambda conn: self._upsert(conn, s.artifacts, [row], ["run_id", "path"]), wait=wait)
        return h

    # -- reads ---------------------------------------------------------------------------
    def resolve_run_id(self, ref: str) -> str:
        """A full run id from a unique prefix of one."""
        ref = ref.strip().lower()
        if not ref or not all(c in "0123456789abcdef" for c in ref):
            raise ValidationError(f"not a run id: {ref!r} (run ids are hexadecimal, a unique prefix will do)")
        self.detect_killed()
        ids = self.read(
            lambda conn: list(conn.execute(select(s.runs.c.id).where(s.runs.c.id.like(ref + "%")).limit(2)).scalars())
        )
        if not ids:
            raise NotFoundError(f"no run with id {ref!r} in {mask_url(self.url)}")
        if len(ids) > 1:
            raise NotFoundError(f"run id prefix {ref!r} is ambiguous: it matches {ids[0]}, {ids[1]}, ...")
        return str(ids[0])

    def run_summaries(self, run_ids: Sequence[str]) -> list[dict[str, Any]]:
        """Runs as dicts with params, latest metrics and tags, in the order of ``run_ids``."""
        if not run_ids:
            return []
        r, e = s.runs, s.experiments

        def fn(conn: Connection) -> list[dict[str, Any]]:
            out: dict[str, dict[str, Any]] = {}
            for chunk in _chunks(list(run_ids), 500):
                q = select(r, e.c.name.label("experiment")).join(e, e.c.id == r.c.experiment_id).where(r.c.id.in_(chunk))
                for row in conn.execute(q).mappings():
                    out[row["id"]] = {**row, "params": {}, "metrics": {}, "tags": {}}
                for table, field in ((s.params, "params"), (s.tags, "tags")):
                    for rid, k, v in conn.execute(select(table.c.run_id, table.c.key, table.c.value).where(table.c.run_id.in_(chunk))):
                        out[rid][field][k] = v
                lm = s.latest_metrics
                for rid, k, v in conn.execute(select(lm.c.run_id, lm.c.key, lm.c.value).where(lm.c.run_id.in_(chunk))):
                    out[rid]["metrics"][k] = _none_to_nan(v)
            return [out[i] for i in run_ids if i in out]

        return self.read(fn)

    def list_run_ids(self, experiment: str | None = None, include_deleted: bool = False) -> list[str]:
        self.detect_killed()
        r, e = s.runs, s.experiments
        q = select(r.c.id).join(e, e.c.id == r.c.experiment_id)
        if experiment is not None:
            q = q.where(e.c.name == experiment)
        if not include_deleted:
            q = q.where(r.c.deleted_at.is_(None))
        q = q.order_by(r.c.start_time.desc(), r.c.id)
        return self.read(lambda conn: list(conn.execute(q).scalars()))

    def run_cells(self, run: dict[str, Any]) -> list[dict[str, Any]]:
        """The executed-cell sequence that built a run's state, with the state after each cell."""
        if not run.get("session_id"):
            return []
        c, st, src = s.cells, s.cell_state, s.sources
        cond = c.c.session_id == run["session_id"]
        if run.get("end_seq") is not None:
            cond = and_(cond, c.c.seq <= run["end_seq"])

        def fn(conn: Connection) -> list[dict[str, Any]]:
            rows = conn.execute(
                select(c, src.c.text.label("source")).join(src, src.c.hash == c.c.source_hash).where(cond).order_by(c.c.seq)
            ).mappings().all()
            diffs: dict[int, list[tuple[str, str | None]]] = {}
            scond = st.c.session_id == run["session_id"]
            if run.get("end_seq") is not None:
                scond = and_(scond, st.c.seq <= run["end_seq"])
            for seq, name, h in conn.execute(select(st.c.seq, st.c.name, st.c.hash).where(scond)):
                diffs.setdefault(seq, []).append((name, h))
            return [dict(row) | {"diff": diffs.get(row["seq"], [])} for row in rows]

        rows = self.read(fn)
        state: dict[str, str] = {}
        out = []
        start = run.get("start_seq")
        for i, row in enumerate(rows):
            for name, h in row["diff"]:
                if h is None:
                    state.pop(name, None)
                else:
                    state[name] = h
            error = None
            if row["status"] == "error":
                error = {"type": row["error_type"], "message": row["error_message"]}
            out.append(
                {
                    "index": i,
                    "seq": row["seq"],
                    "execution_count": row["execution_count"],
                    "cell_id": row["cell_id"],
                    "source": row["source"],
                    "status": row["status"],
                    "error": error,
                    "in_run": start is not None and row["seq"] >= start,
                    "start_time": row["start_time"],
                    "end_time": row["end_time"],
                    "created": json.loads(row["created"] or "[]"),
                    "changed": json.loads(row["changed"] or "[]"),
                    "deleted": json.loads(row["deleted"] or "[]"),
                    "touched": json.loads(row["touched"]) if row["touched"] is not None else None,
                    "state": dict(sorted(state.items())),
                }
            )
        return out

    def metric_history(self, run_id: str, key: str) -> list[dict[str, Any]]:
        m = s.metrics
        q = select(m.c.step, m.c.value, m.c.timestamp, m.c.cell_seq).where(m.c.run_id == run_id, m.c.key == key)
        rows = self.read(lambda conn: conn.execute(q.order_by(m.c.step, m.c.timestamp)).all())
        return [{"step": st, "value": _none_to_nan(v), "timestamp": ts, "cell_seq": seq} for st, v, ts, seq in rows]

    def metric_summary(self, run_id: str) -> dict[str, dict[str, Any]]:
        lm = s.latest_metrics
        rows = self.read(lambda conn: conn.execute(select(lm).where(lm.c.run_id == run_id).order_by(lm.c.key)).mappings().all())
        return {
            r["key"]: {"latest": _none_to_nan(r["value"]), "min": _none_to_nan(r["min_value"]),
                       "max": _none_to_nan(r["max_value"]), "step": r["step"], "count": r["count"]}
            for r in rows
        }

    def artifacts_of(self, run_id: str) -> list[dict[str, Any]]:
        a = s.artifacts
        return self.read(lambda conn: [dict(r) for r in conn.execute(select(a).where(a.c.run_id == run_id).order_by(a.c.path)).mappings()])

    def file_events_of(self, run: dict[str, Any]) -> list[dict[str, Any]]:
        f = s.file_events
        cond = f.c.run_id == run["id"]
        if run.get("session_id"):
            scond = f.c.session_id == run["session_id"]
            if run.get("end_seq") is not None:
                scond = and_(scond, f.c.seq <= run["end_seq"])
            cond = cond | and_(scond, f.c.seq.is_not(None))
        return self.read(lambda conn: [dict(r) for r in conn.execute(select(f).where(cond)).mappings()])

    def session(self, session_id: str) -> dict[str, Any] | None:
        row = self.read(lambda conn: conn.execute(select(s.sessions).where(s.sessions.c.id == session_id)).mappings().first())
        return dict(row) if row else None

    # -- liveness ------------------------------------------------------------------------
    def detect_killed(self) -> int:
        """Mark runs whose process died (on this host) as ``killed``; returns how many."""
        import psutil

        r, se = s.runs, s.sessions
        rows = self.read(
            lambda conn: conn.execute(
                select(r.c.id, r.c.start_time, se.c.id.label("sid"), se.c.pid, se.c.pid_started)
                .join(se, se.c.id == r.c.session_id)
                .where(r.c.status == "running", se.c.host == socket.gethostname())
            ).all()
        )
        dead = []
        for rid, started, sid, pid, pid_started in rows:
            try:
                alive = pid_started is None or abs(psutil.Process(pid).create_time() - pid_started) < 1.0
            except psutil.Error:
                alive = False
            if not alive:
                dead.append((rid, started, sid))
        if not dead:
            return 0

        def fn(conn: Connection) -> None:
            for rid, started, sid in dead:
                last = [started]
                last.append(conn.execute(select(func.max(s.cells.c.end_time)).where(s.cells.c.session_id == sid)).scalar())
                last.append(conn.execute(select(func.max(s.latest_metrics.c.timestamp)).where(s.latest_metrics.c.run_id == rid)).scalar())
                end = max(t for t in last if t is not None)
                conn.execute(update(r).where(r.c.id == rid, r.c.status == "running").values(status="killed", end_time=end))

        self.write(fn)
        return len(dead)


def _chunks(items: list[T], n: int) -> Iterable[list[T]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]
