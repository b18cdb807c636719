"""The rows ``nbtrack gc`` purges, and the blobs the remaining rows refer to.

Runs deleted at or before a cutoff go with their rows (runs, params, tags, metrics,
latest_metrics, artifacts, file_events, datasets), with the runs of experiments deleted by then; then
the sessions no remaining run points at with their cells, cell state, file events and the
sources no remaining cell uses, and the deleted experiments left empty.

Blobs are kept when a remaining row refers to them (:data:`BLOB_REFERENCES`, plus the files
listed in every remaining code snapshot). Anyone adding a column that holds blob hashes must
add it here.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import Table, delete, select
from sqlalchemy.engine import Connection

from nbtrack.errors import NotFoundError
from nbtrack.store import schema as s
from nbtrack.store.dialect import chunks

if TYPE_CHECKING:
    from nbtrack.store.sql import Store

# (table, column) holding blob hashes; runs.snapshot_hash blobs list more (see referenced_blobs).
BLOB_REFERENCES = (
    (s.artifacts, "blob_hash"),
    (s.runs, "notebook_hash"),
    (s.runs, "env_hash"),
    (s.runs, "snapshot_hash"),
    (s.runs, "git_diff_hash"),
    (s.sessions, "env_hash"),
    (s.file_events, "hash"),
)
_RUN_TABLES = (
    s.params,
    s.tags,
    s.metrics,
    s.latest_metrics,
    s.artifacts,
    s.file_events,
    s.datasets,
)


@dataclass
class Purge:
    """What a purge removed (or, rolled back, would remove), and the blobs to keep: None
    when a code snapshot could not be read, so that no blob may be removed (``problem``)."""

    runs: list[str] = field(default_factory=list)
    experiments: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    keep: set[str] | None = None
    problem: str | None = None


class _Rollback(Exception):
    """Carries a dry run's purge out of the transaction it rolls back."""

    def __init__(self, purge: Purge):
        self.purge = purge


def purge_deleted(store: Store, cutoff: float, *, dry_run: bool = False) -> Purge:
    """Remove runs deleted at or before ``cutoff`` (and the runs of experiments deleted by
    then) with everything only they use, in one transaction (rolled back with ``dry_run``)."""

    def fn(conn: Connection) -> Purge:
        purge = Purge()
        _purge_rows(conn, cutoff, purge)
        purge.keep = referenced_blobs(store, conn, purge)
        if dry_run:
            raise _Rollback(purge)
        return purge

    try:
        return store.write(fn)
    except _Rollback as done:
        return done.purge


def _purge_rows(conn: Connection, cutoff: float, purge: Purge) -> None:
    r, e = s.runs, s.experiments
    gone_experiments = select(e.c.id).where(e.c.deleted_at.is_not(None), e.c.deleted_at <= cutoff)
    doomed = select(r.c.id, r.c.session_id).where(
        (r.c.deleted_at.is_not(None) & (r.c.deleted_at <= cutoff))
        | r.c.experiment_id.in_(gone_experiments)
    )
    rows = conn.execute(doomed.order_by(r.c.id)).all()
    purge.runs = [rid for rid, _ in rows]

    def count(table: Table, n: int) -> None:
        purge.rows[table.name] = purge.rows.get(table.name, 0) + max(n or 0, 0)

    for chunk in chunks(purge.runs):
        for table in _RUN_TABLES:
            count(table, conn.execute(delete(table).where(table.c.run_id.in_(chunk))).rowcount)
        count(r, conn.execute(delete(r).where(r.c.id.in_(chunk))).rowcount)
    sessions = sorted({sid for _, sid in rows if sid})
    still_used = set()
    for chunk in chunks(sessions):
        still_used |= set(
            conn.execute(select(r.c.session_id).where(r.c.session_id.in_(chunk))).scalars()
        )
    orphans = [sid for sid in sessions if sid not in still_used]
    c, fe = s.cells, s.file_events
    sources: set[str] = set()
    for chunk in chunks(orphans):
        sources |= set(
            conn.execute(select(c.c.source_hash).where(c.c.session_id.in_(chunk))).scalars()
        )
        for table in (s.cell_state, s.cells):
            count(table, conn.execute(delete(table).where(table.c.session_id.in_(chunk))).rowcount)
        # a remaining run's own events stay, whatever session they name
        count(
            fe,
            conn.execute(
                delete(fe).where(fe.c.session_id.in_(chunk), fe.c.run_id.is_(None))
            ).rowcount,
        )
        count(
            s.sessions, conn.execute(delete(s.sessions).where(s.sessions.c.id.in_(chunk))).rowcount
        )
    for chunk in chunks(sorted(sources)):
        used = set(
            conn.execute(select(c.c.source_hash).where(c.c.source_hash.in_(chunk))).scalars()
        )
        unused = [h for h in chunk if h not in used]
        if unused:
            count(
                s.sources,
                conn.execute(delete(s.sources).where(s.sources.c.hash.in_(unused))).rowcount,
            )
    empty = select(e.c.id, e.c.name).where(
        e.c.id.in_(gone_experiments), ~e.c.id.in_(select(r.c.experiment_id))
    )
    gone = conn.execute(empty).all()
    purge.experiments = sorted(name for _, name in gone)
    for chunk in chunks([i for i, _ in gone]):
        count(e, conn.execute(delete(e).where(e.c.id.in_(chunk))).rowcount)


def referenced_blobs(store: Store, conn: Connection, purge: Purge) -> set[str] | None:
    """Every blob hash a remaining row refers to; None (and ``purge.problem``) if a snapshot
    could not be read, as its files are then unknown."""
    keep: set[str] = set()
    for table, column in BLOB_REFERENCES:
        col = table.c[column]
        keep.update(conn.execute(select(col).where(col.is_not(None)).distinct()).scalars())
    snapshots: Sequence[str] = list(
        conn.execute(
            select(s.runs.c.snapshot_hash).where(s.runs.c.snapshot_hash.is_not(None)).distinct()
        ).scalars()
    )
    for h in snapshots:
        try:
            files = json.loads(store.get_blob(h))
        except NotFoundError:
            continue  # a missing snapshot lists nothing to keep
        except Exception as exc:
            purge.problem = f"the code snapshot {h} of a remaining run is unreadable ({exc})"
            return None
        if not isinstance(files, dict):
            purge.problem = (
                f"the code snapshot {h} of a remaining run is not a {{path: hash}} object"
            )
            return None
        keep.update(str(v) for v in files.values())
    return keep
