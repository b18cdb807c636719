"""How a store's database is opened: SQLite with the pragmas nbtrack relies on (read-only when
this user cannot write the file or its folder), PostgreSQL through psycopg."""

from __future__ import annotations

import os
import urllib.parse
from typing import Any

from sqlalchemy.engine import Engine

BUSY_TIMEOUT_MS = 30000  # how long an SQLite write waits for another writer by default


def busy_timeout(conn: Any, ms: int) -> None:
    """Set SQLite's ``busy_timeout`` of pooled connection ``conn`` (a SQLAlchemy Connection) to
    ``ms``, remembered on the connection so a write that wants what it has already issues no
    pragma (a kernel's bounded wait stays set between its cell writes)."""
    info = conn.info
    if info.get("busy_ms", BUSY_TIMEOUT_MS) != ms:
        conn.exec_driver_sql(f"PRAGMA busy_timeout={ms}")
        info["busy_ms"] = ms


def file_ident(path: str) -> tuple[int, int] | None:
    """(device, inode) of the file at ``path``, None when there is none: tells a file that was
    deleted and recreated, or replaced, from the one a connection has open."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def sqlite_read_only(path: str) -> str | None:
    """Why this user cannot write the SQLite store at ``path`` (None: it can). Writing needs
    the file and its folder, where SQLite keeps the write-ahead log."""
    if not os.access(path, os.W_OK):
        return f"{path} is read-only"
    if not os.access(os.path.dirname(path) or ".", os.W_OK):
        return f"its folder {os.path.dirname(path)} is read-only"
    return None


def sqlite_engine(path: str, *, read_only: bool = False) -> Engine:
    from sqlalchemy import create_engine, event

    if read_only:
        engine = create_engine(f"sqlite:///{path}", creator=lambda: _read_only_connection(path))
    else:
        engine = create_engine(f"sqlite:///{path}", isolation_level="AUTOCOMMIT")

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _rec: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN IMMEDIATE ourselves
        cur = dbapi_conn.cursor()
        cur.execute(
            f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}"
        )  # first: switching to WAL can wait for a lock
        if not read_only:
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA cache_size=-65536")  # 64 MB (default 2): searches revisit index pages
        cur.close()

    return engine


def _read_only_connection(path: str) -> Any:
    """A connection that never writes, not even SQLite's ``-wal`` and ``-shm`` files: while a
    writer has left them, they are read as they are; otherwise, when the folder is read-only
    (they cannot be made) or nobody may write the file, the file is read as immutable."""
    import sqlite3

    path = os.path.abspath(path)
    uri = "file:" + urllib.parse.quote(path) + "?mode=ro"
    in_use = os.path.exists(path + "-wal") and os.path.exists(path + "-shm")
    nobody_writes = not os.stat(path).st_mode & 0o222
    if not in_use and (nobody_writes or not os.access(os.path.dirname(path), os.W_OK)):
        uri += "&immutable=1"
    return sqlite3.connect(uri, uri=True, check_same_thread=False)


def pg_engine(url: str) -> Engine:
    from sqlalchemy import create_engine

    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    try:
        return create_engine(url, pool_pre_ping=True)
    except ImportError as exc:
        raise ImportError(
            "the PostgreSQL store needs psycopg: pip install 'nbtrack[postgres]'"
        ) from exc
