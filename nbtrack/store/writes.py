"""What recording writes: sessions, runs, params, tags, metric points, cells with their state
and files, artifacts, and whole runs brought in by imports. Each function is one transaction
unless it takes the caller's ``conn``."""

from __future__ import annotations

import json
import operator
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import case, insert, update
from sqlalchemy.engine import Connection

from nbtrack.store import schema as s
from nbtrack.store.blobs import content_hash
from nbtrack.store.datasets import write_datasets
from nbtrack.store.dialect import dialect_insert, insert_rows, insert_tuples, is_sqlite, upsert
from nbtrack.store.experiments import experiment_id
from nbtrack.store.records import CellRecord, FileEvent
from nbtrack.store.summary import write_summary

if TYPE_CHECKING:
    from nbtrack.store.sql import Store

# a metric point: (key, value, step, timestamp, cell_seq)
Point = tuple[str, float, int, float, int | None]
_METRIC_COLUMNS = ("run_id", "key", "step", "value", "timestamp", "cell_seq")
_CELL_COLUMNS = tuple(c.name for c in s.cells.columns)
_FILE_COLUMNS = tuple(c.name for c in s.file_events.columns)
_step_then_time = operator.itemgetter(2, 3)  # which point of a metric is the latest


@dataclass
class Remembered:
    """What a Store remembers between transactions to skip look-ups on the hot path: the
    source hashes it wrote, and experiment ids with when they were looked up. Forgotten when
    a transaction fails, as it may have added them."""

    sources: set[str] = field(default_factory=set)
    experiments: dict[str, tuple[int, float]] = field(default_factory=dict)

    def forget(self) -> None:
        self.sources.clear()
        self.experiments.clear()


def _nan_to_none(v: float) -> float | None:
    return None if v != v else v  # SQLite cannot store NaN


# -- sessions --------------------------------------------------------------------------------
def add_session(store: Store, row: Mapping[str, Any]) -> None:
    store.write(lambda conn: conn.execute(insert(s.sessions), [dict(row)]))


def set_session_env(
    store: Store, session_id: str, env_hash: str, *, wait: float | None = None
) -> None:
    stmt = update(s.sessions).where(s.sessions.c.id == session_id).values(env_hash=env_hash)
    store.write(lambda conn: conn.execute(stmt), wait=wait)


# -- runs ------------------------------------------------------------------------------------
def create_run(
    store: Store,
    row: Mapping[str, Any],
    experiment: str,
    params: Mapping[str, str],
    tags: Mapping[str, str],
    *,
    wait: float | None = None,
) -> None:
    """A new run with its params and tags; one created ended gets its summary at once."""
    summary = None
    if row.get("status", "running") != "running":  # created ended: it has no metrics yet
        import orjson

        summary = orjson.dumps({"p": dict(params), "m": {}, "t": dict(tags)}).decode()

    def fn(conn: Connection) -> None:
        write_kv(conn, row["id"], params, tags)  # first: no run yet for the triggers to clear
        eid = experiment_id(store, conn, experiment)
        conn.execute(insert(s.runs), [{**row, "experiment_id": eid, "summary": summary}])

    store.write(fn, wait=wait)


def update_run(
    store: Store, run_id: str, values: Mapping[str, Any], *, wait: float | None = None
) -> None:
    """Set columns of a run; one that ends keeps its summary for searches."""

    def fn(conn: Connection) -> None:
        conn.execute(update(s.runs).where(s.runs.c.id == run_id).values(**values))
        if values.get("status", "running") != "running":
            write_summary(conn, run_id)

    store.write(fn, wait=wait)


def add_run(
    store: Store,
    row: Mapping[str, Any],
    experiment: str,
    params: Mapping[str, str],
    tags: Mapping[str, str],
    points: Sequence[Point],
    artifacts: Iterable[Mapping[str, Any]] = (),
    inputs: Sequence[Mapping[str, Any]] = (),
) -> None:
    """A whole run at once, in one transaction (imports): its row, params, tags, metric
    points, artifact rows (``path, blob_hash, size``; the blobs already written) and datasets
    (:func:`nbtrack.store.datasets.write_datasets`)."""
    now = time.time()

    def fn(conn: Connection) -> None:
        conn.execute(
            insert(s.runs), [{**row, "experiment_id": experiment_id(store, conn, experiment)}]
        )
        write_batch(conn, row["id"], params, tags, points)
        insert_rows(
            conn, s.artifacts, [{"run_id": row["id"], "created": now, **a} for a in artifacts]
        )
        write_datasets(conn, row["id"], inputs)
        if row.get("status", "running") != "running":
            write_summary(conn, row["id"])

    store.write(fn)


def write_kv(
    conn: Connection, run_id: str, params: Mapping[str, str], tags: Mapping[str, str]
) -> None:
    upsert(
        conn,
        s.params,
        [{"run_id": run_id, "key": k, "value": v} for k, v in params.items()],
        ["run_id", "key"],
    )
    upsert(
        conn,
        s.tags,
        [{"run_id": run_id, "key": k, "value": v} for k, v in tags.items()],
        ["run_id", "key"],
    )


def write_batch(
    conn: Connection,
    run_id: str,
    params: Mapping[str, str],
    tags: Mapping[str, str],
    points: Sequence[Point],
) -> None:
    """Params, tags and metric points ``(key, value, step, timestamp, cell_seq)`` of one run,
    in the caller's transaction."""
    write_kv(conn, run_id, params, tags)
    if not points:
        return
    if not is_sqlite(conn) and len(points) > 50:
        _copy_metrics(conn, run_id, points)
    else:
        rows = [(run_id, k, st, _nan_to_none(v), ts, seq) for k, v, st, ts, seq in points]
        insert_tuples(conn, s.metrics, _METRIC_COLUMNS, rows)
    _merge_latest(conn, run_id, points)


def _copy_metrics(conn: Connection, run_id: str, points: Sequence[Point]) -> None:
    """Metric points through PostgreSQL's COPY, in the caller's transaction: several times
    faster than psycopg's row-by-row executemany."""
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f"COPY {s.metrics.name} ({', '.join(_METRIC_COLUMNS)}) FROM STDIN") as copy:
        for k, v, st, ts, seq in points:
            copy.write_row((run_id, k, st, _nan_to_none(v), ts, seq))


def _merge_latest(conn: Connection, run_id: str, points: Sequence[Point]) -> None:
    """Fold the points into ``latest_metrics``: latest (highest step, then time), min, max, count."""
    groups: dict[str, list[Point]] = {}
    for p in points:
        groups.setdefault(p[0], []).append(p)
    rows = []
    for k, pts in groups.items():
        last = max(reversed(pts), key=_step_then_time)  # the last logged wins a tie
        finite = [x for x in (p[1] for p in pts) if x == x]
        rows.append(
            {
                "run_id": run_id,
                "key": k,
                "value": _nan_to_none(last[1]),
                "step": last[2],
                "timestamp": last[3],
                "min_value": min(finite) if finite else None,
                "max_value": max(finite) if finite else None,
                "count": len(pts),
            }
        )
    lm = s.latest_metrics
    stmt = dialect_insert(conn, lm)
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


# -- cells, sources, files, artifacts --------------------------------------------------------
def put_sources(store: Store, conn: Connection, texts: Iterable[str]) -> list[str]:
    """Store texts content-addressed (once each); returns their hashes."""
    rows = {content_hash(t.encode("utf-8", "surrogatepass")): t for t in texts}
    known = store.remembered.sources
    new = [(h, t) for h, t in rows.items() if h not in known]
    # another writer may add the same source meanwhile: do nothing then
    insert_tuples(conn, s.sources, ("hash", "text"), new, unless_taken=("hash",))
    known.update(h for h, _ in new)
    return list(rows)


def record_cell(store: Store, cell: CellRecord, *, wait: float | None = None) -> None:
    """One executed cell in one transaction: its row, its source (content-addressed), its
    state diff and the files it read or wrote."""

    def fn(conn: Connection) -> None:
        (source_hash,) = put_sources(store, conn, [cell.source])
        insert_tuples(conn, s.cells, _CELL_COLUMNS, [_cell_row(cell, source_hash)])
        if cell.state_diff:
            rows = [
                {"session_id": cell.session_id, "seq": cell.seq, "name": n, "hash": h}
                for n, h in cell.state_diff.items()
            ]
            insert_rows(conn, s.cell_state, rows)
        insert_tuples(conn, s.file_events, _FILE_COLUMNS, [_file_row(e) for e in cell.file_events])

    store.write(fn, wait=wait)


def _cell_row(cell: CellRecord, source_hash: str) -> tuple[Any, ...]:
    values = {
        "session_id": cell.session_id,
        "seq": cell.seq,
        "execution_count": cell.execution_count,
        "cell_id": cell.cell_id,
        "source_hash": source_hash,
        "start_time": cell.start_time,
        "end_time": cell.end_time,
        "status": cell.status,
        "error_type": cell.error_type,
        "error_message": cell.error_message,
        "created": json.dumps(list(cell.created)),
        "changed": json.dumps(list(cell.changed)),
        "deleted": json.dumps(list(cell.deleted)),
        "touched": json.dumps(list(cell.touched)) if cell.touched is not None else None,
        "notebook_path": cell.notebook_path,
    }
    return tuple(values[c] for c in _CELL_COLUMNS)


def _file_row(e: FileEvent) -> tuple[Any, ...]:
    values = {
        "session_id": e.session_id,
        "seq": e.seq,
        "run_id": e.run_id,
        "path": e.path,
        "mode": e.mode,
        "hash": e.hash,
        "size": e.size,
    }
    return tuple(values[c] for c in _FILE_COLUMNS)


def add_file_events(
    store: Store, events: Sequence[FileEvent], *, wait: float | None = None
) -> None:
    if events:
        rows = [_file_row(e) for e in events]
        store.write(lambda conn: insert_tuples(conn, s.file_events, _FILE_COLUMNS, rows), wait=wait)


def add_artifact(
    store: Store, run_id: str, path: str, data: bytes, *, wait: float | None = None
) -> str:
    """The blob first, then the row that points at it; returns the blob's hash."""
    h = store.put_blob(data)
    row = {
        "run_id": run_id,
        "path": path,
        "blob_hash": h,
        "size": len(data),
        "created": time.time(),
    }
    store.write(lambda conn: upsert(conn, s.artifacts, [row], ["run_id", "path"]), wait=wait)
    return h
