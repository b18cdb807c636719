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

from nbtrack.errors import NotFoundError, ValidationError
from nbtrack.outfiles import atomic_output, check_output
from nbtrack.store import open_store
from nbtrack.store.transfer import TABLES, add_rows, columns, rows_of_runs

if TYPE_CHECKING:
    from nbtrack.store import Store

FORMAT = "nbtrack-runs"
VERSION = 1
MANIFEST = "nbtrack-runs.json"


@dataclass
class ImportReport:
    runs: list[str] = field(default_factory=list)  # added
    skipped: list[str] = field(default_factory=list)  # already in the store
    rows: dict[str, int] = field(default_factory=dict)
    blobs: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "runs": self.runs,
            "skipped": self.skipped,
            "rows": dict(sorted(self.rows.items())),
            "blobs": self.blobs,
        }


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
    tables = rows_of_runs(st, ids)
    hashes = _blob_hashes(st, tables)
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "nbtrack": __version__,
        "exported": time.time(),
        "run_ids": ids,
        "tables": {t: len(rows) for t, rows in tables.items()},
        "blobs": sorted(hashes),
    }
    path = Path(output)
    with atomic_output(path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(MANIFEST, json.dumps(manifest, indent=1))
        for table, rows in tables.items():
            zf.writestr(
                f"tables/{table}.jsonl", "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows)
            )
        for h in sorted(hashes):
            zf.writestr(f"blobs/{h[:2]}/{h[2:]}", st.get_blob(h), zipfile.ZIP_STORED)
    return manifest


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
    tables, blobs = read_bundle(path)
    st = open_store(store, create=True)
    report = ImportReport()
    with zipfile.ZipFile(path) as zf:
        for h in blobs:
            if not _exists(st, h):
                st.put_blob(zf.read(f"blobs/{h[:2]}/{h[2:]}"))
                report.blobs += 1
    added = add_rows(st, tables)
    report.runs, report.skipped, report.rows = added.runs, added.skipped, added.rows
    return report


def read_bundle(path: str | os.PathLike[str]) -> tuple[dict[str, list[dict[str, Any]]], list[str]]:
    """The rows and blob hashes of a bundle, every part checked; ValidationError if anything is off."""
    from nbtrack.store.blobs import content_hash

    where = os.fspath(path)
    try:
        zf = zipfile.ZipFile(where)
    except (OSError, zipfile.BadZipFile) as exc:
        raise ValidationError(
            f"{where} is not an nbtrack runs bundle (a .zip from nbtrack export-runs): {exc}"
        ) from None
    with zf:
        try:
            manifest = json.loads(zf.read(MANIFEST))
        except KeyError:
            raise ValidationError(
                f"{where} has no {MANIFEST}: not made by nbtrack export-runs"
            ) from None
        except (ValueError, zipfile.BadZipFile, OSError) as exc:
            raise ValidationError(f"{where}: unreadable {MANIFEST}: {exc}") from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise ValidationError(
                f"{where} is not an nbtrack runs bundle (format {manifest.get('format') if isinstance(manifest, dict) else None!r})"
            )
        if manifest.get("version") != VERSION:
            raise ValidationError(
                f"{where} is bundle version {manifest.get('version')!r}; this nbtrack reads version {VERSION}"
            )
        tables = {t: _read_table(zf, where, t) for t in TABLES}
        counts = manifest.get("tables")
        if not isinstance(counts, dict):
            raise ValidationError(f"{where}: the manifest's table counts are malformed")
        for table, n in counts.items():
            if table not in tables or len(tables[table]) != n:
                raise ValidationError(
                    f"{where}: table {table} has {len(tables.get(table, []))} rows, the manifest says {n}"
                )
        blobs = manifest.get("blobs")
        if not isinstance(blobs, list) or not all(
            isinstance(h, str) and len(h) == 32 for h in blobs
        ):
            raise ValidationError(f"{where}: the manifest's blob list is malformed")
        for h in blobs:
            try:
                data = zf.read(f"blobs/{h[:2]}/{h[2:]}")
            except (KeyError, zipfile.BadZipFile, OSError) as exc:
                raise ValidationError(
                    f"{where}: blob {h} is missing or unreadable ({exc})"
                ) from None
            if content_hash(data) != h:
                raise ValidationError(
                    f"{where}: blob {h} is corrupt (its content hashes differently)"
                )
    for src in tables["sources"]:
        if not isinstance(src.get("text"), str) or content_hash(
            src["text"].encode("utf-8", "surrogatepass")
        ) != src.get("hash"):
            raise ValidationError(f"{where}: source {src.get('hash')!r} is corrupt")
    return tables, list(blobs)


def _read_table(zf: zipfile.ZipFile, where: str, table: str) -> list[dict[str, Any]]:
    fields = columns(table)
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
            raise ValidationError(
                f"{where}: tables/{table}.jsonl line {n} is not JSON ({exc})"
            ) from None
        if not isinstance(row, dict) or set(row) != fields:
            extra = sorted(set(row) - fields) if isinstance(row, dict) else []
            missing = sorted(fields - set(row)) if isinstance(row, dict) else []
            raise ValidationError(
                f"{where}: tables/{table}.jsonl line {n} does not match the {table} table "
                f"(unknown columns {extra}, missing {missing}); was it made by a newer nbtrack?"
            )
        rows.append(row)
    return rows
