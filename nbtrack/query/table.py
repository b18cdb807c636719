"""The reads behind a table of runs: which keys its columns can show, the ordered result of a
query (counted and sliced without reading the runs), and the metric ranges of a page of runs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection
    from sqlalchemy.sql.expression import ColumnElement

    from nbtrack.query.plan import Plan
    from nbtrack.store import Store


def column_keys(store: Store, experiment: str | None = None) -> dict[str, list[str]]:
    """The sorted keys of ``params``, ``metrics`` and ``tags`` that the runs of ``experiment``
    (or all runs) have."""
    from sqlalchemy import select

    from nbtrack.store import schema as s

    r, e = s.runs, s.experiments

    def keys(table: Any) -> list[str]:
        q = select(table.c.key).distinct()
        if experiment is not None:
            q = q.where(
                table.c.run_id.in_(
                    select(r.c.id)
                    .join(e, e.c.id == r.c.experiment_id)
                    .where(e.c.name == experiment)
                )
            )
        return sorted(store.read(lambda conn: list(conn.execute(q).scalars())))

    return {"params": keys(s.params), "metrics": keys(s.latest_metrics), "tags": keys(s.tags)}


def live_runs_plan(
    filter_string: str, experiment: str | None, order: str, conn: Connection | None = None
) -> Plan:
    """The search of the ids of the live (not deleted) runs matching the filter language, in
    ``order``; with ``conn``, only the runs not folded under a listed parent (the Runs view's
    :func:`~nbtrack.query.runstable.top_level`). Raises :class:`~nbtrack.errors.QueryError`
    pointing at the bad token."""
    from sqlalchemy import select

    from nbtrack.query.plan import plan_search
    from nbtrack.query.runstable import top_level
    from nbtrack.store import schema as s

    text = filter_string.strip() or None
    r, e = s.runs, s.experiments
    where: list[ColumnElement[bool]] = [r.c.deleted_at.is_(None)]
    if experiment is not None:
        where.append(r.c.experiment_id.in_(select(e.c.id).where(e.c.name == experiment)))
    if conn is not None:
        where.append(top_level(conn, text, experiment))
    return plan_search(text, [order], where)


def top_runs_plan(store: Store, filter_string: str, experiment: str | None, order: str) -> Plan:
    """:func:`live_runs_plan` of the runs not folded under a listed parent."""
    return store.read(lambda conn: live_runs_plan(filter_string, experiment, order, conn))


def count_of(store: Store, plan: Plan) -> int:
    """How many runs ``plan`` finds."""
    return store.read(plan.count)


def ids_of(store: Store, plan: Plan, offset: int = 0, limit: int | None = None) -> list[str]:
    """A slice of the ids ``plan`` finds, in order."""
    return store.read(lambda conn: plan.ids(conn, offset, limit))


def metric_ranges(
    store: Store, run_ids: Sequence[str]
) -> dict[tuple[str, str], tuple[float | None, float | None]]:
    """``{(run id, key): (min, max)}`` of the finite values of every metric of the runs."""
    if not run_ids:
        return {}
    from sqlalchemy import select

    from nbtrack.store import schema as s

    lm = s.latest_metrics
    q = select(lm.c.run_id, lm.c.key, lm.c.min_value, lm.c.max_value).where(
        lm.c.run_id.in_(list(run_ids))
    )
    return {(rid, k): (lo, hi) for rid, k, lo, hi in store.read(lambda conn: conn.execute(q).all())}
