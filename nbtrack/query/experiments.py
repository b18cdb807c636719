"""Experiments as the views list them: each with its number of live runs and latest start."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nbtrack.store import Store


def experiment_counts(store: Store) -> list[dict[str, Any]]:
    """``{"name", "runs", "last_start"}`` of every live experiment, most recently used first."""
    from sqlalchemy import func, select

    from nbtrack.store import schema as s

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
