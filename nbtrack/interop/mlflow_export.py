"""Push nbtrack runs into an MLflow tracking store or server, idempotently.

An exported MLflow run carries the tag ``nbtrack.run_id``; exporting the same run again finds
it by that tag and only adds what MLflow lacks (new metric points, params, artifacts) and
refreshes tags and status, so nothing is duplicated. Parents are exported before their children,
which carry ``mlflow.parentRunId``; the run's user is set at creation (MLflow's ``user_id``);
datasets become dataset inputs (:mod:`.mlflow_datasets`). Params, tags and metrics go through
``log_batch`` within MLflow's per-call limits; the run's executed cells go along as
``nbtrack/cells.json`` and, when ``nbtrack.reproduce.export`` can render them, as a script and a notebook.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nbtrack.interop import mlflow_client as mc
from nbtrack.interop.mlflow_datasets import to_mlflow
from nbtrack.query.jsonsafe import millis
from nbtrack.redaction import redact_value

if TYPE_CHECKING:
    from nbtrack.store import Store


@dataclass
class Exported:
    """What happened to one run: ``created``, ``updated`` or ``unchanged``, and notes."""

    run_id: str
    mlflow_run_id: str
    action: str
    notes: list[str] = field(default_factory=list)


def export_runs(
    store: Store,
    run_ids: Sequence[str],
    tracking_uri: str,
    experiment: str | None = None,
    notify: Callable[[Exported], None] | None = None,
) -> list[Exported]:
    """Export nbtrack runs (full ids) to MLflow; ``experiment`` overrides each run's experiment
    name. A parent goes before its children whatever the order given, so that they can name it."""
    mlflow = mc.client(tracking_uri)
    out = []
    exported: dict[str, str] = {}  # nbtrack run id -> MLflow run id, for the children
    for rid in parents_first(store, run_ids):
        result = _export_one(store, mlflow, rid, experiment, exported)
        exported[rid] = result.mlflow_run_id
        out.append(result)
        if notify is not None:
            notify(result)
    return out


def parents_first(store: Store, run_ids: Sequence[str]) -> list[str]:
    """``run_ids`` reordered so that a run comes after its parent (and its parent's parent) when
    they are among them; otherwise in the order given."""
    parent_of = {r["id"]: r.get("parent_run_id") for r in store.run_summaries(list(run_ids))}
    ordered: list[str] = []
    placed: set[str] = set()
    for given in run_ids:
        chain: list[str] = []
        rid: str | None = given
        while rid is not None and rid not in placed and rid not in chain:
            chain.append(rid)
            parent = parent_of.get(rid)
            rid = parent if parent in parent_of else None
        for r in reversed(chain):
            if r not in placed:
                placed.add(r)
                ordered.append(r)
    return ordered


def _experiment_id(mlflow: Any, name: str) -> str:
    found = mlflow.get_experiment_by_name(name)
    if found is not None:
        if found.lifecycle_stage == "deleted":
            mlflow.restore_experiment(found.experiment_id)
        return str(found.experiment_id)
    try:
        return str(mlflow.create_experiment(name))
    except Exception:  # created meanwhile by another exporter
        found = mlflow.get_experiment_by_name(name)
        if found is None:
            raise
        return str(found.experiment_id)


def find_exported(mlflow: Any, experiment_id: str, nbtrack_id: str) -> Any | None:
    runs = mlflow.search_runs(
        [experiment_id], f"tags.`{mc.NBTRACK_RUN_TAG}` = {mc.quote(nbtrack_id)}", max_results=1
    )
    return runs[0] if runs else None


def _tags(store: Store, run: dict[str, Any]) -> dict[str, str]:
    tags = dict(run["tags"])
    tags.update({mc.NBTRACK_RUN_TAG: run["id"], "mlflow.runName": run["name"]})
    if run.get("user"):
        tags["mlflow.user"] = run["user"]
    tags.update(source_tags(store, run))
    if run.get("git_commit"):
        tags["mlflow.source.git.commit"] = run["git_commit"]
    if run.get("notes"):
        tags["mlflow.note.content"] = run["notes"]
    if run.get("parent_run_id"):
        tags["nbtrack.parent_run_id"] = run["parent_run_id"]
    return {k: redact_value(k, v)[:8000] for k, v in tags.items()}  # stores older than the redactor


def source_tags(store: Store, run: dict[str, Any]) -> dict[str, str]:
    """``mlflow.source.type``: NOTEBOOK for a run made in a kernel (or recorded from a notebook
    file), LOCAL for a script; ``mlflow.source.name`` the notebook's or script's path."""
    path = run.get("notebook_path")
    session = store.session(run["session_id"]) if run.get("session_id") else None
    in_kernel = session is not None and session.get("kind") == "kernel"
    notebook = in_kernel or (path or "").endswith(".ipynb")
    tags = {"mlflow.source.type": "NOTEBOOK" if notebook else "LOCAL"}
    if path:
        tags["mlflow.source.name"] = path
    return tags


def _export_one(
    store: Store, mlflow: Any, rid: str, experiment: str | None, exported: dict[str, str]
) -> Exported:
    from mlflow.entities import Metric, Param, RunTag

    (run,) = store.run_summaries([rid])
    exp_id = _experiment_id(mlflow, experiment or run["experiment"])
    tags = _tags(store, run)
    existing = find_exported(mlflow, exp_id, rid)
    notes: list[str] = []
    if existing is None:
        first = {mc.NBTRACK_RUN_TAG: rid}
        if run.get("user"):  # MLflow takes the run's user_id from this tag at creation only
            first["mlflow.user"] = run["user"]
        created = mlflow.create_run(
            exp_id, start_time=_ms(run["start_time"]), tags=first, run_name=run["name"]
        )
        mid, action = created.info.run_id, "created"
        have_params: dict[str, str] = {}
        have_tags: dict[str, str] = dict(created.data.tags)
        have_inputs: set[tuple[str, str]] = set()
    else:
        mid, action = existing.info.run_id, "unchanged"
        have_params, have_tags = dict(existing.data.params), dict(existing.data.tags)
        have_inputs = _inputs_of(mlflow, mid)
    parent_id = run.get("parent_run_id")
    if parent_id:
        parent_mid = exported.get(parent_id)
        if parent_mid is None:
            parent = find_exported(mlflow, exp_id, parent_id)
            parent_mid = parent.info.run_id if parent is not None else None
        if parent_mid is not None:
            tags["mlflow.parentRunId"] = parent_mid
        else:
            notes.append(f"parent {parent_id[:8]} is not in MLflow: export it to nest this run")

    params = []
    for k, v in sorted(run["params"].items()):
        if len(v) > mc.MAX_PARAM_VALUE:
            notes.append(f"param {k!r} cut to MLflow's {mc.MAX_PARAM_VALUE} characters")
            v = v[: mc.MAX_PARAM_VALUE]
        if k not in have_params:
            params.append(Param(k, v))
        elif have_params[k] != v:
            notes.append(
                f"param {k!r} differs in MLflow, where params cannot change; left as it was"
            )
    new_tags = [RunTag(k, v) for k, v in sorted(tags.items()) if have_tags.get(k) != v]
    metrics = _new_points(store, mlflow, rid, mid, fresh=existing is None)
    for param_batch in mc.chunks(params, mc.MAX_PARAMS_PER_BATCH):
        mlflow.log_batch(mid, params=param_batch)
    for tag_batch in mc.chunks(new_tags, mc.MAX_TAGS_PER_BATCH):
        mlflow.log_batch(mid, tags=tag_batch)
    for metric_batch in mc.chunks([Metric(*m) for m in metrics], mc.MAX_METRICS_PER_BATCH):
        mlflow.log_batch(mid, metrics=metric_batch)
    inputs = [to_mlflow(d) for d in store.datasets_of(rid)]
    inputs = [i for i in inputs if (i.dataset.name, i.dataset.digest) not in have_inputs]
    if inputs:
        mlflow.log_inputs(mid, datasets=inputs)
    artifacts = _artifacts(store, mlflow, run, mid, notes)
    if (params or new_tags or metrics or inputs or artifacts) and action == "unchanged":
        action = "updated"
    status = mc.TO_MLFLOW_STATUS[run["status"]]
    current = existing.info.status if existing is not None else "RUNNING"
    if status != "RUNNING" and (current != status or action == "created"):
        mlflow.set_terminated(
            mid, status=status, end_time=_ms(run["end_time"]) if run["end_time"] else None
        )
        action = "updated" if action == "unchanged" else action
    return Exported(rid, mid, action, notes)


def _inputs_of(mlflow: Any, mid: str) -> set[tuple[str, str]]:
    """(name, digest) of the dataset inputs an MLflow run has."""
    inputs = mlflow.get_run(mid).inputs
    return {(i.dataset.name, i.dataset.digest) for i in (inputs.dataset_inputs if inputs else [])}


def _ms(ts: float) -> int:
    return millis(ts)  # the one conversion search, ISO times and the runs DataFrame use


def _new_points(
    store: Store, mlflow: Any, rid: str, mid: str, fresh: bool
) -> list[tuple[str, float, int, int]]:
    """Metric points ``(key, value, timestamp ms, step)`` MLflow does not have yet."""
    out = []
    for key in store.metric_summary(rid):
        points = [
            (key, p["value"], _ms(p["timestamp"]), p["step"])
            for p in store.metric_history(rid, key)
        ]
        if not fresh:
            have = {
                (m.key, _same_nan(m.value), m.timestamp, m.step)
                for m in mlflow.get_metric_history(mid, key)
            }
            points = [p for p in points if (p[0], _same_nan(p[1]), p[2], p[3]) not in have]
        out.extend(points)
    return out


def _same_nan(v: float) -> Any:
    return "nan" if v != v else v


def _artifacts(store: Store, mlflow: Any, run: dict[str, Any], mid: str, notes: list[str]) -> int:
    """Log the run's artifacts, its cells as ``nbtrack/cells.json`` and its script and notebook
    exports under ``nbtrack/``, skipping files MLflow already holds; returns how many were logged."""
    have = _artifact_paths(mlflow, mid)
    files: dict[str, bytes] = {}
    for a in store.artifacts_of(run["id"]):
        if a["path"] not in have:
            files[a["path"]] = store.get_blob(a["blob_hash"])
    cells = store.run_cells(run)
    if "nbtrack/cells.json" not in have:
        files["nbtrack/cells.json"] = json.dumps(cells, indent=1, default=str).encode()
    with tempfile.TemporaryDirectory(prefix="nbtrack-mlflow-") as tmp:
        files.update(_exports(store, run, cells, tmp, have, notes))
        for path, data in sorted(files.items()):
            local = os.path.join(tmp, "files", path)
            os.makedirs(os.path.dirname(local), exist_ok=True)
            with open(local, "wb") as f:
                f.write(data)
            mlflow.log_artifact(mid, local, os.path.dirname(path) or None)
    return len(files)


def _exports(
    store: Store, run: dict[str, Any], cells: list[Any], tmp: str, have: set[str], notes: list[str]
) -> dict[str, bytes]:
    if not cells:
        notes.append("no recorded cells: no script or notebook export")
        return {}
    try:
        from nbtrack.reproduce.export import export_run
    except ImportError:
        notes.append("nbtrack.reproduce.export is not available: no script or notebook export")
        return {}
    out = {}
    for fmt, name in (("script", "nbtrack/run.py"), ("notebook", "nbtrack/run.ipynb")):
        if name in have:
            continue
        try:
            path = export_run(store, run["id"], fmt, os.path.join(tmp, os.path.basename(name)))
        except Exception as exc:
            notes.append(f"could not export the {fmt}: {exc}")
            continue
        with open(path, "rb") as f:
            out[name] = f.read()
    return out


def _artifact_paths(mlflow: Any, mid: str, path: str | None = None) -> set[str]:
    out: set[str] = set()
    for info in mlflow.list_artifacts(mid, path):
        if info.is_dir:
            out |= _artifact_paths(mlflow, mid, info.path)
        else:
            out.add(info.path)
    return out
