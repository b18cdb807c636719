"""The one read model of a run, for every view: the CLI, the server API and the widgets.

:func:`run_summary` is a run in a listing, :func:`read_run` a run in full (with the session's
environment when the run recorded none), :mod:`nbtrack.query.series` its metric series. Numbers
are JSON-safe (:func:`~nbtrack.query.jsonsafe.json_number`) and times UNIX seconds; the CLI's
JSON (``runs --format json``, ``show --json``) is the same read with ISO 8601 times.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

from nbtrack.errors import NotFoundError
from nbtrack.query.jsonsafe import iso, json_number, number_text
from nbtrack.query.models import models_of

if TYPE_CHECKING:
    from nbtrack.store import Store

__all__ = [
    "environment_of",
    "iso",
    "json_number",
    "load_run",
    "number_text",
    "page_of_runs",
    "read_run",
    "replays_of",
    "run_detail",
    "run_directory",
    "run_environment",
    "run_failure",
    "run_record",
    "run_summaries",
    "run_summary",
]

SUMMARY_FIELDS = (
    "id",
    "name",
    "experiment",
    "status",
    "start_time",
    "end_time",
    "user",
    "notes",
    "parent_run_id",
    "replay_of",
    "reproduced",
    "deleted_at",
    "notebook_path",
)
CLI_CELL_FIELDS = (
    "index",
    "execution_count",
    "cell_id",
    "source",
    "status",
    "error",
    "in_run",
    "state",
    "start_time",
    "end_time",
    "created",
    "changed",
    "deleted",
)


# -- listings -------------------------------------------------------------------------------
def run_summary(row: dict[str, Any]) -> dict[str, Any]:
    """A run in a listing (a ``Store.run_summaries`` row): identity, timing, params, latest
    metrics (JSON-safe) and tags. ``duration`` is ``None`` while the run has not ended."""
    out = {k: row.get(k) for k in SUMMARY_FIELDS}
    end = row.get("end_time")
    out["duration"] = end - row["start_time"] if end is not None else None
    out["params"] = dict(sorted(row["params"].items()))
    out["metrics"] = {k: json_number(v) for k, v in sorted(row["metrics"].items())}
    out["tags"] = dict(sorted(row["tags"].items()))
    return out


def run_summaries(store: Store, run_ids: list[str]) -> list[dict[str, Any]]:
    """:func:`run_summary` of each run of ``run_ids`` that exists, in that order."""
    return [run_summary(r) for r in store.run_summaries(run_ids)]


def page_of_runs(
    store: Store,
    *,
    filter_string: str = "",
    experiments: list[str] | None = None,
    order_by: list[str] | None = None,
    max_results: int = 100,
    page_token: str | None = None,
    include_deleted: bool = False,
) -> dict[str, Any]:
    """One page of run summaries matching the filter language, newest first unless ``order_by``
    says otherwise: ``{"runs", "next_page_token"}``."""
    from nbtrack.query.search import search_run_ids

    ids, next_token = search_run_ids(
        store,
        filter_string or None,
        experiments or None,
        order_by or None,
        max_results,
        page_token,
        include_deleted=include_deleted,
    )
    return {"runs": run_summaries(store, ids), "next_page_token": next_token or None}


def run_record(row: dict[str, Any]) -> dict[str, Any]:
    """A run in ``nbtrack runs --format json``: :func:`run_summary` with ISO times."""
    return _cli_summary(run_summary(row))


def _cli_summary(run: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": run["id"],
        "name": run["name"],
        "experiment": run["experiment"],
        "status": run["status"],
        "start_time": iso(run["start_time"]),
        "end_time": iso(run["end_time"]),
        "duration": run["duration"],
        "user": run["user"],
        "parent_run_id": run["parent_run_id"],
        "replay_of": run["replay_of"],
        "reproduced": run["reproduced"],
        "deleted": run["deleted_at"] is not None,
        "params": run["params"],
        "metrics": run["metrics"],
        "tags": run["tags"],
    }


# -- one run in full ------------------------------------------------------------------------
def read_run(store: Store, run_id: str) -> dict[str, Any]:
    """Everything about one run (a full id): :func:`run_summary` and ``metric_summary``
    (``{key: {latest, min, max, step, count}}``), ``cells`` (the executed-cell sequence with code
    and state), ``notebook`` (path, hash, git commit and diff), ``environment`` (the run's manifest,
    else its session's), ``session``, ``artifacts``, ``models`` (``log_model``'s, with the Python
    that loads each), ``inputs`` (files read), ``datasets``
    (``log_input``: ``{name, digest, context, schema, rows, source, kind}``), ``replays`` and
    ``failure`` (:func:`run_failure`)."""
    row = load_run(store, run_id)
    out = run_summary(row)
    out["failure"] = run_failure(row)
    out["metric_summary"] = {
        k: {f: json_number(v) for f, v in m.items()}
        for k, m in store.metric_summary(run_id).items()
    }
    out["cells"] = store.run_cells(row)
    out["notebook"] = {
        "path": row.get("notebook_path"),
        "hash": row.get("notebook_hash"),
        "git_commit": row.get("git_commit"),
        "git_diff_hash": row.get("git_diff_hash"),
    }
    out["environment"] = run_environment(store, row)
    out["session"] = _session(store, row.get("session_id"))
    out["artifacts"] = [
        {"path": a["path"], "size": a["size"], "hash": a["blob_hash"], "created": a["created"]}
        for a in store.artifacts_of(run_id)
    ]
    out["models"] = models_of(store, run_id, out["artifacts"])
    out["inputs"] = [
        {"path": f["path"], "mode": f["mode"], "hash": f["hash"], "size": f["size"]}
        for f in store.file_events_of(row)
        if f["mode"] in ("input", "read")
    ]
    out["datasets"] = store.datasets_of(run_id)
    out["replays"] = replays_of(store, run_id)
    return out


def run_detail(store: Store, run_id: str) -> dict[str, Any]:
    """One run as ``nbtrack show RUN --json`` prints it: :func:`read_run` with ISO times."""
    run = read_run(store, run_id)
    record = _cli_summary(run)
    record["notes"] = run["notes"]
    record["metric_summary"] = run["metric_summary"]
    record["cells"] = [
        {
            **{k: c[k] for k in CLI_CELL_FIELDS},
            "start_time": iso(c["start_time"]),
            "end_time": iso(c["end_time"]),
        }
        for c in run["cells"]
    ]
    nb = run["notebook"]
    record["notebook"] = {
        "path": nb["path"],
        "hash": nb["hash"],
        "git_commit": nb["git_commit"],
        "git_dirty": nb["git_diff_hash"] is not None,
        "git_diff_hash": nb["git_diff_hash"],
    }
    record["environment"] = run["environment"]
    record["artifacts"] = [
        {"path": a["path"], "size": a["size"], "hash": a["hash"]} for a in run["artifacts"]
    ]
    record["inputs"] = run["inputs"]
    record["models"] = run["models"]
    record["datasets"] = run["datasets"]
    record["failure"] = run["failure"]
    return record


FAILURE_FIELDS = ("type", "message", "line", "lineno", "execution_count")


def run_failure(row: dict[str, Any]) -> dict[str, Any] | None:
    """The exception a failed run ended with: ``{type, message, line, lineno, execution_count}``
    (``line`` the failing line's text, ``lineno`` its number in the cell as the user sees it,
    either ``None`` when unknown); ``None`` when the run did not fail or failed unrecorded."""
    raw = row.get("failure")
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(value, dict):
        return None
    return {k: value.get(k) for k in FAILURE_FIELDS}


def run_environment(store: Store, run: dict[str, Any]) -> dict[str, Any] | None:
    """The environment manifest of a run, else of the session it ran in; ``{"hash": h}`` when
    one was recorded but cannot be read, ``None`` when none was."""
    env_hash = run.get("env_hash")
    if not env_hash and run.get("session_id"):
        env_hash = (store.session(run["session_id"]) or {}).get("env_hash")
    if not env_hash:
        return None
    env = environment_of(store, env_hash)
    if env is None:
        return {"hash": env_hash}
    return env if isinstance(env, dict) else {"hash": env_hash, "value": env}


def environment_of(store: Store, env_hash: str | None) -> Any:
    """The environment manifest (a JSON blob) stored under ``env_hash``; ``None`` when unreadable."""
    if not env_hash:
        return None
    try:
        return json.loads(store.get_blob(env_hash))
    except Exception:
        return None


def replays_of(store: Store, run_id: str) -> list[dict[str, Any]]:
    """The runs that replayed ``run_id``, newest first: ``{id, name, status, reproduced, start_time}``."""
    from sqlalchemy import select

    from nbtrack.store import schema as s

    r = s.runs
    q = (
        select(r.c.id, r.c.name, r.c.status, r.c.reproduced, r.c.start_time)
        .where(r.c.replay_of == run_id)
        .order_by(r.c.start_time.desc())
    )
    return [dict(x) for x in store.read(lambda conn: conn.execute(q).mappings().all())]


def _session(store: Store, session_id: str | None) -> dict[str, Any] | None:
    sess = store.session(session_id) if session_id else None
    if sess is None:
        return None
    return {k: sess.get(k) for k in ("id", "kind", "started", "host", "user", "cwd")}


def load_run(store: Store, run_id: str) -> dict[str, Any]:
    """The ``Store.run_summaries`` row of one run (a full id)."""
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
