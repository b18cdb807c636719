"""Bring MLflow runs into nbtrack, idempotently.

Each imported run keeps its name, experiment, status, times, user, params, tags (``mlflow.*``
included), full metric histories with steps and timestamps, artifacts and dataset inputs (as
datasets: :mod:`.mlflow_datasets`); it has no cells.
It takes the MLflow run's id when that id is free in the store, and carries the tag
``mlflow.run_id``, by which a second import recognises and skips it. MLflow runs that were
exported from this store (tag ``nbtrack.run_id`` naming one of its runs) are skipped too.
Blobs are written first and every row of a run in one transaction, so a failed import leaves
no half run behind and is simply repeated.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nbtrack.capture.ignore import denied_dir, denied_file
from nbtrack.errors import warn_failure
from nbtrack.interop import mlflow_client as mc
from nbtrack.interop.mlflow_datasets import from_mlflow
from nbtrack.redaction import redact_value

if TYPE_CHECKING:
    from nbtrack.store import Store


@dataclass
class Imported:
    """One MLflow run: ``imported`` (as ``run_id``), ``skipped`` (already there) or ``exported``
    (it came from this store)."""

    mlflow_run_id: str
    run_id: str
    action: str
    experiment: str
    name: str


def import_runs(
    store: Store,
    tracking_uri: str,
    experiment: str | None = None,
    notify: Callable[[Imported], None] | None = None,
) -> list[Imported]:
    """Import every active run of MLflow experiment ``experiment`` (default: all experiments)."""
    from nbtrack.errors import NotFoundError

    mlflow = mc.client(tracking_uri)
    if experiment is not None:
        found = mlflow.get_experiment_by_name(experiment)
        if found is None:
            raise NotFoundError(
                f"no MLflow experiment named {experiment!r} at {_masked(tracking_uri)}"
            )
        experiments = [found]
    else:
        experiments = list(mlflow.search_experiments())
    mapping = store.runs_by_tag(
        mc.MLFLOW_RUN_TAG
    )  # MLflow run id -> nbtrack run id of earlier imports
    local = set(store.list_run_ids(include_deleted=True))
    out = []
    for exp in experiments:
        for mrun in mc.all_runs(mlflow, [exp.experiment_id]):
            mid = mrun.info.run_id
            name = _printable(mrun.info.run_name or f"run-{mid[:8]}")
            if mid in mapping:
                result = Imported(mid, mapping[mid], "skipped", exp.name, name)
            elif mrun.data.tags.get(mc.NBTRACK_RUN_TAG) in local:
                result = Imported(
                    mid, mrun.data.tags[mc.NBTRACK_RUN_TAG], "exported", exp.name, name
                )
            else:
                rid = mid if _is_hex32(mid) and mid not in local else uuid.uuid4().hex
                _import_one(store, mlflow, mrun, exp, rid, mapping)
                mapping[mid] = rid
                local.add(rid)
                result = Imported(mid, rid, "imported", exp.name, name)
            out.append(result)
            if notify is not None:
                notify(result)
    return out


def _masked(url: str) -> str:
    from nbtrack.store.urls import mask_url

    return mask_url(url)


def _is_hex32(text: str) -> bool:
    return len(text) == 32 and all(c in "0123456789abcdef" for c in text)


def _printable(text: str) -> str:
    """MLflow's text without control characters (an ANSI escape would reach the terminal)."""
    return "".join(c if c.isprintable() else " " for c in text).strip()


def _import_one(
    store: Store, mlflow: Any, mrun: Any, exp: Any, rid: str, mapping: dict[str, str]
) -> None:
    info, data = mrun.info, mrun.data
    experiment = _printable(exp.name) or exp.experiment_id
    tags = {k: redact_value(k, v) for k, v in data.tags.items() if v is not None}
    tags[mc.MLFLOW_RUN_TAG] = info.run_id
    points: list[tuple[str, float, int, float, int | None]] = []
    for key in data.metrics:
        for m in mlflow.get_metric_history(info.run_id, key):
            points.append((m.key, float(m.value), int(m.step), m.timestamp / 1000.0, None))
    # blobs first: rows only point at written blobs
    artifacts = _artifacts(store, mlflow, info, exp.artifact_location)
    parent = tags.get("mlflow.parentRunId")
    start = (info.start_time or 0) / 1000.0
    row = {
        "id": rid,
        "name": _printable(info.run_name or f"run-{info.run_id[:8]}")[:256],
        "status": mc.FROM_MLFLOW_STATUS.get(info.status, "finished"),
        "start_time": start,
        "end_time": info.end_time / 1000.0 if info.end_time else None,
        "user": info.user_id or None,
        "parent_run_id": mapping.get(parent, parent) if parent else None,
        "notes": tags.get("mlflow.note.content"),
        # the notebook, or the script (LOCAL), that made the run
        "notebook_path": tags.get("mlflow.source.name")
        if tags.get("mlflow.source.type") in ("NOTEBOOK", "LOCAL")
        else None,
        "git_commit": tags.get("mlflow.source.git.commit"),
    }
    inputs = mrun.inputs if mrun.inputs is not None else mlflow.get_run(info.run_id).inputs
    datasets = [from_mlflow(i) for i in (inputs.dataset_inputs if inputs else [])]
    params = {k: redact_value(k, v) for k, v in data.params.items()}
    store.add_run(row, experiment, params, tags, points, artifacts, datasets)


def _artifacts(store: Store, mlflow: Any, info: Any, root: str | None) -> list[dict[str, Any]]:
    """Download the MLflow run's artifacts into the blob store; their artifact rows.

    Only a run whose artifact URI lies under its experiment's artifact location is read (a run
    row pointing at another directory, say ``~/.ssh``, would copy that directory in); secret
    files (nbtrack's snapshot deny list) are left out, and an artifact that cannot be read is
    skipped with a warning rather than ending the import."""
    mid = info.run_id
    if not _under(info.artifact_uri or "", root or ""):
        warn_failure(
            f"MLflow run {mid[:8]}: its artifact location {info.artifact_uri!r} is outside its "
            f"experiment's ({root!r}); its artifacts are not imported"
        )
        return []
    out = []
    with tempfile.TemporaryDirectory(prefix="nbtrack-mlflow-") as tmp:
        for path in sorted(_files(mlflow, mid)):
            parts = path.split("/")
            if denied_file(parts[-1]) or any(denied_dir(p) for p in parts[:-1]):
                warn_failure(f"MLflow run {mid[:8]}: artifact {path!r} looks secret; not imported")
                continue
            try:
                local = mlflow.download_artifacts(mid, path, tmp)
                with open(local, "rb") as f:
                    data = f.read()
                os.remove(local)
            except Exception as exc:
                warn_failure(f"MLflow run {mid[:8]}: artifact {path!r} could not be read", exc)
                continue
            out.append({"path": path, "blob_hash": store.put_blob(data), "size": len(data)})
    return out


def _under(uri: str, root: str) -> bool:
    """Whether artifact URI ``uri`` lies under ``root`` (local paths compared as real paths)."""
    from urllib.parse import unquote, urlparse

    def local(u: str) -> str | None:
        parsed = urlparse(u)
        if parsed.scheme in ("", "file") or len(parsed.scheme) == 1:  # a Windows drive letter
            path = unquote(parsed.path) if parsed.scheme == "file" else u
            return os.path.realpath(path)
        return None

    a, b = local(uri), local(root)
    if a is not None and b is not None:
        return a == b or a.startswith(b.rstrip(os.sep) + os.sep)
    return bool(root) and (uri == root or uri.startswith(root.rstrip("/") + "/"))


def _files(mlflow: Any, mid: str, path: str | None = None) -> list[str]:
    try:
        listed = mlflow.list_artifacts(mid, path)
    except Exception as exc:
        warn_failure(
            f"MLflow run {mid[:8]}: artifacts under {path or '/'!r} could not be listed", exc
        )
        return []
    out: list[str] = []
    for info in listed:
        out.extend(_files(mlflow, mid, info.path) if info.is_dir else [info.path])
    return out
