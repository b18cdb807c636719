"""An SQLite store's files under faults: the database or its write-ahead log (``-wal``) removed
or replaced while connections have them open, damaged files, and the housekeeping that keeps
the folder small (checkpoints) and the first query fast (``PRAGMA optimize``).

SQLite keeps using the files it opened: a connection whose ``-wal`` was deleted goes on
committing into the unlinked inode, where no other process (and no later connection) will
ever read it. So before each write batch the store compares the (device, inode) of both files
with the ones its connections hold (:func:`check_files`); a removed WAL is folded back into
the database through the connection that still holds it, then the store reopens.
"""

from __future__ import annotations

import mmap
import os
import sqlite3
import struct
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nbtrack.errors import StoreError, warn_failure
from nbtrack.store import schema as s
from nbtrack.store.engines import busy_timeout, file_ident

if TYPE_CHECKING:
    from nbtrack.store.sql import Store

WAL_MAGIC = (0x377F0682, 0x377F0683)


# -- before each write ------------------------------------------------------------------------
def check_files(store: Store) -> None:
    """Raise :class:`StoreError` when the database file is gone; give fresh connections when
    another file stands at its path; fold a removed or replaced write-ahead log back into
    the database (one warning) and reopen. One ``stat`` of each file when nothing changed."""
    db = store.db_path
    ident = file_ident(db)
    if ident is None:
        raise StoreError(f"the store database {db} is not there any more")
    if ident != store._ident:  # noqa: SLF001 (the store's own bookkeeping, kept here)
        if store._ident is not None:  # noqa: SLF001
            store.engine.dispose()
        store._ident, store._wal_ident = ident, None  # noqa: SLF001
        return
    held = store._wal_ident  # noqa: SLF001
    if held is None or file_ident(db + "-wal") == held:
        return
    if not holds_deleted(db + "-wal"):  # our pool was emptied and SQLite made a new one: fine
        store._wal_ident = None  # noqa: SLF001
        return
    fold_back(store)


def holds_deleted(path: str, pid: int | str = "self") -> bool:
    """This process (or ``pid``) has ``path`` open although it was deleted or replaced."""
    return _deleted_link(path) in _fd_links(pid)


def processes_holding_deleted(path: str) -> list[int]:
    """The processes with ``path`` open after it was deleted or replaced (Linux /proc)."""
    want = _deleted_link(path)
    found = []
    try:
        pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return []
    for pid in pids:
        if want in _fd_links(pid):
            found.append(pid)
    return found


def _deleted_link(path: str) -> str:
    return os.path.realpath(os.path.dirname(path)) + os.sep + os.path.basename(path) + " (deleted)"


def _fd_links(pid: int | str) -> set[str]:
    folder = f"/proc/{pid}/fd"
    links: set[str] = set()
    try:
        names = os.listdir(folder)
    except OSError:
        return links
    for name in names:
        try:
            links.add(os.readlink(os.path.join(folder, name)))
        except OSError:
            pass
    return links


def fold_back(store: Store) -> None:
    """The ``-wal`` our connections write to is no longer the one at its path: checkpoint it
    into the database through a connection that still holds it (so what was committed into
    it is kept), drop every connection and warn once. When the checkpoint cannot complete,
    raise: the writer keeps its records in memory and tries again."""
    wal = store.db_path + "-wal"
    with store.engine.connect() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        busy = raw.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
    if busy:
        raise StoreError(
            f"the store's write-ahead log {wal} was removed while this process wrote to it, "
            "and another connection keeps it from being written back yet"
        )
    store.engine.dispose()
    store._wal_ident = None  # noqa: SLF001
    warn_failure(
        f"the store's write-ahead log {wal} was removed or replaced while this process wrote "
        "to it; what it held was written back into the database and the store reopened"
    )


# -- housekeeping -----------------------------------------------------------------------------
def checkpoint(store: Store, wait: float = 0.1) -> bool:
    """``PRAGMA wal_checkpoint(TRUNCATE)``: fold the write-ahead log into the database and
    truncate it to zero bytes. Fails harmlessly (False) when another connection is writing
    or reading, after waiting at most ``wait`` seconds."""
    if not store.is_sqlite or store.read_only:
        return False
    try:
        with store.engine.connect() as conn:
            busy_timeout(conn, int(wait * 1000))
            busy = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").scalar()
        return not busy
    except Exception:  # a checkpoint is housekeeping: never an error
        return False


def optimize(store: Store) -> None:
    """``PRAGMA optimize``: refresh the query planner's statistics where they are stale
    (cheap: it analyses only what changed a lot). Never an error."""
    if not store.is_sqlite or store.read_only:
        return
    try:
        with store.engine.connect() as conn:
            busy_timeout(conn, 100)  # a locked store: skip, not wait
            conn.exec_driver_sql("PRAGMA analysis_limit=400")  # approximate: milliseconds
            conn.exec_driver_sql("PRAGMA optimize")
    except Exception:
        pass


# -- what doctor checks -----------------------------------------------------------------------
def wal_problems(db_path: str) -> list[str]:
    """What is wrong with the write-ahead log beside ``db_path``: a header that is not a
    WAL's, or processes still writing into a WAL that was deleted (their records since are
    in no file anyone will read)."""
    problems = []
    wal = db_path + "-wal"
    try:
        with open(wal, "rb") as f:
            header = f.read(32)
    except FileNotFoundError:
        header = b""
    except OSError as exc:
        problems.append(f"the write-ahead log {wal} cannot be read: {exc.strerror}")
        header = b""
    if header:
        if len(header) < 32 or struct.unpack(">I", header[:4])[0] not in WAL_MAGIC:
            problems.append(f"{wal} is not a write-ahead log (bad header); SQLite ignores it")
    holders = processes_holding_deleted(wal)
    if holders:
        problems.append(
            f"process(es) {', '.join(_describe(p) for p in holders)} hold a deleted write-ahead log of this "
            "store: what they committed since is in no file; nbtrack writers fold it back before "
            "their next write"
        )
    return problems


def _describe(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return str(pid)
    return f"{pid} ({cmd[:80]})"


def store_damage(store: Store, quick: bool = True) -> str | None:
    """:func:`damage` for a store this process has open, through its own connections: opening
    and closing the file here would drop SQLite's POSIX locks of every connection of the
    process (another process's last close would then delete the WAL under them)."""

    def check(conn: Any) -> str | None:
        page = conn.exec_driver_sql("PRAGMA page_size").scalar()
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar()
        size = os.stat(store.db_path).st_size
        if size < page * pages and not os.path.exists(store.db_path + "-wal"):
            return f"the file is truncated: {size:,} bytes, its header says {page * pages:,}"
        if not quick:
            return None
        rows = [r[0] for r in conn.exec_driver_sql("PRAGMA quick_check(5)")]
        return None if rows == ["ok"] else "; ".join(rows)

    try:
        return store.read(check)
    except Exception as exc:  # a file SQLite cannot even read is damaged too
        cause = getattr(exc, "orig", None) or exc
        return str(cause)


def damage(db_path: str, quick: bool = True) -> str | None:
    """Why the SQLite file at ``db_path`` is damaged (truncated, a bad header, pages that do
    not check), None when ``PRAGMA quick_check`` passes (``quick``: else the header only).
    Reads only; for a process that has no connection to it (see :func:`store_damage`)."""
    try:
        size = os.path.getsize(db_path)
        with open(db_path, "rb") as f:
            header = f.read(100)
    except OSError as exc:
        return f"cannot read {db_path}: {exc.strerror}"
    if len(header) < 100 or not header.startswith(b"SQLite format 3\0"):
        return "the file does not start with an SQLite header"
    page = struct.unpack(">H", header[16:18])[0]
    page = 65536 if page == 1 else page
    pages, counter, valid_for = (struct.unpack(">I", header[o : o + 4])[0] for o in (28, 24, 92))
    in_wal = os.path.exists(db_path + "-wal") and os.path.getsize(db_path + "-wal") > 32
    # with frames in the WAL, a checkpoint cut short (disk full) leaves the file shorter than
    # its header says while the pages are still in the WAL: integrity_check tells
    if pages and counter == valid_for and size < pages * page and not in_wal:
        return f"the file is truncated: {size:,} bytes, its header says {pages * page:,}"
    if not quick:
        return None
    try:
        conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
        try:
            rows = [r[0] for r in conn.execute("PRAGMA quick_check(5)").fetchall()]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return str(exc)
    return None if rows == ["ok"] else "; ".join(rows)


# -- doctor --salvage -------------------------------------------------------------------------
@dataclass
class Salvage:
    """What ``salvage`` kept: rows copied and rows (or row ranges) unreadable, per table."""

    copied: dict[str, int] = field(default_factory=dict)
    unreadable: dict[str, int] = field(default_factory=dict)


CHUNK = 512
# the tables a salvage copies, parents first (meta is the new store's own)
TABLES = [t.name for t in s.metadata.sorted_tables if t.name != "meta"]


def integrity_check(db_path: str) -> list[str] | str:
    """``PRAGMA integrity_check`` on a read-only connection: its rows (``["ok"]`` when the file
    checks), or why the file cannot be read at all."""
    try:
        conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
        try:
            return [r[0] for r in conn.execute("PRAGMA integrity_check").fetchall()]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return str(exc)


def salvage_into(src_db: str, dest_db: str, folder: str, tables: list[str]) -> Salvage:
    """Copy every readable row of ``tables`` from the damaged ``src_db`` into the new store's
    file ``dest_db`` (through a readable copy of the source in ``folder``)."""
    conn = sqlite3.connect(dest_db)
    try:
        return salvage_rows(readable_copy(src_db, folder), conn, tables)
    finally:
        conn.close()


def readable_copy(src_db: str, folder: str) -> str:
    """A copy of the damaged SQLite file ``src_db`` (and its ``-wal``) in ``folder`` that
    SQLite will open: a truncated file's header is made to count the pages that are there,
    and the schema keeps only the tables whose root page is there (no indexes, triggers or
    statistics: a table is read by its own B-tree). Returns the copy's path."""
    import shutil

    dest = os.path.join(folder, "damaged.db")
    shutil.copyfile(src_db, dest)
    if os.path.exists(src_db + "-wal"):
        shutil.copyfile(src_db + "-wal", dest + "-wal")
    size = os.path.getsize(dest)
    with open(dest, "r+b") as f:
        header = f.read(100)
        page = struct.unpack(">H", header[16:18])[0] if len(header) >= 18 else 4096
        page = 65536 if page == 1 else (page or 4096)
        pages = max(1, size // page)
        claimed = struct.unpack(">I", header[28:32])[0] if len(header) >= 32 else 0
        if claimed > pages:
            f.seek(28)
            f.write(struct.pack(">I", pages))
    try:
        conn = sqlite3.connect(dest)
        try:
            conn.execute("PRAGMA writable_schema=ON")
            conn.execute(
                "DELETE FROM sqlite_master WHERE type IN ('index', 'trigger') "
                "OR name LIKE 'sqlite_stat%' OR rootpage > ?",
                (pages,),
            )
            conn.commit()
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        pass  # page 1 itself is damaged: read what the schema still gives
    return dest


def salvage_rows(src_db: str, out: sqlite3.Connection, tables: list[str]) -> Salvage:
    """Copy every readable row of ``tables`` from the damaged SQLite file ``src_db`` into the
    open connection ``out`` (an empty store of the same schema), table by table, in the order
    given (parents first). Rowid tables are read in ranges of rowids, a range that fails is
    read row by row and unreadable rows are skipped (``.recover``'s way); a table without
    rowids is read until the first unreadable page."""
    src = sqlite3.connect(f"file:{src_db}?mode=ro", uri=True)
    result = Salvage()
    try:
        for table in tables:
            cols = _columns(src, table) & _columns(out, table)
            if not cols:
                result.unreadable[table] = -1
                continue
            names = sorted(cols)
            insert = (
                f'INSERT OR IGNORE INTO "{table}" ({", ".join(names)}) '
                f"VALUES ({', '.join('?' * len(names))})"
            )
            select = f'SELECT {", ".join(names)} FROM "{table}"'
            copied, bad = _copy_table(src, out, table, select, insert)
            result.copied[table] = copied
            if bad:
                result.unreadable[table] = bad
        damaged = [t for t in tables if result.unreadable.get(t)]
        if damaged:
            _lost_and_found(src, src_db, out, tables, damaged, result)
        out.commit()
    finally:
        src.close()
    return result


def _lost_and_found(
    src: sqlite3.Connection,
    src_db: str,
    out: sqlite3.Connection,
    tables: list[str],
    damaged: list[str],
    result: Salvage,
) -> None:
    """Rows of leaf pages no table reaches any more, given to the damaged table with their
    number of columns (when exactly one has it)."""
    try:
        schema = dict(src.execute("SELECT name, rootpage FROM sqlite_master WHERE type='table'"))
    except sqlite3.DatabaseError:
        return
    unread = {t for t in damaged if result.copied.get(t, 0) == 0}
    roots = {name: root for name, root in schema.items() if name not in unread}
    roots["sqlite_master"] = 1
    found = orphan_rows(src_db, roots)
    shapes: dict[int, list[str]] = {}
    info: dict[str, list[tuple[str, bool]]] = {}
    for table in damaged:
        try:
            cols = [
                (r[1], bool(r[5]) and str(r[2]).upper() == "INTEGER")
                for r in src.execute(f'PRAGMA table_info("{table}")')
            ]
        except sqlite3.DatabaseError:
            continue
        wanted = {c[0] for c in cols} & _columns(out, table)
        if len(wanted) != len(cols):
            continue
        info[table] = cols
        shapes.setdefault(len(cols), []).append(table)
    for width, owners in shapes.items():
        if len(owners) != 1 or width not in found:
            continue
        table, cols = owners[0], info[owners[0]]
        alias = any(is_alias for _, is_alias in cols)
        names = [c for c, _ in cols] + ([] if alias else ["rowid"])
        insert = (
            f'INSERT OR IGNORE INTO "{table}" ({", ".join(names)}) '
            f"VALUES ({', '.join('?' * len(names))})"
        )
        rows = []
        for rowid, values in found[width]:
            values = [
                rowid if a and v is None else v for v, (_, a) in zip(values, cols, strict=False)
            ]
            rows.append(values if alias else [*values, rowid])
        before = out.total_changes
        for row in rows:
            try:
                out.execute(insert, row)
            except sqlite3.Error:
                continue
        result.copied[table] = result.copied.get(table, 0) + out.total_changes - before


def orphan_rows(path: str, roots: dict[str, int]) -> dict[int, list[tuple[int, list[object]]]]:
    """The rows of table B-tree leaf pages that no table reaches any more (their interior
    page was lost: a truncated or overwritten file), by number of columns: ``.recover``'s
    lost-and-found. ``roots`` maps each table to its root page (from the schema)."""
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size < 512:
            return {}
        data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    try:
        page = struct.unpack(">H", data[16:18])[0]
        page = 65536 if page == 1 else page
        pages = size // page
        reached: set[int] = set()
        for root in roots.values():
            _walk(data, page, pages, root, reached)
        found: dict[int, list[tuple[int, list[object]]]] = {}
        for pno in range(2, pages + 1):
            off = (pno - 1) * page
            if pno in reached or data[off] != 0x0D:
                continue
            for rowid, values in _leaf_cells(data, off, off, page):
                found.setdefault(len(values), []).append((rowid, values))
        return found
    finally:
        data.close()


def _walk(data: mmap.mmap, page: int, pages: int, pno: int, reached: set[int]) -> None:
    stack = [pno]
    while stack:
        pno = stack.pop()
        if pno < 1 or pno > pages or pno in reached:
            continue
        reached.add(pno)
        off = (pno - 1) * page
        hdr = off + (100 if pno == 1 else 0)
        if data[hdr] != 0x05:  # only interior table pages lead further
            continue
        n = struct.unpack(">H", data[hdr + 3 : hdr + 5])[0]
        stack.append(struct.unpack(">I", data[hdr + 8 : hdr + 12])[0])
        for i in range(n):
            cp = off + struct.unpack(">H", data[hdr + 12 + 2 * i : hdr + 14 + 2 * i])[0]
            stack.append(struct.unpack(">I", data[cp : cp + 4])[0])


def _leaf_cells(data: mmap.mmap, off: int, hdr: int, page: int) -> list[tuple[int, list[object]]]:
    out = []
    n = struct.unpack(">H", data[hdr + 3 : hdr + 5])[0]
    for i in range(min(n, page // 4)):
        try:
            cp = off + struct.unpack(">H", data[hdr + 8 + 2 * i : hdr + 10 + 2 * i])[0]
            length, p = _varint(data, cp)
            rowid, p = _varint(data, p)
            if length > page - 35 or p + length > off + page:
                continue  # spills onto overflow pages: not recovered
            out.append((rowid, _record(bytes(data[p : p + length]))))
        except (struct.error, ValueError, IndexError, UnicodeDecodeError):
            continue
    return out


def _varint(data: bytes | mmap.mmap, p: int) -> tuple[int, int]:
    v = 0
    for i in range(9):
        b = data[p + i]
        if i == 8:
            return (v << 8) | b, p + 9
        v = (v << 7) | (b & 0x7F)
        if b < 0x80:
            return v, p + i + 1
    raise ValueError("bad varint")


_INT_SIZES = {1: 1, 2: 2, 3: 3, 4: 4, 5: 6, 6: 8}


def _record(rec: bytes) -> list[object]:
    head, p = _varint(rec, 0)
    types = []
    while p < head:
        st, p = _varint(rec, p)
        types.append(st)
    values: list[object] = []
    q = head
    for st in types:
        if st == 0:
            values.append(None)
        elif st in _INT_SIZES:
            k = _INT_SIZES[st]
            values.append(int.from_bytes(rec[q : q + k], "big", signed=True))
            q += k
        elif st == 7:
            values.append(struct.unpack(">d", rec[q : q + 8])[0])
            q += 8
        elif st in (8, 9):
            values.append(st - 8)
        elif st >= 12:
            k = (st - 12) // 2
            raw = rec[q : q + k]
            values.append(raw if st % 2 == 0 else raw.decode())
            q += k
        else:
            raise ValueError("reserved serial type")
    if q > len(rec):
        raise ValueError("record runs past its cell")
    return values


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    try:
        return {r[1] for r in conn.execute(f'PRAGMA table_info("{table}")')}
    except sqlite3.DatabaseError:
        return set()


def _copy_table(
    src: sqlite3.Connection, out: sqlite3.Connection, table: str, select: str, insert: str
) -> tuple[int, int]:
    copied = bad = 0
    try:
        top = src.execute(f'SELECT max(rowid) FROM "{table}"').fetchone()[0]
        if top is None:
            return 0, 0  # empty
        has_rowid = True
    except sqlite3.DatabaseError as exc:
        has_rowid = "no such column" not in str(exc)
        top = None
    if not has_rowid:  # WITHOUT ROWID: as far as the pages can be read
        cur = src.execute(select)
        while True:
            try:
                rows = cur.fetchmany(CHUNK)
            except sqlite3.DatabaseError:
                return copied, bad + 1
            if not rows:
                return copied, bad
            out.executemany(insert, rows)
            copied += len(rows)
    if top is None:  # the tree cannot be walked: its leaves are read by _lost_and_found
        return copied, -1
    start = 0
    while start <= top:
        rows, ok = _read_range(src, select, start, start + CHUNK - 1)
        if not ok:
            rows = []
            for rowid in range(start, start + CHUNK):
                one, fine = _read_range(src, select, rowid, rowid)
                if fine:
                    rows.extend(one)
                else:
                    bad += 1
        out.executemany(insert, rows)
        copied += len(rows)
        start += CHUNK
    return copied, bad


def _read_range(src: sqlite3.Connection, select: str, lo: int, hi: int) -> tuple[list, bool]:  # type: ignore[type-arg]
    try:
        return src.execute(select + " WHERE rowid BETWEEN ? AND ?", (lo, hi)).fetchall(), True
    except sqlite3.DatabaseError:
        return [], False
