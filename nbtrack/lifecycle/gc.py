"""``nbtrack gc``: purge deleted runs for good and remove the blobs nothing refers to any more.

As MLflow's ``gc``, only runs already deleted are purged (``older_than``: deleted at least
that long ago), together with the runs of deleted experiments. Their rows go (runs, params,
tags, metrics, latest_metrics, artifacts, file_events), then the sessions no remaining run
points at with their cells, cell state, file events and the sources no remaining cell uses.

Blobs are removed only when no remaining row refers to them (:data:`BLOB_REFERENCES`, plus
the files listed in every remaining code snapshot), and only when written more than
``grace`` seconds ago: a run still being recorded stores blobs before the row that will
refer to them. Anyone adding a column that holds blob hashes must add it here.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select

from nbtrack.errors import NotFoundError
from nbtrack.store import open_store
from nbtrack.store import schema as s
from nbtrack.timespec import parse_duration

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from nbtrack.store import Store

DEFAULT_GRACE = 3600.0
# (table, column) holding blob hashes; runs.snapshot_hash blobs list more (see _snapshot_files).
BLOB_REFERENCES = (
    (s.artifacts, "blob_hash"),
    (s.runs, "notebook_hash"),
    (s.runs, "env_hash"),
    (s.runs, "snapshot_hash"),
    (s.runs, "git_diff_hash"),
    (s.sessions, "env_hash"),
    (s.file_events, "hash"),
)
_RUN_TABLES = (s.params, s.tags, s.metrics, s.latest_metrics, s.artifacts, s.file_events)
_CHUNK = 500


@dataclass
class GcReport:
    """What a gc freed (or, with ``dry_run``, would free)."""

    runs: list[str] = field(default_factory=list)
    experiments: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    blobs: int = 0
    bytes: int = 0
    recent_blobs_kept: int = 0
    blob_problem: str | None = None  # why no blob was removed, when something could not be read
    dry_run: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run, "runs": self.runs, "experiments": self.experiments,
            "rows": dict(sorted(self.rows.items())), "blobs": self.blobs, "bytes": self.bytes,
            "recent_blobs_kept": self.recent_blobs_kept, "blob_problem": self.blob_problem,
        }

    def lines(self) -> list[str]:
        verb = "would free" if self.dry_run else "freed"
        rows = sum(self.rows.values())
        out = [
            f"{verb} {len(self.runs)} run(s), {len(self.experiments)} experiment(s), {rows} row(s), "
            f"{self.blobs} blob(s), {_size(self.bytes)}"
        ]
        out += [f"  {table}: {n}" for table, n in sorted(self.rows.items()) if n]
        if self.recent_blobs_kept:
            out.append(f"kept {self.recent_blobs_kept} unreferenced blob(s) written in the grace period")
        if self.blob_problem:
            out.append(f"no blob removed: {self.blob_problem}")
        return out


class _Rollback(Exception):
    """Carries a dry run's report out of the transaction it rolls back."""

    def __init__(self, report: GcReport, keep: set[str] | None):
        self.report, self.keep = report, keep


def gc(
    older_than: str | float | None = None,
    *,
    dry_run: bool = False,
    grace: str | float = DEFAULT_GRACE,
    store: Store | str | None = None,
) -> GcReport:
    """Purge runs deleted at least ``older_than`` ago (``30d``, ``12h``, seconds; default:
    every deleted run) and the blobs nothing refers to any more; returns what was freed."""
    st = open_store(store, create=False)
    age = parse_duration(older_than) if older_than is not None else 0.0
    grace_s = parse_duration(grace)
    cutoff = time.time() - age
    report = GcReport(dry_run=dry_run)

    def purge(conn: Connection) -> set[str] | None:
        _purge_rows(conn, cutoff, report)
        keep = _referenced_blobs(st, conn, report)
        if dry_run:
            raise _Rollback(report, keep)
        return keep

    try:
        keep = st.write(purge)
    except _Rollback as done:
        keep = done.keep
    if keep is not None:
        _remove_blobs(st, keep, grace_s, report)
    return report


def _purge_rows(conn: Connection, cutoff: float, report: GcReport) -> None:
    r, e = s.runs, s.experiments
    gone_experiments = select(e.c.id).where(e.c.deleted_at.is_not(None), e.c.deleted_at <= cutoff)
    doomed = select(r.c.id, r.c.session_id).where(
        (r.c.deleted_at.is_not(None) & (r.c.deleted_at <= cutoff)) | r.c.experiment_id.in_(gone_experiments)
    )
    rows = conn.execute(doomed.order_by(r.c.id)).all()
    report.runs = [rid for rid, _ in rows]
    counts = report.rows
    for chunk in _chunks(report.runs):
        for table in _RUN_TABLES:
            _count(counts, table, conn.execute(delete(table).where(table.c.run_id.in_(chunk))).rowcount)
        _count(counts, r, conn.execute(delete(r).where(r.c.id.in_(chunk))).rowcount)
    sessions = sorted({sid for _, sid in rows if sid})
    still_used = set()
    for chunk in _chunks(sessions):
        still_used |= set(conn.execute(select(r.c.session_id).where(r.c.session_id.in_(chunk))).scalars())
    orphans = [sid for sid in sessions if sid not in still_used]
    c = s.cells
    sources: set[str] = set()
    for chunk in _chunks(orphans):
        sources |= set(conn.execute(select(c.c.source_hash).where(c.c.session_id.in_(chunk))).scalars())
        for table in (s.cell_state, s.cells):
            _count(counts, table, conn.execute(delete(table).where(table.c.session_id.in_(chunk))).rowcount)
        fe = s.file_events  # a remaining run's own events stay, whatever session they name
        _count(counts, fe, conn.execute(delete(fe).where(fe.c.session_id.in_(chunk), fe.c.run_id.is_(None))).rowcount)
        _count(counts, s.sessions, conn.execute(delete(s.sessions).where(s.sessions.c.id.in_(chunk))).rowcount)
    candidates = sorted(sources)
    for chunk in _chunks(candidates):
        used = set(conn.execute(select(c.c.source_hash).where(c.c.source_hash.in_(chunk))).scalars())
        unused = [h for h in chunk if h not in used]
        if unused:
            _count(counts, s.sources, conn.execute(delete(s.sources).where(s.sources.c.hash.in_(unused))).rowcount)
    empty = select(e.c.id, e.c.name).where(
        e.c.id.in_(gone_experiments), ~e.c.id.in_(select(r.c.experiment_id))
    )
    gone = conn.execute(empty).all()
    report.experiments = sorted(name for _, name in gone)
    for chunk in _chunks([i for i, _ in gone]):
        _count(counts, e, conn.execute(delete(e).where(e.c.id.in_(chunk))).rowcount)


def _referenced_blobs(st: Store, conn: Connection, report: GcReport) -> set[str] | None:
    """Every blob hash a remaining row refers to; None if a snapshot could not be read (then
    nothing may be removed, as its files are unknown)."""
    keep: set[str] = set()
    for table, column in BLOB_REFERENCES:
        col = table.c[column]
        keep.update(conn.execute(select(col).where(col.is_not(None)).distinct()).scalars())
    snapshots = conn.execute(select(s.runs.c.snapshot_hash).where(s.runs.c.snapshot_hash.is_not(None)).distinct())
    for h in list(snapshots.scalars()):
        try:
            files = json.loads(st.get_blob(h))
        except NotFoundError:
            continue  # a missing snapshot lists nothing to keep
        except Exception as exc:
            report.blob_problem = f"the code snapshot {h} of a remaining run is unreadable ({exc})"
            return None
        if not isinstance(files, dict):
            report.blob_problem = f"the code snapshot {h} of a remaining run is not a {{path: hash}} object"
            return None
        keep.update(str(v) for v in files.values())
    return keep


def _remove_blobs(st: Store, keep: set[str], grace: float, report: GcReport) -> None:
    blobs = st.blobs
    now = time.time()
    for h in list(blobs.all_hashes()):
        if h in keep or len(h) != 32 or any(ch not in "0123456789abcdef" for ch in h):
            continue
        try:
            written = blobs.modified(h)
            if grace > 0 and (written is None or now - written < grace):
                report.recent_blobs_kept += 1
                continue
            report.bytes += blobs.size(h) if report.dry_run else blobs.delete(h)
        except (NotFoundError, FileNotFoundError):
            continue  # removed meanwhile
        report.blobs += 1


def _count(counts: dict[str, int], table: Any, n: int) -> None:
    counts[table.name] = counts.get(table.name, 0) + max(n or 0, 0)


def _chunks(items: list[str]) -> list[list[str]]:
    return [items[i : i + _CHUNK] for i in range(0, len(items), _CHUNK)]


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} bytes"
    size = float(n)
    for unit in ("KB", "MB", "GB"):
        size /= 1024
        if size < 1024 or unit == "GB":
            break
    return f"{size:.1f} {unit}"
