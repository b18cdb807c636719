"""Kernel side of the runs table: its columns, the query of a result, and pages of rows.

The ids of the whole result are computed once per query (a cheap one-column read), rows are
read a page at a time when the front end asks, so a table over 100,000 runs opens at once.
The reads are :mod:`nbtrack.query.table` and the read model :mod:`nbtrack.query.runs`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nbtrack.errors import ValidationError
from nbtrack.query.jsonsafe import json_number
from nbtrack.query.runs import run_summaries
from nbtrack.query.table import column_keys, metric_ranges

if TYPE_CHECKING:
    from nbtrack.store import Store

CORE_COLUMNS: list[tuple[str, str, str]] = [
    ("name", "Name", "text"),
    ("status", "Status", "text"),
    ("experiment", "Experiment", "text"),
    ("start_time", "Start", "time"),
    ("duration", "Duration", "duration"),
    ("id", "Run id", "id"),
    ("user", "User", "text"),
]
DEFAULT_CORE = ["name", "status", "experiment", "id", "start_time", "duration"]
SYSTEM_PREFIX = "system/"  # metrics the recorder samples (CPU, memory): hidden by default
_MAX_DEFAULT_KEYS = 6
_OPERATORS = ("<=", ">=", "!=", "=", "<", ">")


@dataclass(frozen=True)
class Column:
    """One table column: ``id`` is what the query language calls it (``params.lr``)."""

    id: str
    label: str
    kind: str  # text | number | time | duration | id (shown short) | param
    group: str  # run | params | metrics | tags

    def as_dict(self) -> dict[str, str]:
        return {"id": self.id, "label": self.label, "kind": self.kind, "group": self.group}


def discover_columns(store: Store, experiment: str | None = None) -> list[Column]:
    """Every column the runs of ``experiment`` (or all runs) can show."""
    cols = [Column(i, label, kind, "run") for i, label, kind in CORE_COLUMNS]
    keys = column_keys(store, experiment)
    cols += [Column(f"params.{k}", k, "param", "params") for k in keys["params"]]
    for k in keys["metrics"]:
        cols.append(Column(f"metrics.{k}", k, "number", "metrics"))
        cols.append(Column(f"metrics.{k}.min", f"{k} (min)", "number", "metrics"))
        cols.append(Column(f"metrics.{k}.max", f"{k} (max)", "number", "metrics"))
    cols += [Column(f"tags.{k}", k, "text", "tags") for k in keys["tags"]]
    return cols


def is_system(column: Column) -> bool:
    """A column of a ``system/...`` metric (the recorder's CPU and memory samples)."""
    return column.group == "metrics" and column.id.startswith(f"metrics.{SYSTEM_PREFIX}")


def default_visible(columns: Sequence[Column], system: bool = False) -> list[str]:
    """Name, status, experiment, short id, start, duration, then the first few params, latest
    metrics (``system/...`` ones only with ``system``) and tags."""
    out = list(DEFAULT_CORE)
    for group, limit in (
        ("params", _MAX_DEFAULT_KEYS),
        ("metrics", _MAX_DEFAULT_KEYS),
        ("tags", 3),
    ):
        chosen = [
            c.id
            for c in columns
            if c.group == group
            and not c.id.endswith((".min", ".max"))
            and (system or not is_system(c))
        ]
        out += chosen[:limit]
    if system:
        out += [c.id for c in columns if is_system(c) and not c.id.endswith((".min", ".max"))]
    return list(dict.fromkeys(out))


def with_system(visible: Sequence[str], columns: Sequence[Column], show: bool) -> list[str]:
    """``visible`` with the latest value of every ``system/...`` metric added, or every
    ``system/...`` column taken out."""
    system = [c.id for c in columns if is_system(c)]
    kept = [v for v in visible if v not in system]
    if not show:
        return kept
    return kept + [c for c in system if not c.endswith((".min", ".max"))]


def column_clause(column: Column, text: str) -> str:
    """A filter-language clause from what a user typed in a column's filter box.

    Numbers take an optional comparison (``> 0.5``, ``<=3``; bare ``0.5`` means ``=``);
    text columns match a substring (``LIKE '%text%'``).
    """
    text = text.strip()
    if column.group == "metrics" and column.id.endswith((".min", ".max")):
        raise ValidationError(
            f"column {column.label!r} cannot be filtered; filter its latest value instead"
        )
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
            raise ValidationError(
                f"filter of column {column.label!r} needs a number, got {value!r}"
            )
        return f"{name} {op or '='} {value}"
    quoted = value.replace("'", "''")
    if op:
        return f"{name} {op} '{quoted}'"
    return f"{name} LIKE '%{quoted}%'"


def _attribute_name(col_id: str) -> str:
    return {"name": "attributes.run_name", "id": "attributes.run_id"}.get(
        col_id, f"attributes.{col_id}"
    )


def compose_filter(filter_string: str | None, clauses: Sequence[str]) -> str:
    parts = [p for p in [(filter_string or "").strip(), *clauses] if p]
    return " AND ".join(
        parts if len(parts) < 2 else [f"({p})" if " OR " in p.upper() else p for p in parts]
    )


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


def page_rows(store: Store, ids: Sequence[str], columns: Sequence[Column]) -> list[dict[str, Any]]:
    """``{"id", "cells"}`` for each run of ``ids``, cells in the order of ``columns``.

    Values are JSON-safe: NaN and infinities become ``"NaN"``, ``"Infinity"``, ``"-Infinity"``.
    """
    need_range = any(c.id.endswith((".min", ".max")) and c.group == "metrics" for c in columns)
    ranges = metric_ranges(store, ids) if need_range else {}
    now = time.time()
    return [
        {"id": run["id"], "cells": [_cell(run, c, ranges, now) for c in columns]}
        for run in run_summaries(store, list(ids))
    ]


def _cell(run: dict[str, Any], col: Column, ranges: dict[Any, Any], now: float) -> Any:
    """One cell of a :func:`~nbtrack.query.runs.run_summary`; a running run's duration grows."""
    if col.group == "run":
        if col.id == "duration" and run["duration"] is None and run["status"] == "running":
            return now - run["start_time"]
        return run.get(col.id)
    key = col.id.split(".", 1)[1]
    if col.group == "metrics":
        for suffix, i in ((".min", 0), (".max", 1)):
            if key.endswith(suffix):
                pair = ranges.get((run["id"], key[: -len(suffix)]))
                return json_number(pair[i]) if pair else None
    return run[col.group].get(key)
