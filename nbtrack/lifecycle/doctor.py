"""``nbtrack doctor``: check a store's integrity and repair what can be repaired.

Checks, in order: the SQLite file itself (``PRAGMA integrity_check``), the schema version,
runs stuck ``running`` although their process is gone, ``latest_metrics`` against the metric
points it summarises, cells whose source is missing, blobs that rows refer to but that are
missing, and temporary files a writer left behind. Repairs: dead runs are marked ``killed``,
metric summaries are recomputed from the points, old temporary files are removed, an older
schema is migrated (with a backup). Lost data (a missing blob or source, a corrupt file) is
reported, never invented.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nbtrack.store import Store
    from nbtrack.store.integrity import MetricSummary

TMP_GRACE = 600.0  # a temporary blob file younger than this may belong to a writer still at work


@dataclass
class Finding:
    check: str
    status: str  # ok | problem | repaired | lost
    detail: str

    def line(self) -> str:
        mark = {
            "ok": "ok      ",
            "problem": "PROBLEM ",
            "repaired": "repaired",
            "lost": "LOST    ",
        }[self.status]
        return f"{mark}  {self.check}: {self.detail}"


@dataclass
class Report:
    store: str
    findings: list[Finding] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        """True when nothing is wrong any more (everything found was repaired)."""
        return all(f.status in ("ok", "repaired") for f in self.findings)

    def add(self, check: str, status: str, detail: str) -> None:
        self.findings.append(Finding(check, status, detail))

    def lines(self) -> list[str]:
        verdict = "healthy" if self.healthy else "needs attention"
        return [f"store {self.store}: {verdict}"] + [f"  {f.line()}" for f in self.findings]

    def to_json(self) -> dict[str, Any]:
        return {
            "store": self.store,
            "healthy": self.healthy,
            "findings": [f.__dict__ for f in self.findings],
        }


def doctor(url: str | os.PathLike[str] | None = None, repair: bool = False) -> Report:
    """Check the store at ``url`` (see :func:`nbtrack.store.resolve_url`); with ``repair``,
    fix what is fixable. Never raises for a damaged store: damage is what it reports."""
    from nbtrack.store import mask_url, no_store_error, resolve_url

    key = resolve_url(url)
    report = Report(mask_url(key))
    sqlite_path = (
        None
        if "://" in key and not key.startswith("sqlite")
        else os.path.join(key.removeprefix("sqlite:///"), "nbtrack.db")
    )
    if sqlite_path is not None:
        if not os.path.isfile(sqlite_path):
            raise no_store_error(os.path.dirname(sqlite_path))
        _wal(sqlite_path, report)  # first: a deleted WAL makes the file unreadable here
        if not _integrity(sqlite_path, report):
            return report  # nothing else can be trusted: salvage what is readable
    if not _schema(key, sqlite_path, report, repair):  # a server that does not answer: StoreError
        return report
    from nbtrack.store import Store

    store = Store(
        key, create=False
    )  # migrates an older schema (with a backup) when repair=True got here
    try:
        _dead_runs(store, report, repair)
        _latest_metrics(store, report, repair)
        _missing_sources(store, report)
        _missing_blobs(store, report)
        _tmp_files(store, report, repair)
        _journals(store, report, repair)
    finally:
        store.close()
    return report


SALVAGE_HINT = "nbtrack doctor --salvage NEW_FOLDER rebuilds a store from what is readable"


def _wal(path: str, report: Report) -> None:
    from nbtrack.store.durability import wal_problems

    problems = wal_problems(path)
    if problems:
        report.add("wal", "problem", "; ".join(problems))
    else:
        report.add("wal", "ok", "the write-ahead log is consistent and nobody writes a deleted one")


def _integrity(path: str, report: Report) -> bool:
    from nbtrack.store.durability import damage, integrity_check

    broken = damage(path, quick=False)  # a truncated file or a bad header, from the header
    if broken:
        report.add("integrity", "lost", f"the database file is damaged: {broken}; {SALVAGE_HINT}")
        return False
    rows = integrity_check(path)
    if isinstance(rows, str):
        report.add(
            "integrity",
            "lost",
            f"the database file cannot be read ({rows}); {SALVAGE_HINT}, or restore it from a backup",
        )
        return False
    if rows == ["ok"]:
        report.add("integrity", "ok", "PRAGMA integrity_check passed")
        return True
    shown = "; ".join(rows[:5]) + (f" (and {len(rows) - 5} more)" if len(rows) > 5 else "")
    report.add("integrity", "lost", f"the database file is damaged: {shown}; {SALVAGE_HINT}")
    return False


def _schema(key: str, sqlite_path: str | None, report: Report, repair: bool) -> bool:
    from nbtrack.store.integrity import SCHEMA_VERSION, NotAStore, schema_version_at

    try:
        version = schema_version_at(key, sqlite_path)
    except NotAStore:
        report.add("schema", "problem", "no meta table: this is not an nbtrack store")
        return False
    if version == SCHEMA_VERSION:
        report.add("schema", "ok", f"version {version}")
        return True
    if version is not None and version > SCHEMA_VERSION:
        report.add(
            "schema",
            "problem",
            f"version {version} is newer than this nbtrack ({SCHEMA_VERSION}); upgrade nbtrack",
        )
        return False
    if not repair:
        report.add(
            "schema",
            "problem",
            f"version {version}, older than {SCHEMA_VERSION}: --repair migrates it (with a backup)",
        )
        return False
    report.add("schema", "repaired", f"migrated from version {version} to {SCHEMA_VERSION}")
    return True


def _dead_runs(store: Store, report: Report, repair: bool) -> None:
    import socket

    from nbtrack.store.liveness import process_gone, running_runs

    here = socket.gethostname()
    dead, elsewhere = [], []
    for run in running_runs(store):
        if run.host != here:
            elsewhere.append(run.id)
        elif process_gone(run):
            dead.append(run.id)
    if dead and repair:
        store.detect_killed()
        report.add("runs", "repaired", f"{len(dead)} run(s) of dead processes marked killed")
    elif dead:
        report.add(
            "runs",
            "problem",
            f"{len(dead)} run(s) still 'running' though their process is gone: {', '.join(i[:8] for i in dead[:5])}",
        )
    else:
        note = f" ({len(elsewhere)} running on other hosts, not checked)" if elsewhere else ""
        report.add("runs", "ok", f"no run stuck in 'running'{note}")


def _latest_metrics(store: Store, report: Report, repair: bool) -> None:
    """``latest_metrics`` must equal what the points say: count, min, max and the latest value."""
    from nbtrack.store.integrity import metric_summaries, repair_metric_summaries

    if repair and not store.read_only:  # read and rewrite under the write lock: no stale read
        wrong = repair_metric_summaries(store, _same)
        if not wrong:
            report.add("metrics", "ok", "latest_metrics agrees with the points")
            return
        shown = ", ".join(f"{rid[:8]}/{key}" for rid, key in wrong[:5])
        report.add(
            "metrics",
            "repaired",
            f"latest_metrics recomputed from the points for {len(wrong)} pair(s): {shown}",
        )
        return
    want, have = metric_summaries(store)  # one snapshot
    wrong = sorted(k for k in set(want) | set(have) if not _same(want.get(k), have.get(k)))
    if not wrong:
        report.add(
            "metrics",
            "ok",
            f"latest_metrics agrees with the points of {len(want)} (run, metric) pairs",
        )
        return
    shown = ", ".join(f"{rid[:8]}/{key}" for rid, key in wrong[:5])
    report.add(
        "metrics",
        "problem",
        f"latest_metrics disagrees with the points for {len(wrong)} pair(s): {shown}",
    )


def _same(want: MetricSummary | None, have: MetricSummary | None) -> bool:
    """``want`` holds the possible latest values, ``have`` the one stored."""
    if want is None or have is None:
        return want is have
    pairs = (
        (want.step, have.step),
        (want.timestamp, have.timestamp),
        (want.min_value, have.min_value),
        (want.max_value, have.max_value),
        (want.count, have.count),
    )
    return have.values <= want.values and all(_close(x, y) for x, y in pairs)


def _close(x: Any, y: Any) -> bool:
    if isinstance(x, float) and isinstance(y, float):
        return x == y or abs(x - y) <= 1e-12 * max(abs(x), abs(y))
    return bool(x == y)


def _missing_sources(store: Store, report: Report) -> None:
    from nbtrack.store.integrity import cells_missing_source

    n = cells_missing_source(store)
    if n:
        report.add(
            "sources",
            "lost",
            f"{n} cell(s) refer to a source text that is missing; they cannot be shown or replayed",
        )
    else:
        report.add("sources", "ok", "every cell's source is present")


def _missing_blobs(store: Store, report: Report) -> None:
    import json

    from nbtrack.errors import NotFoundError
    from nbtrack.store.integrity import blob_references

    wanted, snapshots = blob_references(store)
    for h in snapshots:
        try:
            files = json.loads(store.get_blob(h))
            if isinstance(files, dict):
                wanted.update(str(v) for v in files.values())
        except (NotFoundError, ValueError):
            pass
    missing = sorted(h for h in wanted if not store.blobs.exists(h))
    if missing:
        report.add(
            "blobs",
            "lost",
            f"{len(missing)} blob(s) referred to are missing (e.g. {missing[0]}); restore the blob directory from a backup",
        )
    else:
        report.add("blobs", "ok", f"all {len(wanted)} referenced blobs are present")


def _journals(store: Store, report: Report, repair: bool) -> None:
    """Spill journals left by processes that exited while the store refused their points."""
    from nbtrack.store.spill import batches, left_behind, replay_file

    files = left_behind(store)
    if not files:
        report.add("journal", "ok", "no metric points wait in journal files")
        return
    if not repair:
        points = 0
        for path, _rid, _pid in files:
            try:
                points += sum(len(b) for b in batches(path))
            except OSError:
                pass
        report.add(
            "journal",
            "problem",
            f"{points:,} metric points of {len({f[1] for f in files})} run(s) wait in journal files "
            f"left by processes that exited (e.g. {files[0][0]}): --repair writes them",
        )
        return
    written, failed = 0, []
    for path, rid, _pid in files:
        try:
            written += replay_file(store, path, rid)
        except Exception as exc:
            failed.append(f"{path}: {exc}")
    if failed:
        report.add(
            "journal", "problem", f"wrote {written:,} points; not written: {'; '.join(failed[:3])}"
        )
    else:
        report.add(
            "journal",
            "repaired",
            f"wrote {written:,} metric points from {len(files)} journal file(s)",
        )


def _tmp_files(store: Store, report: Report, repair: bool) -> None:
    if not store.blobs.local or not os.path.isdir(store.blobs.root):
        report.add("tmp files", "ok", "nothing to check")
        return
    now = time.time()
    old = []
    for folder, _dirs, files in os.walk(store.blobs.root):
        for name in files:
            if name.endswith(".tmp"):
                path = os.path.join(folder, name)
                try:
                    if now - os.stat(path).st_mtime > TMP_GRACE:
                        old.append(path)
                except OSError:
                    pass
    if not old:
        report.add("tmp files", "ok", "no temporary files left behind")
    elif repair:
        for path in old:
            try:
                os.remove(path)
            except OSError:
                pass
        report.add(
            "tmp files",
            "repaired",
            f"removed {len(old)} temporary file(s) left by interrupted blob writes",
        )
    else:
        report.add(
            "tmp files", "problem", f"{len(old)} temporary file(s) left by interrupted blob writes"
        )


def salvage(url: str | os.PathLike[str] | None, out: str | os.PathLike[str]) -> Report:
    """Rebuild the SQLite store at ``url`` into a new store at ``out`` from what is readable
    (a truncated or byte-flipped file): every readable row of every table is copied, rows on
    unreadable pages are skipped and counted, metric summaries are recomputed from the points
    that survived, and the blobs are linked (or copied) across. The damaged store is left as
    it is."""
    import shutil
    import tempfile

    from nbtrack.errors import ValidationError as UsageError
    from nbtrack.store import Store, no_store_error, resolve_url
    from nbtrack.store.durability import TABLES, salvage_into
    from nbtrack.store.integrity import refill_summaries, repair_metric_summaries

    key = resolve_url(url)
    if "://" in key and not key.startswith("sqlite"):
        raise UsageError(
            "--salvage rebuilds an SQLite store; a PostgreSQL server has its own backups"
        )
    root = key.removeprefix("sqlite:///")
    src = os.path.join(root, "nbtrack.db")
    if not os.path.isfile(src):
        raise no_store_error(root)
    dest = os.path.abspath(os.fspath(out))
    if os.path.exists(dest) and (not os.path.isdir(dest) or os.listdir(dest)):
        raise UsageError(f"--salvage needs a new or empty folder, and {dest} is not empty")
    report = Report(dest)
    fresh = Store(dest)  # an empty store of this nbtrack's schema
    fresh.close()
    with tempfile.TemporaryDirectory(prefix="nbtrack-salvage-") as tmp:
        got = salvage_into(src, os.path.join(dest, "nbtrack.db"), tmp, TABLES)
    store = Store(dest, create=False)
    try:
        repair_metric_summaries(store, _same)
        refill_summaries(store)
    finally:
        store.close()
    blobs = os.path.join(root, "blobs")
    if os.path.isdir(blobs):
        shutil.rmtree(os.path.join(dest, "blobs"), ignore_errors=True)
        shutil.copytree(blobs, os.path.join(dest, "blobs"), copy_function=_link_or_copy)
    for table in TABLES:
        n, lost = got.copied.get(table, 0), got.unreadable.get(table, 0)
        if lost < 0 and not n:
            report.add(table, "lost", "the table's pages are gone: nothing could be read")
        elif lost < 0:
            report.add(table, "lost", f"{n:,} rows kept from its leaf pages, its tree was lost")
        elif lost:
            report.add(table, "lost", f"{n:,} rows kept, {lost:,} unreadable rows or pages skipped")
        else:
            report.add(table, "ok", f"{n:,} rows kept")
    return report


def _link_or_copy(src: str, dst: str) -> None:
    import shutil

    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)
