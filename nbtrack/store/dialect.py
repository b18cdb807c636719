"""SQL the two engines spell differently (INSERT ... ON CONFLICT, fast bulk inserts), and the
batches their bound-parameter limits need for long ``IN`` lists."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
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
    conn: Connection, table: Table, cols: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """INSERT of ``rows`` given as tuples in the order of ``cols``: on SQLite through sqlite3's
    executemany, elsewhere through SQLAlchemy."""
    if not rows:
        return
    if is_sqlite(conn):
        sql = f"INSERT INTO {table.name} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
        conn.connection.driver_connection.executemany(sql, rows)  # type: ignore[union-attr]
    else:
        conn.execute(insert(table), [dict(zip(cols, r, strict=True)) for r in rows])
