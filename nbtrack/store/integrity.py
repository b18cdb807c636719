"""The rows ``nbtrack doctor`` checks (:mod:`nbtrack.lifecycle.doctor`): the schema version of
a database not opened as a Store yet, ``latest_metrics`` against the points it summarises,
cells whose source is missing, and the blobs rows refer to."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import and_, delete, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError

from nbtrack.errors import StoreError
from nbtrack.store import schema as s
from nbtrack.store.summary import fill_summaries
from nbtrack.store.urls import mask_url

if TYPE_CHECKING:
    from nbtrack.store.sql import Store

SCHEMA_VERSION = s.SCHEMA_VERSION
# (table, column) whose blobs must be there; notebook snapshots and git diffs may have failed to
# save, and file_events hold hashes of the user's files, not blobs
BLOB_COLUMNS = (
    (s.artifacts, "blob_hash"),
    (s.runs, "env_hash"),
    (s.runs, "snapshot_hash"),
    (s.sessions, "env_hash"),
)


class NotAStore(Exception):
    """The database has no nbtrack tables."""


def schema_version_at(url: str, sqlite_path: str | None) -> int | None:
    """The schema version of the store at ``url`` (an SQLite file at ``sqlite_path``), read
    without migrating it; NotAStore if it has no meta table."""
    from sqlalchemy import create_engine, inspect

    from nbtrack.store.engines import pg_engine, sqlite_engine, sqlite_read_only

    if sqlite_path is None:
        engine = pg_engine(url)
    elif sqlite_read_only(sqlite_path):
        engine = sqlite_engine(sqlite_path, read_only=True)
    else:
        engine = create_engine(f"sqlite:///{sqlite_path}")
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("meta"):
                raise NotAStore(url)
            value = conn.execute(
                select(s.meta.c.value).where(s.meta.c.key == "schema_version")
            ).scalar()
    except OperationalError as exc:  # a server that does not answer: one line, no traceback
        if sqlite_path is not None:
            raise
        cause = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        raise StoreError(
            f"cannot reach the store {mask_url(url)}: {cause[0] if cause else type(exc).__name__}"
        ) from None
    finally:
        engine.dispose()
    return int(value) if value is not None else None


@dataclass(frozen=True)
class MetricSummary:
    """``latest_metrics`` of one (run, metric): the values the points allow as the latest
    (points tied on step and time may each be it), or the one stored."""

    values: frozenset[float | None]
    step: int
    timestamp: float
    min_value: float | None
    max_value: float | None
    count: int


Pair = tuple[str, str]  # (run id, metric key)


def metric_summaries(store: Store) -> tuple[dict[Pair, MetricSummary], dict[Pair, MetricSummary]]:
    """What ``latest_metrics`` should hold according to the points, and what it holds, both
    read from one snapshot (one read transaction), so writers at work cannot make them
    disagree."""

    def fn(conn: Connection) -> tuple[dict[Pair, MetricSummary], dict[Pair, MetricSummary]]:
        if store.is_sqlite:
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        try:
            return _expected(conn), _actual(conn)
        finally:
            if store.is_sqlite:
                conn.exec_driver_sql("COMMIT")
            else:
                conn.rollback()

    return store.read(fn)


def repair_metric_summaries(
    store: Store, same: Callable[[MetricSummary | None, MetricSummary | None], bool]
) -> list[Pair]:
    """Recompute the ``latest_metrics`` rows that disagree with their points (``same`` says
    which agree) inside one write transaction: the points are read under the store's write
    lock, so no writer adds any between the read and the rewrite. Returns the pairs fixed."""

    def fn(conn: Connection) -> list[Pair]:
        want, have = _expected(conn), _actual(conn)
        wrong = sorted(k for k in set(want) | set(have) if not same(want.get(k), have.get(k)))
        _replace(conn, {pair: want.get(pair) for pair in wrong})
        if wrong:
            fill_summaries(conn)  # the ended runs whose summaries the new rows cleared
        return wrong

    return store.write(fn)


def _expected(conn: Connection) -> dict[Pair, MetricSummary]:
    m = s.metrics
    agg = {
        (rid, k): (n, lo, hi)
        for rid, k, n, lo, hi in conn.execute(
            select(
                m.c.run_id, m.c.key, func.count(), func.min(m.c.value), func.max(m.c.value)
            ).group_by(m.c.run_id, m.c.key)
        )
    }
    # the latest point: highest step, then latest timestamp (NULL value = NaN)
    ranked = select(
        m.c.run_id,
        m.c.key,
        m.c.value,
        m.c.step,
        m.c.timestamp,
        func.rank()
        .over(partition_by=(m.c.run_id, m.c.key), order_by=(m.c.step.desc(), m.c.timestamp.desc()))
        .label("rn"),
    ).subquery()
    out: dict[Pair, MetricSummary] = {}
    q = select(
        ranked.c.run_id, ranked.c.key, ranked.c.value, ranked.c.step, ranked.c.timestamp
    ).where(ranked.c.rn == 1)
    for rid, k, v, st, ts in conn.execute(q):
        n, lo, hi = agg[(rid, k)]  # the same snapshot (see metric_summaries): always there
        prev = out.get((rid, k))
        values = (prev.values if prev else frozenset()) | {v}
        out[(rid, k)] = MetricSummary(values, st, ts, lo, hi, n)
    return out


def _actual(conn: Connection) -> dict[Pair, MetricSummary]:
    lm = s.latest_metrics
    cols = (
        lm.c.run_id,
        lm.c.key,
        lm.c.value,
        lm.c.step,
        lm.c.timestamp,
        lm.c.min_value,
        lm.c.max_value,
        lm.c.count,
    )
    return {
        (r[0], r[1]): MetricSummary(frozenset({r[2]}), *r[3:]) for r in conn.execute(select(*cols))
    }


def refill_summaries(store: Store) -> int:
    """Compute the summary of every ended run that has none (after a salvage)."""
    return store.write(fill_summaries)


def replace_metric_summaries(store: Store, wanted: dict[Pair, MetricSummary | None]) -> None:
    """Set ``latest_metrics`` of the given pairs to these summaries (None: remove the row)."""
    store.write(lambda conn: _replace(conn, wanted))


def _replace(conn: Connection, wanted: dict[Pair, MetricSummary | None]) -> None:
    lm = s.latest_metrics
    for (rid, key), row in wanted.items():
        conn.execute(delete(lm).where(and_(lm.c.run_id == rid, lm.c.key == key)))
        if row is not None:
            conn.execute(
                lm.insert().values(
                    run_id=rid,
                    key=key,
                    value=next(iter(row.values)),
                    step=row.step,
                    timestamp=row.timestamp,
                    min_value=row.min_value,
                    max_value=row.max_value,
                    count=row.count,
                )
            )


def cells_missing_source(store: Store) -> int:
    """How many cells refer to a source text that is not there."""
    c, src = s.cells, s.sources
    q = (
        select(func.count())
        .select_from(c.outerjoin(src, src.c.hash == c.c.source_hash))
        .where(src.c.hash.is_(None))
    )
    return int(store.read(lambda conn: conn.execute(q).scalar()) or 0)


def blob_references(store: Store) -> tuple[set[str], set[str]]:
    """The blob hashes rows refer to (:data:`BLOB_COLUMNS`), and the code snapshots among
    them (whose files must be there too)."""

    def fn(conn: Connection) -> tuple[set[str], set[str]]:
        hashes: set[str] = set()
        for table, column in BLOB_COLUMNS:
            col = table.c[column]
            hashes.update(conn.execute(select(col).where(col.is_not(None)).distinct()).scalars())
        snap = s.runs.c.snapshot_hash
        return hashes, set(conn.execute(select(snap).where(snap.is_not(None))).scalars())

    return store.read(fn)
