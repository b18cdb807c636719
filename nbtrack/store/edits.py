"""Edits of recorded runs: tags, the experiment a run is in, soft delete / restore, and the
selection of runs a bulk delete or restore acts on. Checking what users ask for is
:mod:`nbtrack.lifecycle.edits`; here are the rows."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection

from nbtrack.errors import NotFoundError
from nbtrack.store import schema as s
from nbtrack.store.dialect import chunks
from nbtrack.store.experiments import experiment_row

if TYPE_CHECKING:
    from nbtrack.store.sql import Store


def set_tags(store: Store, run_id: str, tags: Mapping[str, str]) -> None:
    """Add or replace tags of a run."""
    t = s.tags

    def fn(conn: Connection) -> None:
        conn.execute(delete(t).where(t.c.run_id == run_id, t.c.key.in_(list(tags))))
        conn.execute(insert(t), [{"run_id": run_id, "key": k, "value": v} for k, v in tags.items()])

    store.write(fn)


def delete_tag(store: Store, run_id: str, key: str) -> None:
    """Remove one tag of a run; NotFoundError if it has none by that key."""
    t = s.tags

    def fn(conn: Connection) -> None:
        if conn.execute(delete(t).where(t.c.run_id == run_id, t.c.key == key)).rowcount == 0:
            raise NotFoundError(f"run {run_id} has no tag {key!r}")

    store.write(fn)


def move_run(store: Store, run_id: str, experiment: str) -> None:
    """Move a run to another existing, live experiment."""

    def fn(conn: Connection) -> None:
        row = experiment_row(conn, experiment)
        conn.execute(update(s.runs).where(s.runs.c.id == run_id).values(experiment_id=row["id"]))

    store.write(fn)


def set_deleted(store: Store, run_ids: Sequence[str], deleted: bool) -> None:
    """Soft-delete runs (a run deleted twice keeps its first time: gc --older-than counts
    from it) or restore them."""
    r = s.runs

    def fn(conn: Connection) -> None:
        now = time.time()
        for chunk in chunks(run_ids):
            if deleted:
                stmt = (
                    update(r)
                    .where(r.c.id.in_(chunk), r.c.deleted_at.is_(None))
                    .values(deleted_at=now)
                )
            else:
                stmt = update(r).where(r.c.id.in_(chunk)).values(deleted_at=None)
            conn.execute(stmt)

    if run_ids:
        store.write(fn)


def nested_under(store: Store, run_ids: Sequence[str], *, deleted: bool) -> list[str]:
    """Ids of the runs nested at any depth under ``run_ids`` (not those themselves), parents
    before their children, that a delete (``deleted`` False: the live ones) or a restore
    (``deleted`` True) of ``run_ids`` takes along. A restore takes only the runs deleted at or
    after their top run was: with it, not the ones deleted on their own before."""
    r = s.runs

    def fn(conn: Connection) -> list[str]:
        bound: dict[str, float | None] = {rid: None for rid in run_ids}
        if deleted:
            for chunk in chunks(list(run_ids)):
                rows = conn.execute(select(r.c.id, r.c.deleted_at).where(r.c.id.in_(chunk)))
                bound.update({rid: at for rid, at in rows})
        seen, found, frontier = set(run_ids), [], dict(bound)
        while frontier:
            below: dict[str, float | None] = {}
            for chunk in chunks(list(frontier)):
                q = select(r.c.id, r.c.parent_run_id, r.c.deleted_at).where(
                    r.c.parent_run_id.in_(chunk)
                )
                for rid, parent, at in conn.execute(q.order_by(r.c.start_time, r.c.id)):
                    if rid in seen:  # a cycle of hand-edited parent ids ends here
                        continue
                    top = frontier[parent]
                    if deleted and (at is None or top is None or at < top):
                        continue  # live, or deleted on its own before: its subtree stays
                    seen.add(rid)
                    below[rid] = top
                    if at is None or deleted:
                        found.append(rid)
            frontier = below
        return found

    return store.read(fn) if run_ids else []


def select_runs(
    store: Store,
    where: Any,
    *,
    deleted: bool,
    experiment: str | None = None,
    since: float | None = None,
    until: float | None = None,
    limit: int | None = None,
) -> list[str]:
    """Ids of the runs matching ``where`` (a compiled filter, see
    :func:`nbtrack.query.compile_filter`) in experiment ``experiment`` (live or deleted).

    ``deleted`` False: live runs started at or before ``until``, the oldest first; True:
    deleted runs deleted at or after ``since``, the most recently deleted first."""
    r = s.runs
    q = select(r.c.id).where(where)
    if deleted:
        q = q.where(r.c.deleted_at.is_not(None))
        if since is not None:
            q = q.where(r.c.deleted_at >= since)
        q = q.order_by(
            r.c.deleted_at.desc(), r.c.start_time.desc(), r.c.id
        )  # deleted together: newest first
    else:
        q = q.where(r.c.deleted_at.is_(None))
        if until is not None:
            q = q.where(r.c.start_time <= until)
        q = q.order_by(r.c.start_time, r.c.id)
    if limit is not None:
        q = q.limit(limit)

    def fn(conn: Connection) -> list[str]:
        query = q
        if experiment is not None:
            query = query.where(
                r.c.experiment_id == experiment_row(conn, experiment, deleted=None)["id"]
            )
        return list(conn.execute(query).scalars())

    return store.read(fn)
