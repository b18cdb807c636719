"""``nbtrack gc``: purge deleted runs for good and remove the blobs nothing refers to any more.

As MLflow's ``gc``, only runs already deleted are purged (``older_than``: deleted at least
that long ago), together with the runs of deleted experiments. Their rows go (runs, params,
tags, metrics, latest_metrics, artifacts, file_events), then the sessions no remaining run
points at with their cells, cell state, file events and the sources no remaining cell uses.

Blobs are removed only when no remaining row refers to them
(:data:`nbtrack.store.gc.BLOB_REFERENCES`, plus the files listed in every remaining code
snapshot), and only when written more than ``grace`` seconds ago: a run still being recorded
stores blobs before the row that will refer to them. The rows are :mod:`nbtrack.store.gc`'s.
An SQLite store's write-ahead log is then checkpointed (``TRUNCATE``, when no other process
is writing) and its planner statistics refreshed (``PRAGMA optimize``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nbtrack.errors import NotFoundError
from nbtrack.store import open_store
from nbtrack.store.durability import checkpoint, optimize
from nbtrack.store.gc import purge_deleted
from nbtrack.timespec import parse_duration

if TYPE_CHECKING:
    from nbtrack.store import Store

DEFAULT_GRACE = 3600.0


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
            "dry_run": self.dry_run,
            "runs": self.runs,
            "experiments": self.experiments,
            "rows": dict(sorted(self.rows.items())),
            "blobs": self.blobs,
            "bytes": self.bytes,
            "recent_blobs_kept": self.recent_blobs_kept,
            "blob_problem": self.blob_problem,
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
            out.append(
                f"kept {self.recent_blobs_kept} unreferenced blob(s) written in the grace period"
            )
        if self.blob_problem:
            out.append(f"no blob removed: {self.blob_problem}")
        return out


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
    purge = purge_deleted(st, cutoff, dry_run=dry_run)
    report = GcReport(
        runs=purge.runs,
        experiments=purge.experiments,
        rows=purge.rows,
        blob_problem=purge.problem,
        dry_run=dry_run,
    )
    if purge.keep is not None:
        _remove_blobs(st, purge.keep, grace_s, report)
    if not dry_run:  # the freed pages leave the write-ahead log; fresh planner statistics
        checkpoint(st)
        optimize(st)
    return report


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


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} bytes"
    size = float(n)
    for unit in ("KB", "MB", "GB"):
        size /= 1024
        if size < 1024 or unit == "GB":
            break
    return f"{size:.1f} {unit}"
