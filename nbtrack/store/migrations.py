"""Schema migrations: ``MIGRATIONS[i]`` upgrades a store from version i+1 to i+2, in the
transaction ``Store._migrate`` opens (after a backup of an SQLite file); :func:`schema_version`
says which version a database has."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.engine import Connection

from nbtrack.store import schema as s
from nbtrack.store.summary import fill_summaries


def schema_version(conn: Connection) -> int | None:
    """The schema version of the database ``conn`` reaches; None when it has no nbtrack tables."""
    from sqlalchemy import inspect

    if not inspect(conn).has_table("meta"):
        return None
    value = conn.execute(select(s.meta.c.value).where(s.meta.c.key == "schema_version")).scalar()
    return int(value) if value is not None else None


def search_layout(conn: Connection) -> None:
    """1 -> 2: runs get ``summary`` (kept by triggers) and covering indexes for searches;
    SQLite's params, tags and latest_metrics are rebuilt as WITHOUT ROWID tables.

    Searches look these up once per candidate run; from a covering index, or without a
    rowid, that is one B-tree search instead of an index search plus a table search.
    """
    conn.exec_driver_sql("ALTER TABLE runs ADD COLUMN summary TEXT")
    for index in s.runs.indexes:  # version 1 had some of them on fewer columns
        conn.exec_driver_sql(f"DROP INDEX IF EXISTS {index.name}")
        index.create(conn)
    if conn.dialect.name != "sqlite":
        for table in s.SUMMARY_TABLES:
            for ddl in s.summary_triggers(table):
                ddl(table, conn)
        fill_summaries(conn)
        return
    for table in (s.params, s.tags, s.latest_metrics):
        old = f"{table.name}_v1"
        conn.exec_driver_sql(f'ALTER TABLE "{table.name}" RENAME TO "{old}"')
        for index in table.indexes:
            conn.exec_driver_sql(f'DROP INDEX IF EXISTS "{index.name}"')
        table.create(conn)
        cols = ", ".join(f'"{c.name}"' for c in table.columns)
        conn.exec_driver_sql(f'INSERT INTO "{table.name}" ({cols}) SELECT {cols} FROM "{old}"')
        conn.exec_driver_sql(f'DROP TABLE "{old}"')
    fill_summaries(conn)


def run_failure(conn: Connection) -> None:
    """2 -> 3: runs get ``failure``, the exception a failed run ended with (JSON)."""
    from sqlalchemy import inspect

    if "failure" not in {c["name"] for c in inspect(conn).get_columns("runs")}:
        conn.exec_driver_sql("ALTER TABLE runs ADD COLUMN failure TEXT")


def datasets_table(conn: Connection) -> None:
    """3 -> 4: the ``datasets`` table, which ``create_all`` made before the migrations run."""


def statement_triggers(conn: Connection) -> None:
    """4 -> 5: on PostgreSQL, the triggers that clear ``runs.summary`` fire once per statement
    instead of once per row (a bulk load's COPY paid a function call and an index search per
    row); SQLite keeps its per-row triggers (it has no other kind)."""
    if conn.dialect.name == "sqlite":
        return
    for table in s.SUMMARY_TABLES:
        for ddl in s.summary_triggers(table):
            ddl(table, conn)
    conn.exec_driver_sql("DROP FUNCTION IF EXISTS nbtrack_forget_summary() CASCADE")


def tags_covering(conn: Connection) -> None:
    """5 -> 6: on PostgreSQL, an index on tags' (run_id, key) that holds the value, so a
    search's look-up of a candidate run's tag does not read the table (SQLite's tags table
    has no rowid: its primary key holds the value already)."""
    s.TAGS_COVERING(s.tags, conn)


# Migrations from version N to N+1, in order; MIGRATIONS[i] upgrades i+1 -> i+2.
MIGRATIONS: list[Callable[[Connection], None]] = [
    search_layout,
    run_failure,
    datasets_table,
    statement_triggers,
    tags_covering,
]
