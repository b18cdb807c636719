"""``runs.summary``: an ended run's params, latest metrics and tags as one JSON document.

Reading 100,000 runs into a DataFrame then parses one document per run instead of fetching
a row per (run, key). The summary is written when a run ends (:func:`write_summary`) and by
imports and migrations (:func:`fill_summaries`); triggers on the three tables clear it
whenever one of their rows changes (``schema.summary_triggers``), and a reader computes it
with the same expression for runs that have none.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from sqlalchemy import case, select, update
from sqlalchemy.engine import Connection, Dialect

from nbtrack.store import schema as s


@functools.cache  # built once: an expression this size costs milliseconds to construct
def summary_json(sqlite: bool) -> Any:
    """The SQL expression of ``runs.summary`` for the row of ``runs`` it is evaluated on:
    JSON ``{"p": {param: value}, "m": {metric: latest value}, "t": {tag: value}}``."""
    from sqlalchemy import Text, cast, func, literal

    def object_of(table: Any) -> Any:
        agg = (func.json_group_object if sqlite else func.json_object_agg)(
            table.c.key, table.c.value
        )
        return select(agg).where(table.c.run_id == s.runs.c.id).scalar_subquery()

    if not sqlite:
        parts = ["p", object_of(s.params), "m", object_of(s.latest_metrics), "t", object_of(s.tags)]
        return cast(func.json_build_object(*parts), Text)
    # SQLite's JSON functions write numbers with 15 digits (and infinity as Inf): the metrics
    # object is written out with 17, and the document joined as text so nothing re-reads it.
    lm = s.latest_metrics.c
    number = case(
        (lm.value.is_(None), "null"),
        (func.abs(lm.value) > 1.7976931348623157e308, func.json_quote(cast(lm.value, Text))),
        else_=func.printf("%!.17g", lm.value),
    )
    pairs = func.group_concat(func.json_quote(lm.key) + literal(":") + number, ",")
    metrics = (
        select(literal("{") + pairs + literal("}"))
        .where(lm.run_id == s.runs.c.id)
        .scalar_subquery()
    )
    return (
        literal('{"p":')
        + object_of(s.params)
        + literal(',"m":')
        + func.coalesce(metrics, "{}")
        + literal(',"t":')
        + object_of(s.tags)
        + literal("}")
    )


def fill_summaries(conn: Connection) -> int:
    """Compute the summary of every ended run that has none (after imports and migrations)."""
    r = s.runs.c
    stmt = update(s.runs).where(r.summary.is_(None), r.status != "running")
    return conn.execute(stmt.values(summary=summary_json(conn.dialect.name == "sqlite"))).rowcount


def write_summary(conn: Connection, run_id: str) -> None:
    """Set one ended run's summary, through the driver: SQLAlchemy would spend longer
    compiling and caching the statement than the engine spends running it."""
    sql, params = _summary_statement(conn.dialect)
    conn.exec_driver_sql(sql, params(run_id))


@functools.cache
def _summary_statement(dialect: Dialect) -> tuple[str, Callable[[str], Any]]:
    from sqlalchemy import bindparam

    stmt = (
        update(s.runs)
        .where(s.runs.c.id == bindparam("run_id"))
        .values(summary=summary_json(dialect.name == "sqlite"))
    )
    compiled = stmt.compile(dialect=dialect)
    fixed = compiled.construct_params({"run_id": ""})
    if compiled.positiontup is None:
        return str(compiled), lambda run_id: {**fixed, "run_id": run_id}
    names = compiled.positiontup
    return str(compiled), lambda run_id: tuple(run_id if n == "run_id" else fixed[n] for n in names)
