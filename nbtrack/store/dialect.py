"""SQL the two engines spell differently (INSERT ... ON CONFLICT, bulk inserts: COPY on
PostgreSQL), and the batches their bound-parameter limits need for long ``IN`` lists."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import Table, insert
from sqlalchemy.engine import Connection

T = TypeVar("T")
CHUNK = 500  # ids per IN (...): well under SQLite's and PostgreSQL's parameter limits


def chunks(items: Sequence[T], n: int = CHUNK) -> Iterator[list[T]]:
    for i in range(0, len(items), n):
        yield list(items[i : i + n])


def is_sqlite(conn: Connection) -> bool:
    return conn.dialect.name == "sqlite"


def dialect_insert(conn: Connection, table: Table) -> Any:
    """An INSERT that knows ON CONFLICT, for this connection's engine."""
    from sqlalchemy.dialects import postgresql, sqlite

    return (sqlite if is_sqlite(conn) else postgresql).insert(table)


def upsert(
    conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]], keys: Sequence[str]
) -> None:
    """Insert ``rows``, replacing the other columns of rows whose ``keys`` are taken."""
    if not rows:
        return
    stmt = dialect_insert(conn, table)
    cols = [c for c in rows[0] if c not in keys]
    stmt = stmt.on_conflict_do_update(
        index_elements=list(keys), set_={c: stmt.excluded[c] for c in cols}
    )
    conn.execute(stmt, list(rows))


def insert_rows(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Plain INSERT of ``rows``; on SQLite straight through sqlite3, whose executemany costs
    a fraction of SQLAlchemy's per-row parameter handling (this is on the per-cell path)."""
    if not rows:
        return
    if not is_sqlite(conn):
        conn.execute(insert(table), list(rows))
        return
    cols = [c.name for c in table.columns]
    insert_tuples(conn, table, cols, [tuple(r.get(c) for c in cols) for r in rows])


def insert_tuples(
    conn: Connection,
    table: Table,
    cols: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    *,
    unless_taken: Sequence[str] = (),
) -> None:
    """INSERT of ``rows`` given as tuples in the order of ``cols`` (skipping those whose
    ``unless_taken`` keys another row already has): on SQLite through sqlite3's executemany,
    elsewhere through SQLAlchemy."""
    if not rows:
        return
    if is_sqlite(conn):
        sql = f"INSERT INTO {table.name} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
        if unless_taken:
            sql += f" ON CONFLICT ({', '.join(unless_taken)}) DO NOTHING"
        conn.connection.driver_connection.executemany(sql, rows)  # type: ignore[union-attr]
        return
    stmt = insert(table)
    if unless_taken:
        stmt = dialect_insert(conn, table).on_conflict_do_nothing(index_elements=list(unless_taken))
    conn.execute(stmt, [dict(zip(cols, r, strict=True)) for r in rows])


COPY_CHUNK = 50_000  # rows per COPY on PostgreSQL (per INSERT batch elsewhere: CHUNK)


def bulk_insert(conn: Connection, table: Table, rows: Iterable[Mapping[str, Any]]) -> int:
    """Insert ``rows`` (dicts naming columns; a column a row leaves out is NULL) in batches,
    in the caller's transaction; returns how many. On PostgreSQL through ``COPY ... FROM
    STDIN`` (psycopg's ``cursor.copy``), tens of times faster than an INSERT per row; on
    SQLite a multi-row ``executemany``. Each batch names the columns of its first row."""
    n = 0
    for batch in batches(rows, CHUNK if is_sqlite(conn) else COPY_CHUNK):
        unknown = set(batch[0]) - set(table.c.keys())
        if unknown:
            raise ValueError(f"{table.name} has no column {sorted(unknown)[0]!r}")
        if is_sqlite(conn):
            conn.execute(insert(table), batch)
        else:
            _copy(conn, table, batch)
        n += len(batch)
    return n


def batches(rows: Iterable[T], n: int) -> Iterator[list[T]]:
    it = iter(rows)
    while batch := list(itertools.islice(it, n)):
        yield batch


def _copy(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    from psycopg import sql

    cols = list(rows[0])
    stmt = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, cols))
    )
    driver = conn.connection.driver_connection
    assert driver is not None
    with driver.cursor() as cur, cur.copy(stmt) as copy:
        for row in rows:
            copy.write_row([row.get(c) for c in cols])


def analyze_if_grown(conn: Connection, tables: Mapping[str, int]) -> list[str]:
    """After a bulk load (``{table: rows added}``): on PostgreSQL, ``ANALYZE`` each table that
    grew by a tenth or more (or that was never analyzed), in the caller's transaction, so the
    next search is planned on the new rows' statistics rather than waiting for autovacuum
    (until then the planner takes a bulk-loaded table for empty or a tenth its size). Returns
    the tables analyzed; SQLite keeps its statistics with ``PRAGMA optimize``."""
    if is_sqlite(conn):
        return []
    done = []
    for name, added in sorted(tables.items()):
        if added < 1000:
            continue
        # reltuples: -1 while never analyzed (PostgreSQL 14 and later), else the estimate
        before = conn.exec_driver_sql(
            "SELECT reltuples FROM pg_class WHERE oid = to_regclass(%(t)s)", {"t": name}
        ).scalar()
        if before is None:
            continue
        if before <= 0 or added * 10 >= before:
            conn.exec_driver_sql(f'ANALYZE "{name}"')
            done.append(name)
    return done
