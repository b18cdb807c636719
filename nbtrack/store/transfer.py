"""The rows that carry runs from one store to another (``nbtrack export-runs`` /
``import-runs``, :mod:`nbtrack.lifecycle.transfer`): read per table for a set of runs, and
added where missing, ids kept.

A run's rows are its own (params, tags, metrics, latest_metrics, artifacts, datasets,
file_events), its experiment (by name: ids differ between stores), and its session's cells up
to its ``end_seq`` with their state, files and sources. Runs travel with ``experiment`` (a name)
instead of ``experiment_id``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import BigInteger, Boolean, Float, Integer, and_, select
from sqlalchemy.engine import Connection

from nbtrack.errors import ValidationError
from nbtrack.store import schema as s
from nbtrack.store.dialect import CHUNK, analyze_if_grown, batches, bulk_insert, chunks
from nbtrack.store.summary import fill_summaries
from nbtrack.store.writes import put_sources

if TYPE_CHECKING:
    from nbtrack.store.sql import Store

RUN_TABLES = ("params", "tags", "metrics", "latest_metrics", "artifacts", "datasets")
TABLES = (
    "experiments",
    "runs",
    *RUN_TABLES,
    "file_events",
    "sessions",
    "cells",
    "cell_state",
    "sources",
)
Rows = dict[str, list[dict[str, Any]]]
# rows of one table, as often as asked: the import reads a bundle's members again per pass
RowSource = Callable[[str], Iterable[dict[str, Any]]]
MAX_TEXT = 16 << 20  # characters of one unbounded text value in transit (a cell's source, say)


def columns(table: str) -> set[str]:
    """The fields a row of ``table`` carries in transit."""
    names = set(s.metadata.tables[table].c.keys())
    if table == "runs":
        return (names - {"experiment_id"}) | {"experiment"}
    if table == "experiments":
        return names - {"id"}
    return names


_BOOL, _INT, _FLOAT, _TEXT = range(4)


@functools.cache
def _column_kinds(table: str) -> dict[str, tuple[int, int, bool]]:
    """``{column: (kind, max length, nullable)}`` of a table's rows in transit."""
    out: dict[str, tuple[int, int, bool]] = {"experiment": (_TEXT, 256, False)}
    for col in s.metadata.tables[table].c:
        t = col.type
        kind = (
            _BOOL
            if isinstance(t, Boolean)
            else _INT
            if isinstance(t, (Integer, BigInteger))
            else _FLOAT
            if isinstance(t, Float)
            else _TEXT
        )
        out[col.name] = (kind, getattr(t, "length", None) or MAX_TEXT, bool(col.nullable))
    return out


_NAMES = {_BOOL: "a boolean", _INT: "an integer", _FLOAT: "float", _TEXT: "text"}


def check_columns(table: str, row: Mapping[str, Any]) -> None:
    """Each value of ``row`` (a row of ``table`` in transit) fits its column: type, NULL,
    length; ValidationError naming the column otherwise."""
    kinds = _column_kinds(table)
    for name, value in row.items():
        kind, limit, nullable = kinds[name]
        cls = type(value)
        if kind == _TEXT and cls is str:
            if len(value) > limit:
                raise ValidationError(
                    f"column {name!r} is {len(value):,} characters, over its limit of {limit:,}"
                )
            continue
        if value is None:
            if not nullable:
                raise ValidationError(f"column {name!r} must not be null")
            continue
        if kind == _FLOAT and cls in (float, int):
            if not math.isfinite(value):
                raise ValidationError(f"column {name!r} must be a finite number, got {value!r}")
            continue
        if kind == _INT and cls is int:
            if not -(2**63) <= value < 2**63:
                raise ValidationError(f"column {name!r} is out of the 64-bit range: {value}")
            continue
        if kind == _BOOL and cls is bool:
            continue
        raise ValidationError(
            f"column {name!r} must be {_NAMES[kind]}, got {cls.__name__} {value!r:.60}"
        )


def rows_of_runs(store: Store, ids: Sequence[str]) -> Rows:
    """Every row of table ``TABLES`` the runs ``ids`` need, per table."""
    return store.read(lambda conn: _rows_of(conn, ids))


def _rows_of(conn: Connection, ids: Sequence[str]) -> Rows:
    r, e = s.runs, s.experiments
    out: Rows = {t: [] for t in TABLES}

    def fetch(query: Any) -> list[dict[str, Any]]:
        return [dict(row) for row in conn.execute(query).mappings()]

    for chunk in chunks(ids):
        for row in fetch(
            select(r, e.c.name.label("experiment"))
            .join(e, e.c.id == r.c.experiment_id)
            .where(r.c.id.in_(chunk))
        ):
            row.pop("experiment_id")
            out["runs"].append(row)
        for name in RUN_TABLES:
            table = s.metadata.tables[name]
            out[name] += fetch(select(table).where(table.c.run_id.in_(chunk)))
    names = sorted({row["experiment"] for row in out["runs"]})
    out["experiments"] = fetch(
        select(e.c.name, e.c.created, e.c.deleted_at).where(e.c.name.in_(names)).order_by(e.c.name)
    )
    # a run's cells are its session's cells up to its end_seq (all of them while it has none)
    bound: dict[str, int | None] = {}
    for row in out["runs"]:
        sid = row["session_id"]
        if sid:
            end = row["end_seq"]
            bound[sid] = (
                None
                if end is None or (sid in bound and bound[sid] is None)
                else max(end, bound.get(sid) or end)
            )
    sessions = sorted(bound)
    for chunk in chunks(sessions):
        out["sessions"] += fetch(select(s.sessions).where(s.sessions.c.id.in_(chunk)))
    for table in (s.cells, s.cell_state):
        for sid in sessions:
            cond = table.c.session_id == sid
            if bound[sid] is not None:
                cond = and_(cond, table.c.seq <= bound[sid])
            out[table.name] += fetch(select(table).where(cond).order_by(*table.primary_key.columns))
    fe = s.file_events
    for chunk in chunks(ids):
        out["file_events"] += fetch(select(fe).where(fe.c.run_id.in_(chunk)))
    for sid in sessions:
        cond = and_(fe.c.session_id == sid, fe.c.run_id.is_(None), fe.c.seq.is_not(None))
        if bound[sid] is not None:
            cond = and_(cond, fe.c.seq <= bound[sid])
        out["file_events"] += fetch(select(fe).where(cond))
    hashes = sorted({c["source_hash"] for c in out["cells"]})
    for chunk in chunks(hashes):
        out["sources"] += fetch(select(s.sources).where(s.sources.c.hash.in_(chunk)))
    return out


@dataclass
class Added:
    """What :func:`add_rows` added: runs (ids), those skipped as already there, rows per table."""

    runs: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)


def add_rows(store: Store, tables: Mapping[str, list[dict[str, Any]]] | RowSource) -> Added:
    """Add the runs of ``tables`` (as :func:`rows_of_runs` gives them, or a function giving
    each table's rows, read as often as needed) that the store lacks, with what they need and
    it lacks, in one transaction; runs it has are skipped with all their rows. The large
    tables are streamed in chunks (``COPY`` on PostgreSQL: :func:`~nbtrack.store.dialect.bulk_insert`):
    memory holds a run's ids and a cell's key, not the rows. On PostgreSQL the tables the
    load grew by a tenth are analyzed before it commits."""
    rows: RowSource = tables.__getitem__ if isinstance(tables, Mapping) else tables
    return store.write(lambda conn: _insert(store, conn, rows))


def _insert(store: Store, conn: Connection, rows: RowSource) -> Added:
    r, e = s.runs, s.experiments
    added = Added()
    counts = added.rows

    def add(table: Any, table_rows: Iterable[dict[str, Any]]) -> None:
        n = bulk_insert(conn, table, table_rows)  # COPY on PostgreSQL
        if n:
            counts[table.name] = counts.get(table.name, 0) + n

    runs = list(rows("runs"))
    ids = [row["id"] for row in runs]
    have = set()
    for chunk in chunks(ids):
        have |= set(conn.execute(select(r.c.id).where(r.c.id.in_(chunk))).scalars())
    new_runs = [row for row in runs if row["id"] not in have]
    added.runs = [row["id"] for row in new_runs]
    added.skipped = [i for i in ids if i in have]
    new_ids = set(added.runs)

    exp_ids = dict(conn.execute(select(e.c.name, e.c.id)).all())
    add(e, [x for x in rows("experiments") if x["name"] not in exp_ids])
    exp_ids = dict(conn.execute(select(e.c.name, e.c.id)).all())
    missing = {row["experiment"] for row in new_runs} - set(exp_ids)
    if missing:
        raise ValidationError(
            f"the bundle's runs name experiments it does not carry: {sorted(missing)}"
        )

    sessions = [x for x in rows("sessions") if x["id"]]
    have_sessions = set()
    for chunk in chunks([x["id"] for x in sessions]):
        have_sessions |= set(
            conn.execute(select(s.sessions.c.id).where(s.sessions.c.id.in_(chunk))).scalars()
        )
    add(s.sessions, [x for x in sessions if x["id"] not in have_sessions])

    add(
        r,
        [
            {
                **{k: v for k, v in row.items() if k != "experiment"},
                "experiment_id": exp_ids[row["experiment"]],
            }
            for row in new_runs
        ],
    )
    del runs, new_runs
    for name in RUN_TABLES:
        add(s.metadata.tables[name], (x for x in rows(name) if x["run_id"] in new_ids))

    for chunk in batches(rows("sources"), CHUNK):
        put_sources(store, conn, [x["text"] for x in chunk])
    c = s.cells
    have_cells: set[tuple[str, int]] = set()
    for sid in {x["session_id"] for x in rows("cells")}:
        have_cells |= {
            (sid, seq)
            for seq in conn.execute(select(c.c.seq).where(c.c.session_id == sid)).scalars()
        }
    new_keys: set[tuple[str, int]] = set()

    def new_cells() -> Iterator[dict[str, Any]]:
        for x in rows("cells"):
            key = (x["session_id"], x["seq"])
            if key not in have_cells:
                new_keys.add(key)
                yield x

    add(c, new_cells())
    add(s.cell_state, (x for x in rows("cell_state") if (x["session_id"], x["seq"]) in new_keys))
    add(
        s.file_events,
        (
            x
            for x in rows("file_events")
            if x["run_id"] in new_ids
            or (x["run_id"] is None and (x["session_id"], x["seq"]) in new_keys)
        ),
    )
    fill_summaries(conn)
    analyze_if_grown(conn, counts)  # PostgreSQL: statistics of what was loaded
    return added
