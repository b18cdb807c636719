"""``runs.summary``: an ended run's params, latest metrics and tags as one JSON document.

Reading 100,000 runs into a DataFrame then parses one document per run instead of fetching
a row per (run, key). The summary is written when a run ends (``Store.update_run``) and by
imports and migrations (:func:`fill_summaries`); triggers on the three tables clear it
whenever one of their rows changes (``schema.summary_triggers``), and a reader computes it
with the same expression for runs that have none.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, select, update
from sqlalchemy.engine import Connection

from . import schema as s


def summary_json(sqlite: bool) -> Any:
    """The SQL expression of ``runs.summary`` for the row of ``runs`` it is evaluated on:
    JSON ``{"p": {param: value}, "m": {metric: latest value}, "t": {tag: value}}``."""
    from sqlalchemy import Text, cast, func

    parts = []
    for name, table in (("p", s.params), ("m", s.latest_metrics), ("t", s.tags)):
        value: Any = table.c.value
        if table is s.latest_metrics and sqlite:  # text: JSON numbers get 15 digits there, and Inf
            value = case((value.is_(None), None), else_=func.printf("%!.17g", value))
        agg = (func.json_group_object if sqlite else func.json_object_agg)(table.c.key, value)
        sub = select(agg).where(table.c.run_id == s.runs.c.id).scalar_subquery()
        parts += [name, func.json(sub) if sqlite else sub]  # json(): an object, not a string
    return func.json_object(*parts) if sqlite else cast(func.json_build_object(*parts), Text)


def fill_summaries(conn: Connection) -> int:
    """Compute the summary of every ended run that has none (after imports and migrations)."""
    r = s.runs.c
    stmt = update(s.runs).where(r.summary.is_(None), r.status != "running")
    return conn.execute(stmt.values(summary=summary_json(conn.dialect.name == "sqlite"))).rowcount
