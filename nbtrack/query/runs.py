"""JSON-ready records of runs, shared by the CLI, the server API and the widgets."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from typing import TYPE_CHECKING, Any

from nbtrack.errors import NotFoundError

if TYPE_CHECKING:  # the CLI's table imports number_text without loading SQLAlchemy
    from nbtrack.store import Store


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def json_number(x: float) -> float | str:
    """JSON has no NaN/inf: they become the strings "NaN", "Infinity", "-Infinity"."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return x


def number_text(x: float) -> str:
    """A metric value as text, the way the widgets' tables show it: plain notation with six
    significant digits (37209, 0.937063, 12.5), exponent notation only below 1e-4 or from 1e7."""
    if math.isnan(x) or math.isinf(x):
        return str(json_number(x))
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    if abs(x) < 1e-4 or abs(x) >= 1e7:
        mantissa, exponent = f"{x:.4e}".split("e")
        return f"{mantissa.rstrip('0').removesuffix('.')}e{exponent}"
    text = repr(float(f"{x:.6g}"))  # repr, not .6g: 1234567.0 stays 1234570, not 1.23457e+06
    return text.removesuffix(".0")


def run_record(row: dict[str, Any]) -> dict[str, Any]:
    """The summary of a run, as ``nbtrack runs --format json`` prints it."""
    duration = (row["end_time"] or 0) - row["start_time"] if row.get("end_time") else None
    return {
        "id": row["id"],
        "name": row["name"],
        "experiment": row["experiment"],
        "status": row["status"],
        "start_time": iso(row["start_time"]),
        "end_time": iso(row.get("end_time")),
        "duration": duration,
        "user": row.get("user"),
        "parent_run_id": row.get("parent_run_id"),
        "replay_of": row.get("replay_of"),
        "reproduced": row.get("reproduced"),
        "deleted": row.get("deleted_at") is not None,
        "params": dict(sorted(row["params"].items())),
        "metrics": {k: json_number(v) for k, v in sorted(row["metrics"].items())},
        "tags": dict(sorted(row["tags"].items())),
    }


def run_detail(store: Store, run_id: str) -> dict[str, Any]:
    """Everything about one run, as ``nbtrack show RUN --json`` prints it."""
    (row,) = store.run_summaries([run_id])
    record = run_record(row)
    record["notes"] = row.get("notes")
    record["metric_summary"] = {
        k: {kk: json_number(vv) if isinstance(vv, float) else vv for kk, vv in summ.items()}
        for k, summ in store.metric_summary(run_id).items()
    }
    record["cells"] = [
        {k: c[k] for k in ("index", "execution_count", "cell_id", "source", "status", "error", "in_run", "state",
                           "start_time", "end_time", "created", "changed", "deleted")}
        for c in store.run_cells(row)
    ]
    for c in record["cells"]:
        c["start_time"], c["end_time"] = iso(c["start_time"]), iso(c["end_time"])
    record["notebook"] = {
        "path": row.get("notebook_path"),
        "hash": row.get("notebook_hash"),
        "git_commit": row.get("git_commit"),
        "git_dirty": row.get("git_diff_hash") is not None,
        "git_diff_hash": row.get("git_diff_hash"),
    }
    record["environment"] = environment_of(store, row.get("env_hash"))
    record["artifacts"] = [
        {"path": a["path"], "size": a["size"], "hash": a["blob_hash"]} for a in store.artifacts_of(run_id)
    ]
    record["inputs"] = [
        {"path": f["path"], "mode": f["mode"], "hash": f["hash"], "size": f["size"]}
        for f in store.file_events_of(row)
        if f["mode"] in ("input", "read")
    ]
    return record


def environment_of(store: Store, env_hash: str | None) -> dict[str, Any] | None:
    if not env_hash:
        return None
    try:
        return json.loads(store.get_blob(env_hash))
    except Exception:
        return None


def load_run(store: Store, run_id: str) -> dict[str, Any]:
    rows = store.run_summaries([run_id])
    if not rows:
        raise NotFoundError(f"no run with id {run_id!r}")
    return rows[0]


def run_directory(store: Store, run: dict[str, Any], *, must_exist: bool = True) -> str | None:
    """The directory the run's cells ran in: the notebook's, else the kernel's working directory
    (with ``must_exist``, the first that exists here, else the current directory)."""
    candidates = []
    if run.get("notebook_path"):
        candidates.append(os.path.dirname(run["notebook_path"]))
    session = store.session(run["session_id"]) if run.get("session_id") else None
    if session and session.get("cwd"):
        candidates.append(session["cwd"])
    if not must_exist:
        return candidates[0] if candidates else None
    return next((d for d in candidates if os.path.isdir(d)), os.getcwd())
