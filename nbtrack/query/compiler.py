"""A parsed filter compiled to one boolean SQLAlchemy clause over the ``runs`` table.

Every user value becomes a bound parameter. A predicate on a metric, param or tag is a
semi-join ``runs.id IN (SELECT run_id FROM <table> WHERE key = :k AND <test>)``, which the
engine answers from the ``(key, value)`` index once per query rather than once per run;
"has no such key" (IS NULL) is a correlated NOT EXISTS on the ``(run_id, key)`` primary key.
Metric predicates read ``latest_metrics`` (value / min_value / max_value), never ``metrics``.
(A search's top-level conditions on keys are joined instead: see :mod:`.plan`.)

Predicates on cells hold when *any* cell of the run's executed sequence (its session's cells
up to ``end_seq``) matches; the negative operators (``!=``, NOT LIKE, NOT IN, IS NULL) hold
when *no* cell matches, which is what ``cells.error_type != 'ValueError'`` is meant to say.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import String, and_, exists, false, func, literal, not_, or_, select, true
from sqlalchemy.sql.expression import ColumnElement

from nbtrack.query.nodes import BoolOp, Compare, Millis, Node, Not
from nbtrack.query.sqlfuncs import as_number, like, millis
from nbtrack.store import schema as s

ARTIFACT_URI_PREFIX = "runs:/"
_NEGATIVE = {
    "!=": "=",
    "NOT LIKE": "LIKE",
    "NOT ILIKE": "ILIKE",
    "NOT IN": "IN",
    "IS NULL": "IS NOT NULL",
}


def compile_node(node: Node | None) -> ColumnElement[bool]:
    if node is None:
        return true()
    if isinstance(node, BoolOp):
        parts = [compile_node(n) for n in node.items]
        return and_(*parts) if node.op == "AND" else or_(*parts)
    if isinstance(node, Not):
        return not_(compile_node(node.item))
    kind = node.ident.kind
    if kind in ("metric", "param", "tag"):
        return _key_value(node, key_table(kind))
    if kind == "attr":
        return _attribute(node)
    if kind == "dataset":
        return _datasets(node)
    return _cells(node)


def test(col: Any, op: str, values: tuple[Any, ...]) -> ColumnElement[bool]:
    """``col op values`` for a comparison, [NOT] LIKE/ILIKE, [NOT] IN or CONTAINS (a name
    search: the text anywhere in the value, ignoring case, ``%`` and ``_`` taken literally)."""
    if op == "CONTAINS":
        return cast("ColumnElement[bool]", col.icontains(values[0], autoescape=True))
    if op in ("IN", "NOT IN"):
        return cast(
            "ColumnElement[Any]", col.in_(list(values)) if op == "IN" else col.not_in(list(values))
        )
    if op.endswith("LIKE"):
        cond = like(col, values[0], case_sensitive=not op.endswith("ILIKE"))
        return not_(cond) if op.startswith("NOT") else cond
    v = values[0]
    tests: dict[str, Any] = {
        "=": lambda: col == v,
        "!=": lambda: col != v,
        ">": lambda: col > v,
        ">=": lambda: col >= v,
        "<": lambda: col < v,
        "<=": lambda: col <= v,
    }
    return cast("ColumnElement[bool]", tests[op]())


def _key_value(node: Compare, table: Any) -> ColumnElement[bool]:
    if node.op in ("IS NULL", "IS NOT NULL"):
        return _has_key(table, node.ident.key, node.op == "IS NOT NULL")
    return s.runs.c.id.in_(
        select(table.c.run_id).where(table.c.key == node.ident.key, value_test(node, table))
    )


def key_table(kind: str) -> Any:
    """The table holding identifiers of ``kind`` (metric, param or tag) by ``(run_id, key)``."""
    return {"metric": s.latest_metrics, "param": s.params, "tag": s.tags}[kind]


def key_column(ident: Any, table: Any) -> ColumnElement[Any]:
    """The column of ``table`` (or an alias of it) a metric, param or tag identifier reads."""
    if ident.kind == "metric":
        return cast(
            "ColumnElement[Any]",
            {"latest": table.c.value, "min": table.c.min_value, "max": table.c.max_value}[
                ident.agg
            ],
        )
    return cast("ColumnElement[Any]", table.c.value)


def value_test(node: Compare, table: Any) -> ColumnElement[bool]:
    """The test of a metric, param or tag comparison on a row of ``table`` (or an alias of it)."""
    if node.op == "IS NOT NULL":
        return true()
    col = key_column(node.ident, table)
    if node.ident.kind == "metric" and node.op in ("!=", "NOT IN"):
        # a NaN metric (stored as NULL) differs from every number, as in MLflow
        return or_(test(col, node.op, node.values), col.is_(None))
    if node.ident.kind != "metric" and not isinstance(node.values[0], str):
        col = as_number(col)
    return test(col, node.op, node.values)


def _has_key(table: Any, key: str, present: bool) -> ColumnElement[bool]:
    if present:
        return s.runs.c.id.in_(select(table.c.run_id).where(table.c.key == key))
    return ~exists().where(table.c.run_id == s.runs.c.id, table.c.key == key)


def attribute_column(name: str) -> ColumnElement[Any]:
    """The SQL expression of attribute ``name`` for a row of ``runs``."""
    r = s.runs.c
    if name == "duration":
        return r.end_time - r.start_time
    if name == "experiment":
        e = s.experiments
        return select(e.c.name).where(e.c.id == r.experiment_id).scalar_subquery()
    if name == "artifact_uri":  # a run's artifacts live in the store: MLflow's runs:/ URI
        return literal(ARTIFACT_URI_PREFIX, String) + r.id
    column = {"run_id": "id", "run_name": "name"}.get(name, name)
    return r[column]


def _attribute(node: Compare) -> ColumnElement[bool]:
    name, op, values = node.ident.key, node.op, node.values
    if name == "experiment":  # a semi-join on experiments rather than a per-run lookup
        e = s.experiments
        if op in ("IS NULL", "IS NOT NULL"):
            return false() if op == "IS NULL" else true()
        return s.runs.c.experiment_id.in_(select(e.c.id).where(test(e.c.name, op, values)))
    col = attribute_column(name)
    if op in ("IS NULL", "IS NOT NULL"):
        return col.is_(None) if op == "IS NULL" else col.is_not(None)
    if name in ("start_time", "end_time") and any(isinstance(v, tuple) for v in values):
        seconds = tuple(v.value / 1000.0 if isinstance(v, Millis) else v for v in values)
        return _day_test(col, op, seconds)
    if name in ("start_time", "end_time") and any(isinstance(v, Millis) for v in values):
        return _millis_test(col, op, values)
    if name == "status" and op in ("LIKE", "NOT LIKE"):  # statuses are stored lower-case
        op = op.replace("LIKE", "ILIKE")
    return test(col, op, values)


def _millis_test(col: Any, op: str, values: tuple[Any, ...]) -> ColumnElement[bool]:
    """``col op values`` on the time in whole milliseconds (as MLflow keeps it), with a test in
    seconds 2 ms wider around it, which the engine can answer from the start-time index."""
    ms = [v.value if isinstance(v, Millis) else v * 1000.0 for v in values]
    exact = test(millis(col), op, tuple(ms))
    lo, hi = (min(ms) - 2) / 1000.0, (max(ms) + 2) / 1000.0
    near = {
        "=": col.between(lo, hi),
        "IN": col.between(lo, hi),
        ">": col > lo,
        ">=": col > lo,
        "<": col < hi,
        "<=": col < hi,
    }.get(op)
    return exact if near is None else and_(near, exact)


def _day_test(col: Any, op: str, values: tuple[Any, ...]) -> ColumnElement[bool]:
    """A bare date stands for its whole (UTC) day: ``= day`` is within it, ``> day`` after it."""

    def within(v: Any) -> ColumnElement[bool]:
        lo, hi = v if isinstance(v, tuple) else (v, v)
        return cast(
            "ColumnElement[Any]", (col >= lo) & (col < hi) if isinstance(v, tuple) else col == v
        )

    if op in ("IN", "NOT IN", "=", "!="):
        cond = or_(*(within(v) for v in values))
        return cond if op in ("IN", "=") else and_(col.is_not(None), not_(cond))
    lo, hi = values[0]
    return cast(
        "ColumnElement[Any]", {">": col >= hi, ">=": col >= lo, "<": col < lo, "<=": col < hi}[op]
    )


def _datasets(node: Compare) -> ColumnElement[bool]:
    """Any dataset of the run matches (MLflow's semantics, so ``!=`` and NOT IN too); a dataset
    without a context never matches a test on ``datasets.context``."""
    d = s.datasets
    return s.runs.c.id.in_(
        select(d.c.run_id).where(test(d.c[node.ident.key], node.op, node.values))
    )


def _cells(node: Compare) -> ColumnElement[bool]:
    op = node.op
    positive_op = _NEGATIVE.get(op, op)
    c, src = s.cells, s.sources
    field = node.ident.key
    cond: ColumnElement[bool]
    if op in ("IS NULL", "IS NOT NULL"):
        cond = c.c[field].is_not(None)
    elif field == "source":
        cond = c.c.source_hash.in_(
            select(src.c.hash).where(test(src.c.text, positive_op, node.values))
        )
    else:
        cond = test(c.c[field], positive_op, node.values)
    # sessions where the cell matches, with the first matching cell; a run sees cells up to end_seq
    first = (
        select(c.c.session_id, func.min(c.c.seq).label("first_seq"))
        .where(cond)
        .group_by(c.c.session_id)
        .subquery("matching_cells")
    )
    r = s.runs.alias("cell_runs")
    matching_runs = (
        select(r.c.id)
        .join(first, first.c.session_id == r.c.session_id)
        .where(or_(r.c.end_seq.is_(None), first.c.first_seq <= r.c.end_seq))
    )
    inside = s.runs.c.id.in_(matching_runs)
    return not_(inside) if op in _NEGATIVE else inside
