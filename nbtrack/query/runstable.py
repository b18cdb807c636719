"""The reads behind JupyterLab's Runs view: a page of runs at any offset (parents only, their
children folded under them), the best value of metric columns, and the shown columns as CSV.

Runs are read by the one read model (:func:`~nbtrack.query.runs.run_summaries`); the search is
the filter language's plan (:func:`~nbtrack.query.plan.plan_search`).

Which value of a metric is best: the smallest for keys ending in ``loss``, ``error``, ``mse``,
``mae`` or ``rmse`` (``val_loss``, ``test/rmse``), the largest for every other key
(:func:`lower_is_better`, the one place this rule lives).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from nbtrack.errors import ValidationError
from nbtrack.query.jsonsafe import iso, json_number
from nbtrack.query.runs import run_summaries

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection
    from sqlalchemy.sql.expression import ColumnElement

    from nbtrack.query.plan import Plan
    from nbtrack.store import Store

LOWER_IS_BETTER = ("loss", "error", "mse", "mae", "rmse")
MAX_PAGE = 1000
CSV_CHUNK = 500
# the Runs view's fixed columns: CSV header and how each is read from a run summary
KEY_GROUPS = ("params", "metrics", "tags")
BASE_COLUMNS = ("name", "status", "start", "duration", "user", "experiment", "run_id")


def lower_is_better(key: str) -> bool:
    """Whether the smallest value of metric ``key`` is its best (losses and errors)."""
    return key.lower().endswith(LOWER_IS_BETTER)


def _conditions(
    experiment: str | None, deleted: bool, parent: str | None
) -> list[ColumnElement[bool]]:
    from sqlalchemy import select

    from nbtrack.store import schema as s

    r, e = s.runs, s.experiments
    where: list[ColumnElement[bool]] = []
    if experiment:
        where.append(r.c.experiment_id.in_(select(e.c.id).where(e.c.name == experiment)))
    if deleted:
        where.append(r.c.deleted_at.is_not(None))
    else:
        where += [
            r.c.deleted_at.is_(None),
            r.c.experiment_id.not_in(select(e.c.id).where(e.c.deleted_at.is_not(None))),
        ]
    if parent is not None:
        where.append(r.c.parent_run_id == parent)
    return where


def top_level(
    conn: Connection, filter_string: str | None, experiment: str | None
) -> ColumnElement[bool]:
    """Runs with no parent among the live runs the filter finds in ``experiment``: a child is
    folded under its parent only when the parent is itself listed (a run whose parent is in
    another experiment, as ``nbtrack run``'s notebook run is, is listed at the top level)."""
    from sqlalchemy import exists, or_

    from nbtrack.query.plan import plan_search
    from nbtrack.store import schema as s

    r = s.runs.c
    if not filter_string:  # the parent's row looked up by its primary key
        p = s.runs.alias("parent")
        listed = [p.c.id == r.parent_run_id, p.c.deleted_at.is_(None)]
        if experiment:  # the outer search keeps to the experiment: so must the parent
            listed.append(p.c.experiment_id == r.experiment_id)
        return or_(r.parent_run_id.is_(None), ~exists().where(*listed))
    search = plan_search(filter_string, None, _conditions(experiment, False, None))
    inner = search.queries(conn, None)[0].order_by(None).correlate(None)
    return or_(r.parent_run_id.is_(None), r.parent_run_id.not_in(inner))


def _plan(
    conn: Connection,
    filter_string: str,
    experiment: str | None,
    order_by: Sequence[str] | None,
    deleted: bool,
    parent: str | None,
) -> Plan:
    from nbtrack.query.plan import plan_search

    text = filter_string.strip() or None
    where = _conditions(experiment, deleted, parent)
    if parent is None and not deleted:
        where.append(top_level(conn, text, experiment))
    return plan_search(text, list(order_by or []) or None, where)


def table_page(
    store: Store,
    *,
    filter_string: str = "",
    experiment: str | None = None,
    order_by: Sequence[str] | None = None,
    offset: int = 0,
    limit: int = 100,
    parent: str | None = None,
    deleted: bool = False,
    count: bool = True,
) -> dict[str, Any]:
    """Rows ``offset`` to ``offset + limit`` of the Runs view: ``{"total", "offset", "runs"}``,
    each run a :func:`~nbtrack.query.runs.run_summary` with ``children`` (how many live runs
    name it their parent). Without ``parent``, the runs whose parent is not listed (top level);
    with it, that run's children (the filter applies to both). ``deleted`` lists the deleted
    runs instead, flat. ``count=False`` leaves ``total`` out (``None``): the client knows it
    from the first page, and it does not depend on the order. Raises QueryError for a bad
    filter or order."""
    if not 0 <= offset or not 1 <= limit <= MAX_PAGE:
        raise ValidationError(
            f"offset must be >= 0 and limit 1 to {MAX_PAGE}, got {offset}, {limit}"
        )

    def fn(conn: Connection) -> tuple[int | None, list[str], dict[str, int]]:
        plan = _plan(conn, filter_string, experiment, order_by, deleted, parent)
        ids = plan.ids(conn, offset, limit)
        total = None
        if count:  # counted in the default order, which reads no metric or param joins
            unordered = _plan(conn, filter_string, experiment, None, deleted, parent)
            total = unordered.count(conn) if ids or offset else 0
        return total, ids, _child_counts(conn, ids, experiment)

    total, ids, children = store.read(fn)
    runs = run_summaries(store, ids)
    for run in runs:
        run["children"] = children.get(run["id"], 0)
    return {"total": total, "offset": offset, "runs": runs}


def _child_counts(conn: Connection, ids: list[str], experiment: str | None) -> dict[str, int]:
    """How many live children each run has (in ``experiment``, where the view lists them)."""
    if not ids:
        return {}
    from sqlalchemy import func, select

    from nbtrack.store import schema as s

    r = s.runs.c
    q = (
        select(r.parent_run_id, func.count())
        .where(r.parent_run_id.in_(ids), *_conditions(experiment, False, None))
        .group_by(r.parent_run_id)
    )
    return {str(p): int(n) for p, n in conn.execute(q).all()}


def best_values(
    store: Store,
    keys: Sequence[str],
    *,
    filter_string: str = "",
    experiment: str | None = None,
    deleted: bool = False,
) -> dict[str, dict[str, Any]]:
    """The best latest value of each metric of ``keys`` among every run the filter finds
    (children too): ``{key: {"value", "lower_is_better"}}``, keys no run has left out. Each is
    the first run of the search ordered by that metric, read from the metric's index."""
    from sqlalchemy import select

    from nbtrack.query.nodes import quote_key
    from nbtrack.query.plan import plan_search
    from nbtrack.store import schema as s

    lm = s.latest_metrics.c
    text = filter_string.strip() or None
    where = _conditions(experiment, deleted, None)

    def fn(conn: Connection) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for key in dict.fromkeys(keys):
            low = lower_is_better(key)
            order = f"metrics.{quote_key(key)} {'ASC' if low else 'DESC'}"
            # the head of a metric order holds the runs with a number for it, best first
            head = plan_search(text, [order], where).queries(conn, 1)[0].limit(1)
            first = conn.execute(head).scalar()
            if first is None:
                continue
            q = select(lm.value).where(lm.run_id == first, lm.key == key)
            value = conn.execute(q).scalar()
            if value is not None:
                out[key] = {"value": json_number(value), "lower_is_better": low}
        return out

    return store.read(fn)


def _cell(run: dict[str, Any], column: str) -> Any:
    if column == "name":
        return run["name"]
    if column == "status":
        return run["status"]
    if column == "start":
        return iso(run["start_time"])
    if column == "duration":
        return "" if run["duration"] is None else round(run["duration"], 3)
    if column == "user":
        return run["user"] or ""
    if column == "experiment":
        return run["experiment"]
    if column == "run_id":
        return run["id"]
    kind, _, key = column.partition(".")
    if kind not in KEY_GROUPS or not key:
        raise ValidationError(_unknown(column))
    value = run[kind].get(key)
    return "" if value is None else value


def _unknown(column: str) -> str:
    return (
        f"unknown column {column!r}: use one of {', '.join(BASE_COLUMNS)} "
        "or params.KEY, metrics.KEY, tags.KEY"
    )


def runs_csv(
    store: Store,
    columns: Sequence[str],
    *,
    run_ids: Sequence[str] | None = None,
    filter_string: str = "",
    experiment: str | None = None,
    order_by: Sequence[str] | None = None,
    deleted: bool = False,
) -> str:
    """The runs ``run_ids`` (in that order), else every run the filter finds (children too, in
    ``order_by`` order), as CSV with one column per entry of ``columns`` (``name``, ``status``,
    ``start`` (ISO 8601), ``duration`` (seconds), ``user``, ``experiment``, ``run_id``,
    ``params.KEY``, ``metrics.KEY``, ``tags.KEY``)."""
    from nbtrack.query.plan import plan_search

    if not columns:
        raise ValidationError("name at least one column for the CSV")
    for column in columns:  # a bad column is an error before any run is read
        kind, dot, key = column.partition(".")
        if column not in BASE_COLUMNS and not (dot and key and kind in KEY_GROUPS):
            raise ValidationError(_unknown(column))
    if run_ids is None:
        plan = plan_search(
            filter_string.strip() or None,
            list(order_by or []) or None,
            _conditions(experiment, deleted, None),
        )
        ids = store.read(lambda conn: plan.ids(conn))
    else:
        ids = list(run_ids)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for i in range(0, len(ids), CSV_CHUNK):
        for run in run_summaries(store, ids[i : i + CSV_CHUNK]):
            writer.writerow([_cell(run, c) for c in columns])
    return out.getvalue()


def key_names(store: Store, experiment: str | None = None) -> dict[str, list[str]]:
    """The sorted ``params``, ``metrics`` and ``tags`` keys of ``experiment``'s live runs (or
    of all runs), and the names of the live ``experiments`` (without counting runs): each key's ``(key, value, run_id)`` index entries are read only until one of
    a run of the experiment (100,000 runs: milliseconds, where a join of all is half a second)."""
    from sqlalchemy import exists, select

    from nbtrack.store import schema as s

    r, e = s.runs, s.experiments

    def keys(conn: Connection, table: Any) -> list[str]:
        q = select(table.c.key).distinct().order_by(table.c.key)  # SQLite skips along the index
        names = [str(x) for x in conn.execute(q).scalars()]
        if experiment is None:
            return names
        t = table.alias("t")
        eid = select(e.c.id).where(e.c.name == experiment).scalar_subquery()

        def used(key: str) -> bool:  # the key's index entries read until one is of a run there
            q = select(
                exists()
                .select_from(t.join(r, r.c.id == t.c.run_id))
                .where(t.c.key == key, r.c.experiment_id == eid, r.c.deleted_at.is_(None))
            )
            return bool(conn.execute(q).scalar())

        return [n for n in names if used(n)]

    def fn(conn: Connection) -> dict[str, list[str]]:
        live = select(e.c.name).where(e.c.deleted_at.is_(None)).order_by(e.c.name)
        return {
            "params": keys(conn, s.params),
            "metrics": keys(conn, s.latest_metrics),
            "tags": keys(conn, s.tags),
            "experiments": [str(x) for x in conn.execute(live).scalars()],
        }

    return store.read(fn)
