"""Kernel side of the runs table: its columns, the ordered ids of a result, and pages of rows.

The ids of the whole result are computed once per query (a cheap one-column read), rows are
read a page at a time when the front end asks, so a table over 100,000 runs opens at once.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nbtrack.errors import ValidationError

if TYPE_CHECKING:
    from nbtrack.query import Plan
    from nbtrack.store import Store

CORE_COLUMNS: list[tuple[str, str, str]] = [
    ("name", "Name", "text"),
    ("status", "Status", "text"),
    ("experiment", "Experiment", "text"),
    ("start_time", "Start", "time"),
    ("duration", "Duration", "duration"),
    ("id", "Run id", "text"),
    ("user", "User", "text"),
]
DEFAULT_CORE = ["name", "status", "start_time", "duration"]
_MAX_DEFAULT_KEYS = 6
_OPERATORS = ("<=", ">=", "!=", "=", "<", ">")


@dataclass(frozen=True)
class Column:
    """One table column: ``id`` is what the query language calls it (``params.lr``)."""

    id: str
    label: str
    kind: str  # text | number | time | duration
    group: str  # run | params | metrics | tags

    def as_dict(self) -> dict[str, str]:
        return {"id": self.id, "label": self.label, "kind": self.kind, "group": self.group}


def discover_columns(store: Store, experiment: str | None = None) -> list[Column]:
    """Every column the runs of ``experiment`` (or all runs) can show."""
    from sqlalchemy import select

    from nbtrack.store import schema as s

    cols = [Column(i, label, kind, "run") for i, label, kind in CORE_COLUMNS]
    r, e = s.runs, s.experiments

    def keys(table: Any) -> list[str]:
        q = select(table.c.key).distinct()
        if experiment is not None:
            q = q.where(
                table.c.run_id.in_(
                    select(r.c.id).join(e, e.c.id == r.c.experiment_id).where(e.c.name == experiment)
                )
            )
        return sorted(store.read(lambda conn: list(conn.execute(q).scalars())))

    for k in keys(s.params):
        cols.append(Column(f"params.{k}", k, "param", "params"))
    for k in keys(s.latest_metrics):
        cols.append(Column(f"metrics.{k}", k, "number", "metrics"))
        cols.append(Column(f"metrics.{k}.min", f"{k} (min)", "number", "metrics"))
        cols.append(Column(f"metrics.{k}.max", f"{k} (max)", "number", "metrics"))
    for k in keys(s.tags):
        cols.append(Column(f"tags.{k}", k, "text", "tags"))
    return cols


def default_visible(columns: Sequence[Column]) -> list[str]:
    """Name, status, start, duration, then the first few params, latest metrics and tags."""
    out = list(DEFAULT_CORE)
    for group, limit in (("params", _MAX_DEFAULT_KEYS), ("metrics", _MAX_DEFAULT_KEYS), ("tags", 3)):
        chosen = [c.id for c in columns if c.group == group and not c.id.endswith((".min", ".max"))]
        out += chosen[:limit]
    return out


def column_clause(column: Column, text: str) -> str:
    """A filter-language clause from what a user typed in a column's filter box.

    Numbers take an optional comparison (``> 0.5``, ``<=3``; bare ``0.5`` means ``=``);
    text columns match a substring (``LIKE '%text%'``).
    """
    text = text.strip()
    if column.group == "metrics" and column.id.endswith((".min", ".max")):
        raise ValidationError(f"column {column.label!r} cannot be filtered; filter its latest value instead")
    from nbtrack.query.fields import is_number
    from nbtrack.query.nodes import quote_key

    if column.group == "run":
        name = _attribute_name(column.id)
    else:
        group, key = column.id.split(".", 1)
        name = f"{group}.{quote_key(key)}"
    op = next((o for o in _OPERATORS if text.startswith(o)), None)
    value = text[len(op) :].strip() if op else text
    if column.kind in ("number", "time", "duration") or (op and is_number(value)):
        if not is_number(value):
            raise ValidationError(f"filter of column {column.label!r} needs a number, got {value!r}")
        return f"{name} {op or '='} {value}"
    quoted = value.replace("'", "''")
    if op:
        return f"{name} {op} '{quoted}'"
    return f"{name} LIKE '%{quoted}%'"


def _attribute_name(col_id: str) -> str:
    return {"name": "attributes.run_name", "id": "attributes.run_id"}.get(col_id, f"attributes.{col_id}")


def compose_filter(filter_string: str | None, clauses: Sequence[str]) -> str:
    parts = [p for p in [(filter_string or "").strip(), *clauses] if p]
    return " AND ".join(parts if len(parts) < 2 else [f"({p})" if " OR " in p.upper() else p for p in parts])


def order_item(column: Column, descending: bool) -> str:
    """The query layer's ``order_by`` item for a column (``MIN(metrics.loss) DESC``)."""
    from nbtrack.query.nodes import quote_key

    direction = " DESC" if descending else ""
    if column.group == "run":
        return f"{_attribute_name(column.id)}{direction}"
    group, key = column.id.split(".", 1)
    if group == "metrics":
        for suffix, agg in ((".min", "MIN"), (".max", "MAX")):
            if key.endswith(suffix):
                return f"{agg}(metrics.{quote_key(key[: -len(suffix)])}){direction}"
    return f"{group}.{quote_key(key)}{direction}"


def result_query(filter_string: str, experiment: str | None, order: str) -> Plan:
    """The search of the ids of the live runs matching the filter language, in ``order``.

    Raises :class:`~nbtrack.errors.QueryError` (a ValidationError) pointing at the bad token.
    """
    from sqlalchemy import select

    from nbtrack.query import plan_search
    from nbtrack.store import schema as s

    r, e = s.runs, s.experiments
    where = [r.c.deleted_at.is_(None)]
    if experiment is not None:
        where.append(r.c.experiment_id.in_(select(e.c.id).where(e.c.name == experiment)))
    return plan_search(filter_string.strip() or None, [order], where)


def count_of(store: Store, plan: Plan) -> int:
    """How many runs ``plan`` (from :func:`result_query`) finds."""
    return store.read(plan.count)


def ids_of(store: Store, plan: Plan, offset: int = 0, limit: int | None = None) -> list[str]:
    """A slice of the ids ``plan`` finds, in order."""
    return store.read(lambda conn: plan.ids(conn, offset, limit))


def page_rows(store: Store, ids: Sequence[str], columns: Sequence[Column]) -> list[dict[str, Any]]:
    """``{"id", "cells"}`` for each run of ``ids``, cells in the order of ``columns``.

    Values are JSON-safe: NaN and infinities become the strings ``"NaN"``, ``"inf"``, ``"-inf"``.
    """
    from sqlalchemy import select

    from nbtrack.store import schema as s

    runs = store.run_summaries(list(ids))
    need_range = any(c.id.endswith((".min", ".max")) and c.group == "metrics" for c in columns)
    ranges: dict[tuple[str, str], tuple[float | None, float | None]] = {}
    if need_range and ids:
        lm = s.latest_metrics
        q = select(lm.c.run_id, lm.c.key, lm.c.min_value, lm.c.max_value).where(lm.c.run_id.in_(list(ids)))
        for rid, k, lo, hi in store.read(lambda conn: conn.execute(q).all()):
            ranges[(rid, k)] = (lo, hi)
    now = time.time()
    out = []
    for run in runs:
        cells = [_cell(run, c, ranges, now) for c in columns]
        out.append({"id": run["id"], "cells": cells})
    return out


def _cell(run: dict[str, Any], col: Column, ranges: dict[Any, Any], now: float) -> Any:
    if col.group == "run":
        if col.id == "duration":
            end = run.get("end_time") or (now if run.get("status") == "running" else None)
            return None if end is None else end - run["start_time"]
        return run.get(col.id)
    key = col.id.split(".", 1)[1]
    if col.group == "metrics":
        for suffix, i in ((".min", 0), (".max", 1)):
            if key.endswith(suffix):
                pair = ranges.get((run["id"], key[: -len(suffix)]))
                return json_number(pair[i]) if pair else None
        v = run["metrics"].get(key)
        return None if v is None else json_number(v)
    return run[col.group].get(key)


def json_number(v: float | None) -> float | str | None:
    if v is None or math.isfinite(v):
        return v
    return "NaN" if v != v else ("inf" if v > 0 else "-inf")
