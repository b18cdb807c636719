"""Many runs as one portable ``.zip`` between stores (``nbtrack export-runs`` / ``import-runs``).

Members::

    nbtrack-runs.json        format, version, nbtrack version, export time, run ids,
                             rows per table and the blob hashes inside
    tables/<table>.jsonl     one JSON object per row: experiments (by name), runs (with
                             ``experiment`` instead of the store's experiment id), params,
                             tags, metrics, latest_metrics, artifacts, file_events, sessions,
                             cells, cell_state, sources
    blobs/<h[:2]>/<h[2:]>    artifacts, notebook snapshots, environments, code snapshots and
                             the files they list

Ids are kept, so importing twice adds nothing: a run already in the target store is
skipped with all its rows, sessions/cells/sources are added only where missing. The bundle
is read and checked in full (JSON, columns, every blob's content hash) before anything is
written, and the rows go in one transaction, so a bad bundle leaves the store's rows as they
were (blobs are written first; any a failed import leaves behind, ``nbtrack gc`` removes).
"""

from __future__ import annotations

import json
import os
import time
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, insert, select

from nbtrack.errors import NotFoundError, ValidationError
from nbtrack.outfiles import atomic_output, check_output
from nbtrack.store import open_store
from nbtrack.store import schema as s
from nbtrack.store.summary import fill_summaries

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from nbtrack.store import Store

FORMAT = "nbtrack-runs"
VERSION = 1
MANIFEST = "nbtrack-runs.json"
_RUN_TABLES = ("params", "tags", "metrics", "latest_metrics", "artifacts")
TABLES = ("experiments", "runs", *_RUN_TABLES, "file_events", "sessions", "cells", "cell_state", "sources")
_CHUNK = 500


@dataclass
class ImportReport:
    runs: list[str] = field(default_factory=list)  # added
    skipped: list[str] = field(default_factory=list)  # already in the store
    rows: dict[str, int] = field(default_factory=dict)
    blobs: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"runs": self.runs, "skipped": self.skipped, "rows": dict(sorted(self.rows.items())), "blobs": self.blobs}


# -- export ---------------------------------------------------------------------------------
def export_runs(
    output: str | os.PathLike[str],
    run_ids: Iterable[str] = (),
    *,
    filter_string: str | None = None,
    experiment_names: Sequence[str] | None = None,
    store: Store | str | None = None,
) -> dict[str, Any]:
    """Write the named runs, or those matching ``filter_string`` / ``experiment_names`` (every
    live run when neither is given), to the bundle ``output``; returns its manifest."""
    from nbtrack.query.search import search_run_ids
    from nbtrack.version import __version__

    check_output(Path(output), "runs.zip")
    st = open_store(store, create=False)
    refs = [run_ids] if isinstance(run_ids, str) else list(run_ids)
    if refs:
        if filter_string or experiment_names:
            raise ValidationError("name runs or select them with a filter / experiment, not both")
        ids = list(dict.fromkeys(st.resolve_run_id(r) for r in refs))
    else:
        ids, _ = search_run_ids(st, filter_string, experiment_names, ["attributes.start_time ASC"])
    if not ids:
        raise NotFoundError("no run matches; nothing to export")
    tables = st.read(lambda conn: _rows_of(conn, ids))
    hashes = _blob_hashes(st, tables)
    manifest = {
        "format": FORMAT, "version": VERSION, "nbtrack": __version__, "exported": time.time(),
        "run_ids": ids, "tables": {t: len(rows) for t, rows in tables.items()}, "blobs": sorted(hashes),
    }
    path = Path(output)
    with atomic_output(path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(MANIFEST, json.dumps(manifest, indent=1))
        for table, rows in tables.items():
            zf.writestr(f"tables/{table}.jsonl", "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))
        for h in sorted(hashes):
            zf.writestr(f"blobs/{h[:2]}/{h[2:]}", st.get_blob(h), zipfile.ZIP_STORED)
    return manifest


def _rows_of(conn: Connection, ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    r, e = s.runs, s.experiments
    out: dict[str, list[dict[str, Any]]] = {t: [] for t in TABLES}

    def fetch(query: Any) -> list[dict[str, Any]]:
        return [dict(row) for row in conn.execute(query).mappings()]

    for chunk in _chunks(ids):
        for row in fetch(select(r, e.c.name.label("experiment")).join(e, e.c.id == r.c.experiment_id).where(r.c.id.in_(chunk))):
            row.pop("experiment_id")
            out["runs"].append(row)
        for name in _RUN_TABLES:
            table = s.metadata.tables[name]
            out[name] += fetch(select(table).where(table.c.run_id.in_(chunk)))
    names = sorted({row["experiment"] for row in out["runs"]})
    out["experiments"] = fetch(select(e.c.name, e.c.created, e.c.deleted_at).where(e.c.name.in_(names)).order_by(e.c.name))
    # a run's cells are its session's cells up to its end_seq (all of them while it has none)
    bound: dict[str, int | None] = {}
    for row in out["runs"]:
        sid = row["session_id"]
        if sid:
            end = row["end_seq"]
            bound[sid] = None if end is None or (sid in bound and bound[sid] is None) else max(end, bound.get(sid) or end)
    sessions = sorted(bound)
    for chunk in _chunks(sessions):
        out["sessions"] += fetch(select(s.sessions).where(s.sessions.c.id.in_(chunk)))
    for table in (s.cells, s.cell_state):
        for sid in sessions:
            cond = table.c.session_id == sid
            if bound[sid] is not None:
                cond = and_(cond, table.c.seq <= bound[sid])
            out[table.name] += fetch(select(table).where(cond).order_by(*table.primary_key.columns))
    fe = s.file_events
    for chunk in _chunks(ids):
        out["file_events"] += fetch(select(fe).where(fe.c.run_id.in_(chunk)))
    for sid in sessions:
        cond = and_(fe.c.session_id == sid, fe.c.run_id.is_(None), fe.c.seq.is_not(None))
        if bound[sid] is not None:
            cond = and_(cond, fe.c.seq <= bound[sid])
        out["file_events"] += fetch(select(fe).where(cond))
    hashes = sorted({c["source_hash"] for c in out["cells"]})
    for chunk in _chunks(hashes):
        out["sources"] += fetch(select(s.sources).where(s.sources.c.hash.in_(chunk)))
    return out


def _blob_hashes(st: Store, tables: dict[str, list[dict[str, Any]]]) -> set[str]:
    """The blobs the exported rows refer to and the store has (a notebook snapshot that
    failed to save, say, is simply not there)."""
    wanted = {a["blob_hash"] for a in tables["artifacts"]}
    for row in tables["runs"]:
        wanted.update(row[k] for k in ("notebook_hash", "env_hash", "snapshot_hash") if row[k])
    wanted.update(row["env_hash"] for row in tables["sessions"] if row["env_hash"])
    for row in tables["runs"]:
        if row["snapshot_hash"] and _exists(st, row["snapshot_hash"]):
            wanted.update(json.loads(st.get_blob(row["snapshot_hash"])).values())
    return {h for h in wanted if _exists(st, h)}


def _exists(st: Store, h: str) -> bool:
    try:
        return bool(st.blobs.exists(h))
    except NotFoundError:  # not a blob hash at all
        return False


# -- import ---------------------------------------------------------------------------------
def import_runs(path: str | os.PathLike[str], *, store: Store | str | None = None) -> ImportReport:
    """Add the runs of bundle ``path`` to the store (created if missing), skipping those it has."""
    from nbtrack.store import open_store

    tables, blobs = read_bundle(path)
    st = open_store(store, create=True)
    report = ImportReport()
    with zipfile.ZipFile(path) as zf:
        for h in blobs:
            if not _exists(st, h):
                st.put_blob(zf.read(f"blobs/{h[:2]}/{h[2:]}"))
                report.blobs += 1
    st.write(lambda conn: _insert(st, conn, tables, report))
    return report


def read_bundle(path: str | os.PathLike[str]) -> tuple[dict[str, list[dict[str, Any]]], list[str]]:
    """The rows and blob hashes of a bundle, every part checked; ValidationError if anything is off."""
    from nbtrack.store.blobs import content_hash

    where = os.fspath(path)
    try:
        zf = zipfile.ZipFile(where)
    except (OSError, zipfile.BadZipFile) as exc:
        raise ValidationError(f"{where} is not an nbtrack runs bundle (a .zip from nbtrack export-runs): {exc}") from None
    with zf:
        try:
            manifest = json.loads(zf.read(MANIFEST))
        except KeyError:
            raise ValidationError(f"{where} has no {MANIFEST}: not made by nbtrack export-runs") from None
        except (ValueError, zipfile.BadZipFile, OSError) as exc:
            raise ValidationError(f"{where}: unreadable {MANIFEST}: {exc}") from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise ValidationError(f"{where} is not an nbtrack runs bundle (format {manifest.get('format') if isinstance(manifest, dict) else None!r})")
        if manifest.get("version") != VERSION:
            raise ValidationError(f"{where} is bundle version {manifest.get('version')!r}; this nbtrack reads version {VERSION}")
        tables = {t: _read_table(zf, where, t) for t in TABLES}
        counts = manifest.get("tables")
        if not isinstance(counts, dict):
            raise ValidationError(f"{where}: the manifest's table counts are malformed")
        for table, n in counts.items():
            if table not in tables or len(tables[table]) != n:
                raise ValidationError(f"{where}: table {table} has {len(tables.get(table, []))} rows, the manifest says {n}")
        blobs = manifest.get("blobs")
        if not isinstance(blobs, list) or not all(isinstance(h, str) and len(h) == 32 for h in blobs):
            raise ValidationError(f"{where}: the manifest's blob list is malformed")
        for h in blobs:
            try:
                data = zf.read(f"blobs/{h[:2]}/{h[2:]}")
            except (KeyError, zipfile.BadZipFile, OSError) as exc:
                raise ValidationError(f"{where}: blob {h} is missing or unreadable ({exc})") from None
            if content_hash(data) != h:
                raise ValidationError(f"{where}: blob {h} is corrupt (its content hashes differently)")
    for src in tables["sources"]:
        if not isinstance(src.get("text"), str) or content_hash(src["text"].encode("utf-8", "surrogatepass")) != src.get("hash"):
            raise ValidationError(f"{where}: source {src.get('hash')!r} is corrupt")
    return tables, list(blobs)


def _read_table(zf: zipfile.ZipFile, where: str, table: str) -> list[dict[str, Any]]:
    columns = set(s.metadata.tables[table].c.keys())
    if table == "runs":
        columns = (columns - {"experiment_id"}) | {"experiment"}
    elif table == "experiments":
        columns -= {"id"}
    try:
        text = zf.read(f"tables/{table}.jsonl").decode("utf-8")
    except KeyError:
        raise ValidationError(f"{where}: tables/{table}.jsonl is missing") from None
    except (zipfile.BadZipFile, OSError, UnicodeDecodeError) as exc:
        raise ValidationError(f"{where}: tables/{table}.jsonl is unreadable ({exc})") from None
    rows = []
    for n, line in enumerate(text.splitlines(), 1):
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise ValidationError(f"{where}: tables/{table}.jsonl line {n} is not JSON ({exc})") from None
        if not isinstance(row, dict) or set(row) != columns:
            extra = sorted(set(row) - columns) if isinstance(row, dict) else []
            missing = sorted(columns - set(row)) if isinstance(row, dict) else []
            raise ValidationError(
                f"{where}: tables/{table}.jsonl line {n} does not match the {table} table "
                f"(unknown columns {extra}, missing {missing}); was it made by a newer nbtrack?"
            )
        rows.append(row)
    return rows


def _insert(st: Store, conn: Connection, tables: dict[str, list[dict[str, Any]]], report: ImportReport) -> None:
    """Everything missing from the store, in the caller's transaction."""
    r, e = s.runs, s.experiments
    counts = report.rows

    def add(table: Any, rows: list[dict[str, Any]]) -> None:
        if rows:
            for i in range(0, len(rows), _CHUNK):
                conn.execute(insert(table), rows[i : i + _CHUNK])
            counts[table.name] = counts.get(table.name, 0) + len(rows)

    ids = [row["id"] for row in tables["runs"]]
    have = set()
    for chunk in _chunks(ids):
        have |= set(conn.execute(select(r.c.id).where(r.c.id.in_(chunk))).scalars())
    new_runs = [row for row in tables["runs"] if row["id"] not in have]
    report.runs = [row["id"] for row in new_runs]
    report.skipped = [i for i in ids if i in have]
    new_ids = set(report.runs)

    exp_ids = dict(conn.execute(select(e.c.name, e.c.id)).all())
    add(e, [x for x in tables["experiments"] if x["name"] not in exp_ids])
    exp_ids = dict(conn.execute(select(e.c.name, e.c.id)).all())
    missing = {row["experiment"] for row in new_runs} - set(exp_ids)
    if missing:
        raise ValidationError(f"the bundle's runs name experiments it does not carry: {sorted(missing)}")

    sessions = [x for x in tables["sessions"] if x["id"]]
    have_sessions = set()
    for chunk in _chunks([x["id"] for x in sessions]):
        have_sessions |= set(conn.execute(select(s.sessions.c.id).where(s.sessions.c.id.in_(chunk))).scalars())
    add(s.sessions, [x for x in sessions if x["id"] not in have_sessions])

    add(r, [{**{k: v for k, v in row.items() if k != "experiment"}, "experiment_id": exp_ids[row["experiment"]]} for row in new_runs])
    for name in _RUN_TABLES:
        add(s.metadata.tables[name], [x for x in tables[name] if x["run_id"] in new_ids])

    st.put_sources(conn, [x["text"] for x in tables["sources"]])
    c = s.cells
    have_cells: set[tuple[str, int]] = set()
    for sid in {x["session_id"] for x in tables["cells"]}:
        have_cells |= {(sid, seq) for seq in conn.execute(select(c.c.seq).where(c.c.session_id == sid)).scalars()}
    new_cells = [x for x in tables["cells"] if (x["session_id"], x["seq"]) not in have_cells]
    add(c, new_cells)
    added = {(x["session_id"], x["seq"]) for x in new_cells}
    add(s.cell_state, [x for x in tables["cell_state"] if (x["session_id"], x["seq"]) in added])
    add(s.file_events, [
        x for x in tables["file_events"]
        if x["run_id"] in new_ids or (x["run_id"] is None and (x["session_id"], x["seq"]) in added)
    ])
    fill_summaries(conn)


def _chunks(items: list[str]) -> list[list[str]]:
    return [items[i : i + _CHUNK] for i in range(0, len(items), _CHUNK)]
