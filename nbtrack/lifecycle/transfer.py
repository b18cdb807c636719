"""Many runs as one portable ``.zip`` between stores (``nbtrack export-runs`` / ``import-runs``).

Members::

    nbtrack-runs.json        format, version, nbtrack version, export time, run ids,
                             rows per table, the blob hashes inside and ``contents``: every
                             member with its size and what it is (a snapshot's file names)
    tables/<table>.jsonl     one JSON object per row: experiments (by name), runs (with
                             ``experiment`` instead of the store's experiment id), params,
                             tags, metrics, latest_metrics, artifacts, datasets, file_events,
                             sessions, cells, cell_state, sources
    blobs/<h[:2]>/<h[2:]>    artifacts, notebook snapshots, environments, code snapshots and
                             the files they list

The export lists its contents (``on_contents``, and the manifest) before it writes.

A bundle made before a table or column existed still imports: a missing ``datasets`` member
is no datasets, a run row without ``failure`` a run without a recorded failure
(``LATER_TABLES``, ``LATER_COLUMNS``).

Ids are kept, so importing twice adds nothing: a run already in the target store is
skipped with all its rows, sessions/cells/sources are added only where missing.

An import checks the bundle in full before it writes anything: JSON, columns and their types,
every row as the logging API checks it (ids are hex, run and experiment names are printable
text without newlines, params/tags/metric keys are names, values within their limits; params
and tags are redacted as when logged, and so are ``%%track`` lines in sources), the counts,
every blob's content hash. A bad row is a ValidationError naming its member, line and the
problem. The rows then go in one transaction, so a bad bundle leaves the store's rows as they
were (blobs are written first; any a failed import leaves behind, ``nbtrack gc`` removes).

Memory is bounded: members are streamed line by line (a line, that is a row, of at most
``MAX_LINE`` bytes), blobs hashed in chunks and stored one at a time (a blob of at most
``NBTRACK_IMPORT_MAX_BLOB_MB``, default 1024), and the rows inserted in chunks; what is held
is a run's row and id per run and a key per cell, never a whole table.
"""

from __future__ import annotations

import functools
import json
import os
import re
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbtrack.errors import NotFoundError, ValidationError
from nbtrack.outfiles import atomic_output, check_output
from nbtrack.redaction import redact_text, redact_track_line
from nbtrack.store import open_store
from nbtrack.store.transfer import TABLES, add_rows, check_columns, columns, rows_of_runs
from nbtrack.validation import (
    check_label,
    check_metric_value,
    check_name,
    check_param,
    check_step,
    check_tag,
)

if TYPE_CHECKING:
    from nbtrack.store import Store

FORMAT = "nbtrack-runs"
VERSION = 1
MANIFEST = "nbtrack-runs.json"
MAX_LINE = 64 << 20  # bytes of one row in a member (a 16 M-character cell source, say)
MAX_MANIFEST = 64 << 20
_CHUNK = 1 << 20
STATUSES = ("running", "finished", "failed", "killed")
MODES = ("read", "write", "input")
_HEX_ID = re.compile(r"^[0-9a-f]{32}$")
_HEX = re.compile(r"^[0-9a-f]{1,64}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
Contents = list[dict[str, Any]]
# what version-1 bundles made before them lack: tables (no rows) and columns (NULL)
LATER_TABLES = ("datasets",)
LATER_COLUMNS = {"runs": frozenset({"failure"})}
DATASET_KINDS = ("dataframe", "array", "file", "other")


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
    on_contents: Callable[[Contents], None] | None = None,
) -> dict[str, Any]:
    """Write the named runs, or those matching ``filter_string`` / ``experiment_names`` (every
    live run when neither is given), to the bundle ``output``; returns its manifest.

    ``on_contents`` receives, before anything is written, the members with their size and what
    they are (``[{name, size, what}]``, e.g. ``snapshot file conf/settings.yaml (run 1a2b3c4d)``):
    the manifest's ``contents``."""
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
    blobs = _blobs(st, tables)
    texts = {
        t: "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows).encode()
        for t, rows in tables.items()
    }
    contents: Contents = [
        {"name": f"tables/{t}.jsonl", "size": len(text), "what": f"{len(tables[t])} {t} rows"}
        for t, text in texts.items()
    ]
    contents += sorted(
        (
            {"name": f"blobs/{h[:2]}/{h[2:]}", "size": st.blobs.size(h), "what": what}
            for h, what in blobs.items()
        ),
        key=lambda c: (c["what"], c["name"]),
    )
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "nbtrack": __version__,
        "exported": time.time(),
        "run_ids": ids,
        "tables": {t: len(rows) for t, rows in tables.items()},
        "blobs": sorted(blobs),
        "contents": contents,
    }
    if on_contents is not None:
        on_contents(contents)
    path = Path(output)
    with atomic_output(path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(MANIFEST, json.dumps(manifest, indent=1))
        for table, text in texts.items():
            zf.writestr(f"tables/{table}.jsonl", text)
        for h in sorted(blobs):
            zf.writestr(f"blobs/{h[:2]}/{h[2:]}", st.get_blob(h), zipfile.ZIP_STORED)
    return manifest


def _blobs(st: Store, tables: dict[str, list[dict[str, Any]]]) -> dict[str, str]:
    """``{hash: what it is}`` of the blobs the exported rows refer to and the store has (a
    notebook snapshot that failed to save, say, is simply not there)."""
    wanted: dict[str, str] = {}
    for a in tables["artifacts"]:
        wanted.setdefault(a["blob_hash"], f"artifact {a['path']} (run {a['run_id'][:8]})")
    for row in tables["runs"]:
        run = f"(run {row['id'][:8]})"
        for key, what in (
            ("notebook_hash", "notebook"),
            ("env_hash", "environment"),
            ("snapshot_hash", "code snapshot list"),
        ):
            if row[key]:
                wanted.setdefault(row[key], f"{what} {run}")
    for row in tables["sessions"]:
        if row["env_hash"]:
            wanted.setdefault(row["env_hash"], "environment")
    for row in tables["runs"]:
        if row["snapshot_hash"] and _exists(st, row["snapshot_hash"]):
            files = json.loads(st.get_blob(row["snapshot_hash"]))
            for name, h in sorted(files.items()):
                wanted.setdefault(h, f"snapshot file {name} (run {row['id'][:8]})")
    return {h: what for h, what in wanted.items() if _exists(st, h)}


def _exists(st: Store, h: str) -> bool:
    try:
        return bool(st.blobs.exists(h))
    except NotFoundError:  # not a blob hash at all
        return False


# -- import ---------------------------------------------------------------------------------
def max_blob() -> int:
    """The largest blob an import loads (``NBTRACK_IMPORT_MAX_BLOB_MB``, default 1024 MB)."""
    raw = os.environ.get("NBTRACK_IMPORT_MAX_BLOB_MB")
    try:
        return int(float(raw) * (1 << 20)) if raw else 1 << 30
    except ValueError:
        raise ValidationError(
            f"NBTRACK_IMPORT_MAX_BLOB_MB must be a number of megabytes, got {raw!r}"
        ) from None


def import_runs(path: str | os.PathLike[str], *, store: Store | str | None = None) -> ImportReport:
    """Add the runs of bundle ``path`` to the store (created if missing), skipping those it has;
    the whole bundle is checked first (see the module docstring)."""
    where = os.fspath(path)
    with _open(where) as zf:
        bundle = _Bundle(zf, where)
        bundle.check()
        st = open_store(store, create=True)
        report = ImportReport()
        for h in bundle.blobs:
            if not _exists(st, h):
                st.put_blob(bundle.blob(h))
                report.blobs += 1
        added = add_rows(st, bundle.rows)
    report.runs, report.skipped, report.rows = added.runs, added.skipped, added.rows
    return report


def read_bundle(path: str | os.PathLike[str]) -> tuple[dict[str, list[dict[str, Any]]], list[str]]:
    """The rows (checked and redacted, as an import stores them) and blob hashes of a bundle;
    ValidationError if anything is off. Holds every row in memory: imports stream instead."""
    where = os.fspath(path)
    with _open(where) as zf:
        bundle = _Bundle(zf, where)
        bundle.check()
        return {t: list(bundle.rows(t)) for t in TABLES}, list(bundle.blobs)


def _open(where: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(where)
    except (OSError, zipfile.BadZipFile) as exc:
        raise ValidationError(
            f"{where} is not an nbtrack runs bundle (a .zip from nbtrack export-runs): {exc}"
        ) from None


class _Bundle:
    """One open bundle, read member by member as often as needed."""

    def __init__(self, zf: zipfile.ZipFile, where: str) -> None:
        self.zf, self.where = zf, where
        self.blobs: list[str] = []
        self.renamed: dict[str, str] = {}  # source hash -> hash of its redacted text
        self.listed: set[str] = set()  # the tables the manifest counts

    def check(self) -> None:
        """Everything, before anything is written: manifest, rows, counts, blobs."""
        from nbtrack.store.blobs import content_hash

        where, zf = self.where, self.zf
        try:
            info = zf.getinfo(MANIFEST)
        except KeyError:
            raise ValidationError(
                f"{where} has no {MANIFEST}: not made by nbtrack export-runs"
            ) from None
        if info.file_size > MAX_MANIFEST:
            raise ValidationError(f"{where}: {MANIFEST} is {info.file_size:,} bytes, too large")
        try:
            manifest = json.loads(zf.read(MANIFEST))
        except (ValueError, zipfile.BadZipFile, OSError) as exc:
            raise ValidationError(f"{where}: unreadable {MANIFEST}: {exc}") from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            found = manifest.get("format") if isinstance(manifest, dict) else None
            raise ValidationError(f"{where} is not an nbtrack runs bundle (format {found!r})")
        if manifest.get("version") != VERSION:
            raise ValidationError(
                f"{where} is bundle version {manifest.get('version')!r}; this nbtrack reads version {VERSION}"
            )
        counts = manifest.get("tables")
        if not isinstance(counts, dict):
            raise ValidationError(f"{where}: the manifest's table counts are malformed")
        self.listed = set(counts)
        blobs = manifest.get("blobs")
        if not isinstance(blobs, list) or not all(
            isinstance(h, str) and _HEX_ID.match(h) for h in blobs
        ):
            raise ValidationError(f"{where}: the manifest's blob list is malformed")
        for src in self._lines("sources"):
            text = src.get("text")
            if not isinstance(text, str) or content_hash(
                text.encode("utf-8", "surrogatepass")
            ) != src.get("hash"):
                raise ValidationError(f"{where}: source {src.get('hash')!r} is corrupt")
            clean = redact_track_line(text)
            if clean != text:
                self.renamed[src["hash"]] = content_hash(clean.encode("utf-8", "surrogatepass"))
        for table in TABLES:
            n = sum(1 for _ in self.rows(table))
            if table in counts and counts[table] != n:
                raise ValidationError(
                    f"{where}: table {table} has {n} rows, the manifest says {counts[table]}"
                )
        for table in counts:
            if table not in TABLES:
                raise ValidationError(f"{where}: the manifest names an unknown table {table!r}")
        limit = max_blob()
        for h in blobs:
            name = f"blobs/{h[:2]}/{h[2:]}"
            try:
                size = zf.getinfo(name).file_size
                if size > limit:
                    raise ValidationError(
                        f"{where}: blob {h} is {size:,} bytes, over NBTRACK_IMPORT_MAX_BLOB_MB "
                        f"({limit >> 20:,} MB)"
                    )
                got = _stream_hash(zf, name)
            except (KeyError, zipfile.BadZipFile, OSError) as exc:
                raise ValidationError(
                    f"{where}: blob {h} is missing or unreadable ({exc})"
                ) from None
            if got != h:
                raise ValidationError(
                    f"{where}: blob {h} is corrupt (its content hashes differently)"
                )
        self.blobs = list(blobs)

    def blob(self, h: str) -> bytes:
        return self.zf.read(f"blobs/{h[:2]}/{h[2:]}")

    def rows(self, table: str) -> Iterator[dict[str, Any]]:
        """The rows of ``table``, checked and cleaned as the logging API would store them."""
        clean = _CLEAN.get(table)
        member = f"tables/{table}.jsonl"
        for n, row in enumerate(self._lines(table), 1):
            try:
                check_columns(table, row)
                if clean is not None:
                    row = clean(row)
                if table == "cells" and row["source_hash"] in self.renamed:
                    row["source_hash"] = self.renamed[row["source_hash"]]
                elif table == "sources" and row["hash"] in self.renamed:
                    row["text"] = redact_track_line(row["text"])
                    row["hash"] = self.renamed[row["hash"]]
            except ValidationError as exc:
                raise ValidationError(
                    f"{self.where}: {member} line {n}{_which(row)}: {exc}"
                ) from None
            yield row

    def _lines(self, table: str) -> Iterator[dict[str, Any]]:
        """The JSON objects of ``tables/<table>.jsonl``, one line at a time, their columns
        those of ``table``."""
        fields = columns(table)
        member = f"tables/{table}.jsonl"
        where = self.where
        try:
            raw = self.zf.open(member)
        except KeyError:
            if table in LATER_TABLES and table not in self.listed:
                return  # a bundle from before the table: no rows
            raise ValidationError(f"{where}: {member} is missing") from None
        except (zipfile.BadZipFile, OSError) as exc:
            raise ValidationError(f"{where}: {member} is unreadable ({exc})") from None
        later = LATER_COLUMNS.get(table, frozenset())
        with raw as f:
            n = 0
            while True:
                try:
                    line = f.readline(MAX_LINE + 1)
                except (zipfile.BadZipFile, OSError, EOFError) as exc:
                    raise ValidationError(f"{where}: {member} is unreadable ({exc})") from None
                if not line:
                    return
                n += 1
                if len(line) > MAX_LINE:
                    raise ValidationError(
                        f"{where}: {member} line {n} is longer than {MAX_LINE >> 20} MB"
                    )
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except ValueError as exc:
                    raise ValidationError(
                        f"{where}: {member} line {n} is not JSON ({exc})"
                    ) from None
                if isinstance(row, dict) and later and set(row) != fields:
                    for name in (fields - set(row)) & later:  # from before the column
                        row[name] = None
                if not isinstance(row, dict) or set(row) != fields:
                    extra = sorted(set(row) - fields) if isinstance(row, dict) else []
                    missing = sorted(fields - set(row)) if isinstance(row, dict) else []
                    raise ValidationError(
                        f"{where}: {member} line {n} does not match the {table} table "
                        f"(unknown columns {extra}, missing {missing}); was it made by a newer nbtrack?"
                    )
                yield row


def _stream_hash(zf: zipfile.ZipFile, name: str) -> str:
    import xxhash

    h = xxhash.xxh3_128()
    with zf.open(name) as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return str(h.hexdigest())


def _which(row: dict[str, Any]) -> str:
    for key in ("id", "run_id", "session_id", "name", "hash"):
        value = row.get(key) if isinstance(row, dict) else None
        if isinstance(value, str):
            return f" ({key} {value[:40]!r})"
    return ""


# -- the checks of each table's rows: the logging API's, on what an import would store -------
def _hex_id(kind: str, value: Any, *, nullable: bool = False) -> None:
    if (value is None and nullable) or (isinstance(value, str) and value in _good_ids):
        return
    if not isinstance(value, str) or not _HEX_ID.match(value):
        raise ValidationError(f"{kind} must be 32 hex digits, got {value!r:.60}")
    if len(_good_ids) < 100_000:  # the same few run and session ids come on every row
        _good_ids.add(value)


_good_ids: set[str] = set()


@functools.lru_cache(maxsize=4096)
def _metric_key(key: str) -> str:
    return check_name("metric", key)


def _hex(kind: str, value: Any) -> None:
    if value is not None and (not isinstance(value, str) or not _HEX.match(value)):
        raise ValidationError(f"{kind} must be hex digits, got {value!r:.60}")


def _printable(kind: str, value: Any) -> None:
    if isinstance(value, str) and _CONTROL.search(value):
        raise ValidationError(f"{kind} {value[:80]!r} contains control characters")


def _run(row: dict[str, Any]) -> dict[str, Any]:
    _hex_id("run id", row["id"])
    for key in ("parent_run_id", "replay_of", "session_id"):
        _hex_id(key, row[key], nullable=True)
    row["name"] = check_label("run name", row["name"])
    row["experiment"] = check_label("experiment name", row["experiment"])
    if row["status"] not in STATUSES:
        raise ValidationError(
            f"status must be one of {', '.join(STATUSES)}, got {row['status']!r:.40}"
        )
    for key in ("notebook_hash", "env_hash", "snapshot_hash", "git_diff_hash", "git_commit"):
        _hex(key, row[key])
    for key in ("user", "notebook_path"):
        _printable(key, row[key])
    if row["notes"] is not None:
        row["notes"] = redact_text(row["notes"])
    if row["failure"] is not None:
        _json_object("failure", row["failure"])
    return row


def _json_object(kind: str, text: str) -> None:
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise ValidationError(f"{kind} must be a JSON object, got {text[:60]!r}")


def _experiment(row: dict[str, Any]) -> dict[str, Any]:
    row["name"] = check_label("experiment name", row["name"])
    return row


def _param(row: dict[str, Any]) -> dict[str, Any]:
    _hex_id("run id", row["run_id"])
    row["key"], row["value"] = check_param(row["key"], row["value"])
    return row


def _tag(row: dict[str, Any]) -> dict[str, Any]:
    _hex_id("run id", row["run_id"])
    row["key"], row["value"] = check_tag(row["key"], row["value"])
    return row


def _metric(row: dict[str, Any]) -> dict[str, Any]:
    _hex_id("run id", row["run_id"])
    key = _metric_key(row["key"])
    check_step(key, row["step"])
    if row["value"] is not None:  # NULL stands for NaN
        check_metric_value(key, row["value"])
    return row


def _artifact(row: dict[str, Any]) -> dict[str, Any]:
    _hex_id("run id", row["run_id"])
    _hex_id("blob hash", row["blob_hash"])
    path = row["path"]
    parts = path.replace("\\", "/").split("/")
    if not path or path.startswith("/") or ".." in parts:
        raise ValidationError(f"artifact path {path[:80]!r} must be relative, without '..'")
    _printable("artifact path", path)
    return row


def _dataset(row: dict[str, Any]) -> dict[str, Any]:
    _hex_id("run id", row["run_id"])
    row["name"] = check_label("dataset name", row["name"])
    if row["context"] is not None:
        row["context"] = check_label("dataset context", row["context"])
    _printable("dataset digest", row["digest"])  # an MLflow dataset's digest is its own text
    _printable("dataset source", row["source"])
    if row["kind"] not in DATASET_KINDS:
        raise ValidationError(
            f"dataset kind must be one of {', '.join(DATASET_KINDS)}, got {row['kind']!r:.40}"
        )
    if row["schema"] is not None:
        try:
            json.loads(row["schema"])
        except ValueError:
            raise ValidationError(
                f"dataset schema must be JSON, got {row['schema'][:60]!r}"
            ) from None
    if row["rows"] is not None and row["rows"] < 0:
        raise ValidationError(f"dataset rows must not be negative, got {row['rows']}")
    return row


def _session(row: dict[str, Any]) -> dict[str, Any]:
    _hex_id("session id", row["id"])
    _hex("env_hash", row["env_hash"])
    for key in ("kind", "host", "user", "cwd"):
        _printable(key, row[key])
    return row


def _cell(row: dict[str, Any]) -> dict[str, Any]:
    _hex_id("session id", row["session_id"])
    _hex_id("source hash", row["source_hash"])
    if row["status"] not in ("ok", "error"):
        raise ValidationError(f"cell status must be ok or error, got {row['status']!r:.40}")
    return row


def _cell_state(row: dict[str, Any]) -> dict[str, Any]:
    _hex_id("session id", row["session_id"])
    _printable("variable name", row["name"])
    return row


def _file_event(row: dict[str, Any]) -> dict[str, Any]:
    _hex_id("session id", row["session_id"])
    _hex_id("run id", row["run_id"], nullable=True)
    _hex("hash", row["hash"])
    if row["mode"] not in MODES:
        raise ValidationError(
            f"file mode must be one of {', '.join(MODES)}, got {row['mode']!r:.40}"
        )
    return row


def _source(row: dict[str, Any]) -> dict[str, Any]:
    _hex_id("source hash", row["hash"])
    return row


def _latest(row: dict[str, Any]) -> dict[str, Any]:
    _hex_id("run id", row["run_id"])
    check_name("metric", row["key"])
    return row


_CLEAN: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "experiments": _experiment,
    "runs": _run,
    "params": _param,
    "tags": _tag,
    "metrics": _metric,
    "latest_metrics": _latest,
    "artifacts": _artifact,
    "datasets": _dataset,
    "sessions": _session,
    "cells": _cell,
    "cell_state": _cell_state,
    "file_events": _file_event,
    "sources": _source,
}
