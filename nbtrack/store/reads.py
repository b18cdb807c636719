"""What the views and the query layer read of runs: ids, summaries with params, latest
metrics and tags, the executed-cell sequence with its state, metric histories, artifacts,
files and sessions. Reads never write (liveness is :mod:`nbtrack.store.liveness`)."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, select
from sqlalchemy.engine import Connection

from nbtrack.errors import NotFoundError, ValidationError
from nbtrack.store import schema as s
from nbtrack.store.dialect import chunks
from nbtrack.store.urls import mask_url

if TYPE_CHECKING:
    from nbtrack.store.sql import Store


def _none_to_nan(v: float | None) -> float:
    return math.nan if v is None else v  # NULL stands for NaN


def resolve_run_id(store: Store, ref: str) -> str:
    """A full run id from a unique prefix of one."""
    ref = ref.strip().lower()
    if not ref or not all(c in "0123456789abcdef" for c in ref):
        raise ValidationError(
            f"not a run id: {ref!r} (run ids are hexadecimal, a unique prefix will do)"
        )
    q = select(s.runs.c.id).where(s.runs.c.id.like(ref + "%")).limit(2)
    ids = store.read(lambda conn: list(conn.execute(q).scalars()))
    if not ids:
        raise NotFoundError(f"no run with id {ref!r} in {mask_url(store.url)}")
    if len(ids) > 1:
        raise NotFoundError(
            f"run id prefix {ref!r} is ambiguous: it matches {ids[0]}, {ids[1]}, ..."
        )
    return str(ids[0])


def run_summaries(store: Store, run_ids: Sequence[str]) -> list[dict[str, Any]]:
    """Runs as dicts with params, latest metrics and tags, in the order of ``run_ids``."""
    if not run_ids:
        return []
    r, e, lm = s.runs, s.experiments, s.latest_metrics

    def fn(conn: Connection) -> list[dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for chunk in chunks(run_ids):
            q = (
                select(r, e.c.name.label("experiment"))
                .join(e, e.c.id == r.c.experiment_id)
                .where(r.c.id.in_(chunk))
            )
            for row in conn.execute(q).mappings():
                out[row["id"]] = {**row, "params": {}, "metrics": {}, "tags": {}}
            for table, field in ((s.params, "params"), (s.tags, "tags")):
                for rid, k, v in conn.execute(
                    select(table.c.run_id, table.c.key, table.c.value).where(
                        table.c.run_id.in_(chunk)
                    )
                ):
                    out[rid][field][k] = v
            for rid, k, v in conn.execute(
                select(lm.c.run_id, lm.c.key, lm.c.value).where(lm.c.run_id.in_(chunk))
            ):
                out[rid]["metrics"][k] = _none_to_nan(v)
        return [out[i] for i in run_ids if i in out]

    return store.read(fn)


def list_run_ids(
    store: Store, experiment: str | None = None, include_deleted: bool = False
) -> list[str]:
    """Run ids, newest first."""
    r, e = s.runs, s.experiments
    q = select(r.c.id).join(e, e.c.id == r.c.experiment_id)
    if experiment is not None:
        q = q.where(e.c.name == experiment)
    if not include_deleted:
        q = q.where(r.c.deleted_at.is_(None))
    q = q.order_by(r.c.start_time.desc(), r.c.id)
    return store.read(lambda conn: list(conn.execute(q).scalars()))


def runs_by_tag(store: Store, key: str) -> dict[str, str]:
    """Tag value -> run id of the runs carrying tag ``key`` (e.g. the MLflow run they came from)."""
    t = s.tags
    q = select(t.c.value, t.c.run_id).where(t.c.key == key)
    return {str(v): str(rid) for v, rid in store.read(lambda conn: conn.execute(q).all())}


def run_cells(store: Store, run: dict[str, Any]) -> list[dict[str, Any]]:
    """The executed-cell sequence that built a run's state, with the state after each cell."""
    if not run.get("session_id"):
        return []
    c, st, src = s.cells, s.cell_state, s.sources
    end = run.get("end_seq")
    cond = c.c.session_id == run["session_id"]
    scond = st.c.session_id == run["session_id"]
    if end is not None:
        cond, scond = and_(cond, c.c.seq <= end), and_(scond, st.c.seq <= end)

    def fn(conn: Connection) -> list[dict[str, Any]]:
        q = (
            select(c, src.c.text.label("source"))
            .join(src, src.c.hash == c.c.source_hash)
            .where(cond)
            .order_by(c.c.seq)
        )
        rows = conn.execute(q).mappings().all()
        diffs: dict[int, list[tuple[str, str | None]]] = {}
        for seq, name, h in conn.execute(select(st.c.seq, st.c.name, st.c.hash).where(scond)):
            diffs.setdefault(seq, []).append((name, h))
        return [dict(row) | {"diff": diffs.get(row["seq"], [])} for row in rows]

    state: dict[str, str] = {}
    out = []
    start = run.get("start_seq")
    for i, row in enumerate(store.read(fn)):
        for name, h in row["diff"]:
            if h is None:
                state.pop(name, None)
            else:
                state[name] = h
        error = None
        if row["status"] == "error":
            error = {"type": row["error_type"], "message": row["error_message"]}
        out.append(
            {
                "index": i,
                "seq": row["seq"],
                "execution_count": row["execution_count"],
                "cell_id": row["cell_id"],
                "source": row["source"],
                "status": row["status"],
                "error": error,
                "in_run": start is not None and row["seq"] >= start,
                "start_time": row["start_time"],
                "end_time": row["end_time"],
                "created": json.loads(row["created"] or "[]"),
                "changed": json.loads(row["changed"] or "[]"),
                "deleted": json.loads(row["deleted"] or "[]"),
                "touched": json.loads(row["touched"]) if row["touched"] is not None else None,
                "state": dict(sorted(state.items())),
            }
        )
    return out


def metric_history(store: Store, run_id: str, key: str) -> list[dict[str, Any]]:
    m = s.metrics
    q = select(m.c.step, m.c.value, m.c.timestamp, m.c.cell_seq).where(
        m.c.run_id == run_id, m.c.key == key
    )
    rows = store.read(lambda conn: conn.execute(q.order_by(m.c.step, m.c.timestamp)).all())
    return [
        {"step": st, "value": _none_to_nan(v), "timestamp": ts, "cell_seq": seq}
        for st, v, ts, seq in rows
    ]


def metric_summary(store: Store, run_id: str) -> dict[str, dict[str, Any]]:
    """Latest, min, max, step and count of each metric of a run."""
    lm = s.latest_metrics
    q = select(lm).where(lm.c.run_id == run_id).order_by(lm.c.key)
    rows = store.read(lambda conn: conn.execute(q).mappings().all())
    return {
        r["key"]: {
            "latest": _none_to_nan(r["value"]),
            "min": _none_to_nan(r["min_value"]),
            "max": _none_to_nan(r["max_value"]),
            "step": r["step"],
            "count": r["count"],
        }
        for r in rows
    }


def artifacts_of(store: Store, run_id: str) -> list[dict[str, Any]]:
    a = s.artifacts
    q = select(a).where(a.c.run_id == run_id).order_by(a.c.path)
    return store.read(lambda conn: [dict(r) for r in conn.execute(q).mappings()])


def file_events_of(store: Store, run: dict[str, Any]) -> list[dict[str, Any]]:
    """The files a run's cells read or wrote, and the inputs it declared."""
    f = s.file_events
    cond = f.c.run_id == run["id"]
    if run.get("session_id"):
        scond = f.c.session_id == run["session_id"]
        if run.get("end_seq") is not None:
            scond = and_(scond, f.c.seq <= run["end_seq"])
        cond = cond | and_(scond, f.c.seq.is_not(None))
    # one order whatever plan the statistics choose: by cell, then path and mode
    q = select(f).where(cond).order_by(f.c.seq.is_(None), f.c.seq, f.c.path, f.c.mode, f.c.hash)
    return store.read(lambda conn: [dict(r) for r in conn.execute(q).mappings()])


def session(store: Store, session_id: str) -> dict[str, Any] | None:
    q = select(s.sessions).where(s.sessions.c.id == session_id)
    row = store.read(lambda conn: conn.execute(q).mappings().first())
    return dict(row) if row else None
