"""The reads behind the API: a page of runs, one run in full, experiments, a metric series.

Plain functions over a :class:`~nbtrack.store.Store`, so the handlers, the tests and the
benchmark call the same code. Filtering and ordering go through :mod:`nbtrack.query.search` (the
query layer shared with the CLI) when it is installed.
"""

from __future__ import annotations

import json
import math
import time
from typing import Any

from sqlalchemy import func, select

from nbtrack.errors import NotFoundError, ValidationError
from nbtrack.store import Store
from nbtrack.store import schema as s

SUMMARY_FIELDS = (
    "id", "name", "experiment", "status", "start_time", "end_time", "user", "notes",
    "params", "metrics", "tags", "deleted_at", "replay_of", "reproduced", "notebook_path",
)


KILLED_CHECK_SECONDS = 5.0
_last_killed_check: dict[str, float] = {}


def detect_killed_now_and_then(store: Store) -> None:
    """``store.detect_killed()`` at most every few seconds: the sidebar polls, processes die rarely."""
    now = time.monotonic()
    if now - _last_killed_check.get(store.url, -1e9) >= KILLED_CHECK_SECONDS:
        _last_killed_check[store.url] = now
        store.detect_killed()


def json_number(value: Any) -> Any:
    """NaN and infinities as ``"NaN"``, ``"Infinity"``, ``"-Infinity"`` (JSON has no NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")
    return value


def summary(row: dict[str, Any]) -> dict[str, Any]:
    """The list view of a run: its identity, timing, params, latest metrics and tags."""
    out = {k: row.get(k) for k in SUMMARY_FIELDS}
    out["metrics"] = {k: json_number(v) for k, v in (row.get("metrics") or {}).items()}
    end = row.get("end_time")
    out["duration"] = (end - row["start_time"]) if end is not None else None
    return out


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
    """One page of runs, newest first unless ``order_by`` says otherwise."""
    try:
        from nbtrack.query.search import search_run_ids
    except ImportError:  # an installation without the query layer: newest first, unfiltered
        if filter_string or order_by:
            raise ValidationError("filtering and ordering need nbtrack.query.search, which this installation lacks") from None
        ids, next_token = _newest_first(store, experiments, max_results, page_token, include_deleted)
    else:
        detect_killed_now_and_then(store)
        ids, next_token = search_run_ids(
            store, filter_string or None, experiments or None, order_by or None, max_results, page_token,
            include_deleted=include_deleted,
        )
    runs = [summary(r) for r in store.run_summaries(list(ids))]
    return {"runs": runs, "next_page_token": next_token or None}


def _newest_first(
    store: Store, experiments: list[str] | None, limit: int, token: str | None, include_deleted: bool
) -> tuple[list[str], str | None]:
    """Ids newest first by offset paging: the query layer's stand-in for the unfiltered list."""
    try:
        offset = int(token) if token else 0
    except ValueError:
        raise ValidationError(f"page_token {(token or '')[:40]!r} is not one this server handed out") from None
    detect_killed_now_and_then(store)
    r, e = s.runs, s.experiments
    q = select(r.c.id).join(e, e.c.id == r.c.experiment_id)
    if experiments:
        q = q.where(e.c.name.in_(experiments))
    if not include_deleted:
        q = q.where(r.c.deleted_at.is_(None))
    q = q.order_by(r.c.start_time.desc(), r.c.id).limit(limit + 1).offset(max(offset, 0))
    ids = store.read(lambda conn: list(conn.execute(q).scalars()))
    more = len(ids) > limit
    return ids[:limit], (str(offset + limit) if more else None)


def run_detail(store: Store, ref: str) -> dict[str, Any]:
    """Everything the run view shows: summary, cells with code, metrics, artifacts, provenance."""
    run_id = store.resolve_run_id(ref)
    rows = store.run_summaries([run_id])
    if not rows:
        raise NotFoundError(f"no run with id {ref!r}")
    row = rows[0]
    out = summary(row)
    out["cells"] = store.run_cells(row)
    out["metric_summary"] = store.metric_summary(run_id)
    out["artifacts"] = [
        {"path": a["path"], "size": a["size"], "created": a["created"]} for a in store.artifacts_of(run_id)
    ]
    out["notebook"] = {
        "path": row.get("notebook_path"),
        "hash": row.get("notebook_hash"),
        "git_commit": row.get("git_commit"),
        "git_diff_hash": row.get("git_diff_hash"),
    }
    out["environment"] = environment(store, row.get("env_hash"))
    out["session"] = _session(store, row.get("session_id"))
    out["replays"] = replays_of(store, run_id)
    return out


def environment(store: Store, env_hash: str | None) -> dict[str, Any] | None:
    """The environment manifest a run recorded (a JSON blob), or ``None``."""
    if not env_hash:
        return None
    try:
        data = json.loads(store.get_blob(env_hash))
    except (NotFoundError, ValueError):
        return {"hash": env_hash}
    return data if isinstance(data, dict) else {"hash": env_hash, "value": data}


def _session(store: Store, session_id: str | None) -> dict[str, Any] | None:
    if not session_id:
        return None
    sess = store.session(session_id)
    if sess is None:
        return None
    return {k: sess.get(k) for k in ("id", "kind", "started", "host", "user", "cwd")}


def replays_of(store: Store, run_id: str) -> list[dict[str, Any]]:
    r = s.runs
    q = select(r.c.id, r.c.status, r.c.reproduced, r.c.start_time).where(r.c.replay_of == run_id)
    rows = store.read(lambda conn: conn.execute(q.order_by(r.c.start_time.desc())).mappings().all())
    return [dict(x) for x in rows]


def experiments(store: Store) -> list[dict[str, Any]]:
    """Experiments with their number of (not deleted) runs and when the latest started."""
    r, e = s.runs, s.experiments
    q = (
        select(e.c.name, func.count(r.c.id), func.max(r.c.start_time))
        .select_from(e.outerjoin(r, (r.c.experiment_id == e.c.id) & r.c.deleted_at.is_(None)))
        .where(e.c.deleted_at.is_(None))
        .group_by(e.c.name)
        .order_by(func.max(r.c.start_time).desc(), e.c.name)
    )
    rows = store.read(lambda conn: conn.execute(q).all())
    return [{"name": n, "runs": c, "last_start": t} for n, c, t in rows]


def metric_series(store: Store, ref: str, key: str, max_points: int | None) -> dict[str, Any]:
    """The history of one metric, downsampled to about ``max_points`` when it is longer."""
    run_id = store.resolve_run_id(ref)
    points = store.metric_history(run_id, key)
    if not points and key not in store.metric_summary(run_id):
        raise NotFoundError(f"run {run_id} has no metric {key!r}")
    total = len(points)
    if max_points and total > max_points:
        points = downsample(points, max_points)
    return {"run_id": run_id, "key": key, "total": total, "downsampled": len(points) < total, "points": points}


def downsample(points: list[dict[str, Any]], max_points: int) -> list[dict[str, Any]]:
    """At most ``max_points`` points keeping the shape: first, last, and each bucket's min and max.

    Min/max per bucket (in step order) keeps spikes that averaging would hide; NaN points
    are kept only when a bucket has nothing else.
    """
    n = len(points)
    if n <= max_points:
        return points
    max_points = max(max_points, 4)
    inner = points[1:-1]
    buckets = (max_points - 2) // 2
    out = [points[0]]
    for b in range(buckets):
        chunk = inner[b * len(inner) // buckets : (b + 1) * len(inner) // buckets]
        finite = [p for p in chunk if isinstance(p["value"], float) and math.isfinite(p["value"])]
        if not finite:
            out.extend(chunk[:1])
            continue
        lo = min(finite, key=lambda p: p["value"])
        hi = max(finite, key=lambda p: p["value"])
        out.extend(sorted({id(lo): lo, id(hi): hi}.values(), key=lambda p: (p["step"], p["timestamp"])))
    out.append(points[-1])
    return out
